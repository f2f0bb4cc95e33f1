"""Phone numbers in E.164, the key customers are looked up by."""

import phonenumbers
from django.conf import settings

from dispensary.errors import InvalidPhoneNumber


def phone_normalize(raw: str, *, region: str | None = None) -> str:
    """ "(415) 555-0134", "415.555.0134" and "+1 415 555 0134" all give "+14155550134"."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber(raw or "")
    try:
        number = phonenumbers.parse(text, region or settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber(text) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """National format for people: +14155550134 -> (415) 555-0134."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
