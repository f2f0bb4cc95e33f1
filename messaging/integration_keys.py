"""Third parties' API keys at rest: encrypted with Fernet (AES and HMAC) under INTEGRATION_KEYS_SECRET, or a key
derived from SECRET_KEY without it. Pages show a key back only as its hint (its last four characters)."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class KeyUnreadable(Exception):
    """The stored key was encrypted under another secret (INTEGRATION_KEYS_SECRET or SECRET_KEY changed)."""


def _fernet() -> Fernet:
    secret = settings.INTEGRATION_KEYS_SECRET or f"integration-keys:{settings.SECRET_KEY}"
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def key_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def key_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as error:
        raise KeyUnreadable("The stored API key cannot be read: enter it again.") from error


def key_hint(plain: str) -> str:
    return f"…{plain[-4:]}" if len(plain) > 8 else "…"
