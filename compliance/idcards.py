"""Reading US driver licences and state ID cards from the AAMVA PDF417 text a 2D scanner types into a field,
and the checks a budtender makes on them (age on the store's local date, expiry). Pure: no database, no I/O.

A keyboard-wedge scanner often loses or changes the control characters that separate the data elements (LF,
RS, CR), so the parser does not rely on them: it finds each element by its three-letter AAMVA code."""

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from dispensary.clock import age_on

# The elements we keep (AAMVA DL/ID Card Design Standard, "Data elements"); everything else is ignored.
ELEMENTS = {
    "DAQ": "id_number",
    "DCS": "last_name",
    "DAB": "last_name",  # version 1 and 2
    "DAC": "first_name",
    "DCT": "first_name",  # version 1 and 2: given names
    "DAD": "middle_name",
    "DAA": "full_name",  # version 1: "LAST,FIRST,MIDDLE"
    "DBB": "date_of_birth",
    "DBA": "expires_on",
    "DBD": "issued_on",
    "DAJ": "issuing_state",
    "DCG": "country",
    "DBC": "sex",
}
HEADER = re.compile(r"ANSI ?(\d{6})(\d{2})(\d{2})?(\d{2})?")
US_STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
    "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH",
    "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI",
}  # fmt: skip


class UnreadableId(ValueError):
    """The scan is not an AAMVA licence or ID, or lacks what a check needs; the message says what."""


@dataclass(frozen=True)
class IdDocument:
    id_number: str
    issuing_state: str
    first_name: str
    middle_name: str
    last_name: str
    date_of_birth: dt.date
    expires_on: dt.date
    issued_on: dt.date | None
    document_type: str  # "DL" (driver licence) or "ID" (identification card)
    aamva_version: int

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.middle_name, self.last_name) if part)


def _fields(text: str) -> dict[str, str]:
    """The data elements by code. With the separators intact (the usual case) each line is one element; where
    the scanner lost them, elements are found by their known codes in order."""
    found: dict[str, str] = {}
    lines = [line.strip() for line in re.split(r"[\n\r\x1e]+", text) if line.strip()]
    if len(lines) >= 4:
        for line in lines:
            # The first line of a subfile starts with its designator ("DL" or "ID") before the first element.
            match = re.match(r"^(?:DL|ID)?(D[A-Z]{2})(.*)$", line) or re.search(
                r"(?:DL|ID)(D[A-Z]{2})(.*)$", line
            )
            if match and match.group(1) in ELEMENTS and match.group(1) not in found:
                found[match.group(1)] = match.group(2).strip()
        return found
    matches = list(re.finditer("|".join(ELEMENTS), text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        found.setdefault(match.group(0), text[match.end() : end].strip())
    return found


def _date(value: str, *, us_order: bool, what: str) -> dt.date:
    digits = re.sub(r"\D", "", value or "")
    if len(digits) != 8:
        raise UnreadableId(f"The {what} on the ID cannot be read ({value!r}).")
    orders = [("mdy", digits[0:2], digits[2:4], digits[4:8]), ("ymd", digits[4:6], digits[6:8], digits[0:4])]
    if not us_order:
        orders.reverse()
    for _, month, day, year in orders:
        try:
            return dt.date(int(year), int(month), int(day))
        except ValueError:
            continue
    raise UnreadableId(f"The {what} on the ID is not a date ({value!r}).")


def id_parse(text: str) -> IdDocument:
    """Parse the text of a scanned AAMVA PDF417 barcode; raise UnreadableId with a clear message otherwise."""
    if not text or not text.strip():
        raise UnreadableId("Nothing was scanned. Scan the barcode on the back of the ID.")
    if "ANSI" not in text and "AAMVA" not in text:
        raise UnreadableId(
            "This is not the barcode of a driver licence or state ID (scan the large barcode on the back)."
        )
    header = HEADER.search(text)
    version = int(header.group(2)) if header else 1
    values = _fields(text[header.end() :] if header else text)
    if "DAQ" not in values or not values["DAQ"]:
        raise UnreadableId(
            "The ID number could not be read from the scan; scan again or type the date of birth."
        )
    first, middle, last = (
        values.get("DAC", values.get("DCT", "")),
        values.get("DAD", ""),
        values.get("DCS", ""),
    )
    if not last and "DAB" in values:
        last = values["DAB"]
    if not (first and last) and values.get("DAA"):
        parts = [p.strip() for p in re.split(r"[,$]", values["DAA"])]
        last, first = parts[0], parts[1] if len(parts) > 1 else first
        middle = parts[2] if len(parts) > 2 else middle
    if "," in first and not middle:  # version 1-2 given names "FIRST,MIDDLE"
        first, middle = (p.strip() for p in first.split(",", 1))
    country = values.get("DCG", "USA").upper()
    us_order = country in ("USA", "") and version >= 2
    if "DBB" not in values:
        raise UnreadableId("The date of birth could not be read from the scan.")
    if "DBA" not in values:
        raise UnreadableId("The expiry date could not be read from the scan.")
    state = values.get("DAJ", "").upper()[:2]
    if state not in US_STATES:
        raise UnreadableId(f"The issuing state could not be read from the scan ({state or 'none'}).")
    document_type = "ID" if re.search(r"\d{2}ID\d{8}", text[:60]) and "DL" not in text[:40] else "DL"
    return IdDocument(
        id_number=values["DAQ"].upper(),
        issuing_state=state,
        first_name=first.title(),
        middle_name=middle.title() if middle.upper() != "NONE" else "",
        last_name=last.title(),
        date_of_birth=_date(values["DBB"], us_order=us_order, what="date of birth"),
        expires_on=_date(values["DBA"], us_order=us_order, what="expiry date"),
        issued_on=_date(values["DBD"], us_order=us_order, what="issue date") if values.get("DBD") else None,
        document_type=document_type,
        aamva_version=version,
    )


@dataclass(frozen=True)
class IdCheck:
    """The outcome of checking an ID at the counter on the store's local date."""

    age: int
    minimum_age: int
    expired: bool
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def id_check(
    *, date_of_birth: dt.date, expires_on: dt.date | None, today: dt.date, minimum_age: int
) -> IdCheck:
    """Age on the store's local date and expiry: under age or expired blocks the sale (the ID is valid through
    its expiry date)."""
    age = age_on(date_of_birth, today)
    problems = []
    if date_of_birth > today:
        problems.append("The date of birth is in the future.")
    elif age < minimum_age:
        problems.append(f"Under age: {age}, the minimum is {minimum_age}.")
    expired = expires_on is not None and expires_on < today
    if expired:
        problems.append(f"The ID expired on {expires_on:%b %d, %Y}.")
    return IdCheck(age=age, minimum_age=minimum_age, expired=expired, problems=tuple(problems))


def id_number_hash(*, issuing_state: str, id_number: str, key: bytes) -> str:
    """A keyed hash of the ID number: the same card always gives the same value (for anti-looping) but the
    number is never stored, and without the key the small space of ID numbers cannot be searched."""
    message = f"{issuing_state.upper()}:{re.sub(r'[^0-9A-Z]', '', id_number.upper())}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
