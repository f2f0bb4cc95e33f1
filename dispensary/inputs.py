"""One rule for each kind of value people and API callers type: quantities, money, text, ids and dates.

Forms, serializers, the request middleware and the services that parse raw strings all use these, so a value
the platform would store as nonsense (a quantity of 1e11, a date of birth in 2030, a NUL byte in a name) is
refused in one clear sentence wherever it is typed, and never reaches the database."""

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation

# --- Numbers ------------------------------------------------------------------------------------------------
# A million grams (a tonne) or a million units: more than any package, manifest line, count or adjustment a
# licensed retailer handles, and far inside the database columns (14 digits, 3 of them decimals), so that
# sums of many such values never overflow Decimal's 28 digits either.
QUANTITY_MAX = Decimal("1000000")
QUANTITY_PLACES = 3
# A million dollars: more than any price, tender, drawer count or coupon threshold.
MONEY_MAX = Decimal("1000000")
MONEY_PLACES = 2
# Counts typed by people (coupon uses, codes, points, days): within a 32-bit column.
COUNT_MAX = 2**31 - 1
# A typed number longer than this is never a plausible quantity or amount (and is not parsed at all).
NUMBER_MAX_CHARS = 32


class InputRejected(ValueError):
    """A value outside the platform's rules; the message says why, for people."""

    def __init__(self, message: str, *, reason: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.reason = reason  # not_a_number, out_of_range, too_many_decimals, invalid


def number_parse(
    raw,
    *,
    places: int,
    maximum: Decimal,
    minimum: Decimal | None = None,
    what: str = "number",
) -> Decimal:
    """A decimal with at most `places` decimals and a magnitude up to `maximum` (from `minimum`, default
    -maximum). Raises InputRejected with a sentence for people."""
    if isinstance(raw, bool):
        raise InputRejected(f"Give a {what} such as 2 or 3.5.", reason="not_a_number")
    text = str(raw if raw is not None else "").strip()
    if len(text) > NUMBER_MAX_CHARS:
        raise InputRejected(
            f"That is not a plausible {what}: at most {maximum:,} with {places} decimals.",
            reason="out_of_range",
        )
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise InputRejected(f"{text!r} is not a number.", reason="not_a_number") from None
    if not value.is_finite():
        raise InputRejected(f"{text!r} is not a number.", reason="not_a_number")
    low = -maximum if minimum is None else minimum
    if value > maximum or value < low:
        raise InputRejected(
            f"A {what} is between {low:,} and {maximum:,}, not {text}.", reason="out_of_range"
        )
    # Safe now: the magnitude is bounded, so the quantized value fits Decimal's precision.
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise InputRejected(
            f"A {what} has at most {places} decimals, not {text}.", reason="too_many_decimals"
        )
    return value


def quantity_parse(raw, *, minimum: Decimal | None = None) -> Decimal:
    return number_parse(raw, places=QUANTITY_PLACES, maximum=QUANTITY_MAX, minimum=minimum, what="quantity")


def money_parse(raw, *, minimum: Decimal | None = None) -> Decimal:
    return number_parse(raw, places=MONEY_PLACES, maximum=MONEY_MAX, minimum=minimum, what="amount")


# --- Ids ----------------------------------------------------------------------------------------------------
ID_MAX = 2**63 - 1  # a BIGINT primary key
_ID = re.compile(r"[0-9]{1,19}")


def id_parse(raw) -> int | None:
    """A row id typed in a form field or query parameter: digits only, within a 64-bit key; anything else (a
    5,000-digit number, "abc", -1) is None, an id that finds nothing."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 0 < raw <= ID_MAX else None
    text = str(raw if raw is not None else "").strip()
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= ID_MAX else None


class IdConverter:
    """The `<id:name>` path converter: a row id within a 64-bit key. A longer number matches no URL (404)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > ID_MAX:
            raise ValueError("beyond a 64-bit id")  # Django takes it as "no match"
        return number

    def to_url(self, value) -> str:
        return str(int(value))


# --- Text ---------------------------------------------------------------------------------------------------
# The longest text any field takes (notes included); forms and serializers set tighter limits where a field has
# one. Longer values are refused before a view runs.
TEXT_MAX_LENGTH = 10_000
# Control characters are refused everywhere, except tab, line breaks and the separators that ID and GS1
# barcodes carry (FS, GS, RS), which scanners type into the ID and scan fields.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1b\x1f\x7f]")


def text_problem(value: str, *, max_length: int = TEXT_MAX_LENGTH) -> str | None:
    """Why a piece of text cannot be accepted, or None."""
    if "\x00" in value:
        return "The text contains a NUL character, which is not allowed."
    if _CONTROL.search(value):
        return "The text contains a control character, which is not allowed."
    if len(value) > max_length:
        return f"The text is longer than {max_length:,} characters."
    return None


def text_validator(value) -> None:
    """A Django validator (forms, serializers, model fields) for the text rule."""
    from django.core.exceptions import ValidationError

    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValidationError(problem, code="invalid_text")


# --- JSON ---------------------------------------------------------------------------------------------------
JSON_MAX_DEPTH = 32


def json_parse(body: bytes | str):
    """A request's JSON, refused (InputRejected) when it is not JSON, nests deeper than JSON_MAX_DEPTH or
    carries a NUL or control character in any string, keys included."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise InputRejected(f"The JSON nests deeper than {JSON_MAX_DEPTH} levels.") from None
    except ValueError as error:
        raise InputRejected(f"The body is not JSON: {error}.") from None
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > JSON_MAX_DEPTH:
                raise InputRejected(f"The JSON nests deeper than {JSON_MAX_DEPTH} levels.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    stack.append((key, depth))
                stack.append((item, depth + 1))
        elif isinstance(value, str):
            # Lengths are the fields' own (a manifest CSV sent as one string is long); the body is bounded.
            problem = text_problem(value, max_length=len(value))
            if problem:
                raise InputRejected(problem)
    return data


# --- Dates --------------------------------------------------------------------------------------------------
# Any date typed for a filter, a report, a validity or an expiry; beyond these it is a typing slip (and year
# 9999 plus a day overflows).
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2199, 12, 31)
DATE_OF_BIRTH_MIN = dt.date(1900, 1, 1)


def date_problem(value: dt.date | dt.datetime) -> str | None:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        return f"Give a date between {DATE_MIN.year} and {DATE_MAX.year}."
    return None


def date_validator(value) -> None:
    from django.core.exceptions import ValidationError

    if isinstance(value, dt.date):
        problem = date_problem(value)
        if problem:
            raise ValidationError(problem, code="date_out_of_range")


def date_of_birth_problem(value: dt.date, *, today: dt.date) -> str | None:
    """A date of birth is between 1900 and today."""
    if value < DATE_OF_BIRTH_MIN or value > today:
        return f"A date of birth is between {DATE_OF_BIRTH_MIN:%Y-%m-%d} and today."
    return None
