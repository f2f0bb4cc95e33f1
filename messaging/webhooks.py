"""Signatures of the SMS provider's webhooks (inbound replies and status callbacks): X-Twilio-Signature, an
HMAC-SHA1 of the public URL and the sorted form fields under the account's auth token, checked with the twilio
library's RequestValidator against the URL the provider was given (PUBLIC_SITE_URL plus the path), not the one
this server sees behind its proxy."""

from django.conf import settings
from twilio.request_validator import RequestValidator


def public_url(request) -> str:
    """The address the provider posted to: PUBLIC_SITE_URL's scheme and host with the request's path and query."""
    base = settings.PUBLIC_SITE_URL.rstrip("/")
    return f"{base}{request.get_full_path()}"


def sms_request_valid(request) -> bool:
    """Whether a POST carries the provider's valid signature. Without an auth token nothing is valid."""
    token = settings.SMS_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    params = {key: request.POST.get(key) for key in request.POST}
    return RequestValidator(token).validate(public_url(request), params, signature)


def sms_signature(url: str, params: dict, *, token: str | None = None) -> str:
    """The signature the provider would send (the local fake provider and tests sign with it)."""
    return RequestValidator(token or settings.SMS_AUTH_TOKEN).compute_signature(url, params)
