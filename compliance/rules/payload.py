"""The limit check's JSON input (shared by `manage.py check_limits` and the API), parsed into engine objects.

    {"jurisdiction": "US-CO", "date": "2026-03-01", "store": 12 (optional),
     "customer": {"type": "adult_use", "age": 34, "resident": true, "via_caregiver": false},
     "history": [{"at": "2026-03-01T10:00:00-07:00", "lines": [{"bucket": "flower_g", "amount": "10"}]}],
     "cart": [{"bucket": "concentrate_g", "amount": "4", "label": "Shatter 4g"}]}

A line is either {"bucket", "amount"} or {"amounts": {bucket: amount, ...}}, with an optional "label".
Errors collect every problem as {field path: [messages]}."""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from compliance.rules.limits import BUCKETS, CUSTOMER_TYPES, CartLine, Customer, Purchase
from dispensary.inputs import date_problem

JURISDICTION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
MAX_AMOUNT = Decimal("1000000")
MAX_HISTORY = 5000
MAX_LINES = 500
MAX_LABEL = 200


class RulesInputError(ValueError):
    def __init__(self, message: str, details: dict[str, list[str]]):
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True)
class CheckRequest:
    jurisdiction: str
    on: dt.date
    customer: Customer
    history: tuple[Purchase, ...]
    cart: tuple[CartLine, ...]
    store: int | None = None


class _Errors:
    def __init__(self) -> None:
        self.details: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.details.setdefault(path, []).append(message)


def _amount(value, path: str, errors: _Errors) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.add(path, 'Give the amount as a decimal string such as "3.5".')
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        errors.add(path, f"{value!r} is not a number.")
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        errors.add(path, f"The amount must be between 0 and {MAX_AMOUNT}.")
        return None
    if amount.as_tuple().exponent < -6:
        errors.add(path, "At most 6 decimal places.")
        return None
    return amount


def _line(value, path: str, errors: _Errors) -> CartLine | None:
    if not isinstance(value, dict):
        errors.add(path, 'A line is an object: {"bucket": "flower_g", "amount": "3.5"}.')
        return None
    unknown = set(value) - {"bucket", "amount", "amounts", "label"}
    if unknown:
        errors.add(path, f"Unknown field(s): {', '.join(sorted(unknown))}.")
    label = value.get("label", "")
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        errors.add(f"{path}.label", f"A label is text of at most {MAX_LABEL} characters.")
        label = ""
    if "amounts" in value:
        if "bucket" in value or "amount" in value:
            errors.add(path, 'Give either "bucket" and "amount" or "amounts", not both.')
            return None
        raw = value["amounts"]
        if not isinstance(raw, dict) or not raw:
            errors.add(f"{path}.amounts", "Give at least one bucket and its amount.")
            return None
        pairs = list(raw.items())
    elif "bucket" in value and "amount" in value:
        pairs = [(value["bucket"], value["amount"])]
    else:
        errors.add(path, 'A line needs "bucket" and "amount" (or "amounts").')
        return None
    amounts: dict[str, Decimal] = {}
    valid = True
    for bucket, raw_amount in pairs:
        if bucket not in BUCKETS:
            errors.add(f"{path}.bucket", f"Unknown bucket {bucket!r}; use one of {', '.join(BUCKETS)}.")
            valid = False
            continue
        amount = _amount(raw_amount, f"{path}.amount", errors)
        if amount is None:
            valid = False
            continue
        amounts[bucket] = amount
    return CartLine(amounts=amounts, label=label) if valid else None


def _lines(value, path: str, errors: _Errors, *, allow_empty: bool) -> tuple[CartLine, ...]:
    if not isinstance(value, list):
        errors.add(path, "Give a list of lines.")
        return ()
    if not value and not allow_empty:
        errors.add(path, "Give at least one line.")
    if len(value) > MAX_LINES:
        errors.add(path, f"At most {MAX_LINES} lines.")
        return ()
    lines = [_line(item, f"{path}[{index}]", errors) for index, item in enumerate(value)]
    return tuple(line for line in lines if line is not None)


def _customer(value, errors: _Errors) -> Customer | None:
    if not isinstance(value, dict):
        errors.add("customer", 'Give the customer: {"type": "adult_use", "age": 34, "resident": true}.')
        return None
    unknown = set(value) - {"type", "age", "resident", "via_caregiver"}
    if unknown:
        errors.add("customer", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    kind = value.get("type")
    if kind not in CUSTOMER_TYPES:
        errors.add("customer.type", f"Use one of {', '.join(CUSTOMER_TYPES)}.")
    age = value.get("age")
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150:
        errors.add("customer.age", "Give the age in whole years (0 to 150).")
    resident = value.get("resident", True)
    caregiver = value.get("via_caregiver", False)
    for name, flag in (("resident", resident), ("via_caregiver", caregiver)):
        if not isinstance(flag, bool):
            errors.add(f"customer.{name}", "Give true or false.")
    if errors.details:
        return None
    return Customer(type=kind, age=age, resident=resident, via_caregiver=caregiver)


def _history(value, errors: _Errors) -> tuple[Purchase, ...]:
    if not isinstance(value, list):
        errors.add("history", "Give a list of purchases (an empty list when there are none).")
        return ()
    if len(value) > MAX_HISTORY:
        errors.add("history", f"At most {MAX_HISTORY} purchases.")
        return ()
    purchases = []
    for index, item in enumerate(value):
        path = f"history[{index}]"
        if not isinstance(item, dict):
            errors.add(path, 'A purchase is an object: {"at": "...", "lines": [...]}.')
            continue
        unknown = set(item) - {"at", "lines", "customer_type"}
        if unknown:
            errors.add(path, f"Unknown field(s): {', '.join(sorted(unknown))}.")
        at = None
        raw_at = item.get("at")
        try:
            at = dt.datetime.fromisoformat(raw_at) if isinstance(raw_at, str) else None
        except ValueError:
            at = None
        if at is not None and date_problem(at):
            errors.add(f"{path}.at", date_problem(at))
        elif at is None:
            errors.add(
                f"{path}.at", 'Give the time in ISO 8601 with its offset: "2026-03-01T10:00:00-07:00".'
            )
        elif at.tzinfo is None or at.utcoffset() is None:
            errors.add(f"{path}.at", "The time needs its UTC offset (for example -07:00 or Z).")
            at = None
        customer_type = item.get("customer_type")
        if customer_type is not None and customer_type not in CUSTOMER_TYPES:
            errors.add(f"{path}.customer_type", f"Use one of {', '.join(CUSTOMER_TYPES)}.")
        lines = _lines(item.get("lines"), f"{path}.lines", errors, allow_empty=True)
        if at is not None:
            purchases.append(Purchase(at=at, lines=lines, customer_type=customer_type))
    return tuple(purchases)


def check_request_parse(data) -> CheckRequest:
    """Validate the JSON document and build the engine's input, or raise RulesInputError with every problem."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise RulesInputError(
            "The input must be a JSON object.", {"non_field_errors": ["The input must be a JSON object."]}
        )
    unknown = set(data) - {"jurisdiction", "date", "customer", "history", "cart", "store"}
    if unknown:
        errors.add("non_field_errors", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    jurisdiction = data.get("jurisdiction")
    if not isinstance(jurisdiction, str) or not JURISDICTION.match(jurisdiction):
        errors.add("jurisdiction", "Use an ISO 3166-2 code such as US-CO.")
    on = None
    raw_date = data.get("date")
    try:
        on = dt.date.fromisoformat(raw_date) if isinstance(raw_date, str) and len(raw_date) == 10 else None
    except ValueError:
        on = None
    if on is not None and date_problem(on):
        errors.add("date", date_problem(on))
        on = None
    elif on is None:
        errors.add("date", 'Give the store-local date as YYYY-MM-DD, e.g. "2026-03-01".')
    store = data.get("store")
    if store is not None and (isinstance(store, bool) or not isinstance(store, int) or store < 1):
        errors.add("store", "Give the store's id (a positive whole number) or leave it out.")
    customer = _customer(data.get("customer"), errors)
    history = _history(data.get("history", []), errors)
    cart = _lines(data.get("cart"), "cart", errors, allow_empty=False)
    if errors.details:
        first_field, messages = next(iter(errors.details.items()))
        raise RulesInputError(f"{first_field}: {messages[0]}", errors.details)
    return CheckRequest(
        jurisdiction=jurisdiction, on=on, customer=customer, history=history, cart=cart, store=store
    )
