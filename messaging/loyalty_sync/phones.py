"""Phone numbers between us (E.164) and the vendors (ten US digits)."""

from dispensary.errors import InvalidPhoneNumber
from dispensary.phones import phone_normalize


def phone_to_vendor(e164: str) -> str:
    """+14155550134 -> 4155550134 (both vendors take US numbers as ten digits)."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def phone_from_vendor(raw) -> str:
    """The vendor's number as E.164, or "" when it is missing or not a valid number."""
    text = str(raw or "").strip()
    if not text:
        return ""
    try:
        return phone_normalize(text)
    except InvalidPhoneNumber:
        return ""
