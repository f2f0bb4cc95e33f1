"""Judge one message by the gate's rules alone, from a JSON file, and print {"allowed", "reasons", "send_after"}."""

import datetime as dt
import json
import re
import sys
import zoneinfo
from pathlib import Path

import phonenumbers
from django.core.management.base import BaseCommand, CommandError

from messaging.gate import STOP_CONFIRMATION, SendFacts, gate_rules, judge
from messaging.gate_places import state_normalise
from messaging.models import Sender, Suppression

JURISDICTION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")  # ISO 3166-2, as Store.jurisdiction
BAD_INPUT = 2  # exit status of a file the command cannot read or understand

FIELDS = {
    "channel",
    "purpose",
    "phone",
    "email",
    "address_state",
    "store_jurisdiction",
    "at",
    "consent",
    "suppressed",
    "marketing_sent_last_24h_same_subject",
    "last_marketing_at",
    "message_purpose",
    "marketing_sent_last_24h",
    "store_time_zone",
    "send_before",
    "sender_use_case",
}


class BadInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def _moment(data: dict, name: str, *, required: bool = False) -> dt.datetime | None:
    value = data.get(name)
    if value is None:
        if required:
            raise BadInput(name, "required: an ISO time with Z or an offset, e.g. 2026-03-08T01:30:00Z.")
        return None
    if not isinstance(value, str):
        raise BadInput(name, "give an ISO time as a string.")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise BadInput(name, f"not an ISO time ({value!r}).") from error
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadInput(name, f"the time needs Z or its UTC offset ({value!r}).")
    return moment


def _count(data: dict, name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadInput(name, "give a whole number, 0 or more.")
    return value


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInput(name, "give a string.")
    return value.strip()


def send_facts_parse(data) -> SendFacts:
    """SendFacts from check_send's JSON document; BadInput names the first field that is wrong."""
    if not isinstance(data, dict):
        raise BadInput("file", "must be a JSON object.")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise BadInput(unknown[0], f"unknown field (the fields are: {', '.join(sorted(FIELDS))}).")
    channel = data.get("channel")
    if channel not in ("sms", "email"):
        raise BadInput("channel", 'give "sms" or "email".')
    purpose = data.get("purpose")
    message_purpose = _text(data, "message_purpose")
    if purpose == STOP_CONFIRMATION:
        purpose, message_purpose = "transactional", STOP_CONFIRMATION
    if purpose not in ("marketing", "transactional"):
        raise BadInput("purpose", 'give "marketing", "transactional" or "stop_confirmation".')
    phone = _text(data, "phone")
    if phone:
        try:
            number = phonenumbers.parse(phone, None)
        except phonenumbers.NumberParseException as error:
            raise BadInput("phone", f"not an E.164 phone number ({phone!r}).") from error
        if not phone.startswith("+") or not phonenumbers.is_possible_number(number):
            raise BadInput("phone", f"not an E.164 phone number ({phone!r}).")
    elif channel == "sms":
        raise BadInput("phone", "a text needs the number it goes to.")
    email = _text(data, "email")
    if channel == "email" and "@" not in email:
        raise BadInput("email", "an email needs the address it goes to.")
    address_state = _text(data, "address_state")
    if state_normalise(address_state) is None:
        raise BadInput(
            "address_state", f"not a US state ({address_state!r}); give e.g. FL, Florida or US-FL."
        )
    store_jurisdiction = _text(data, "store_jurisdiction")
    if store_jurisdiction and not (
        JURISDICTION.match(store_jurisdiction) and state_normalise(store_jurisdiction) is not None
    ):
        raise BadInput("store_jurisdiction", f"not a jurisdiction ({store_jurisdiction!r}); give e.g. US-CA.")
    consent = data.get("consent")
    if not isinstance(consent, bool):
        raise BadInput("consent", "required: true or false.")
    suppressed = data.get("suppressed") or []
    if not isinstance(suppressed, list) or not all(isinstance(item, str) and item for item in suppressed):
        raise BadInput("suppressed", 'give a list of reasons, e.g. ["stopped"].')
    known = set(Suppression.Reason.values)
    strange = [item for item in suppressed if item not in known]
    if strange:
        raise BadInput("suppressed", f"unknown reason {strange[0]!r} (known: {', '.join(sorted(known))}).")
    store_time_zone = _text(data, "store_time_zone")
    if store_time_zone and store_time_zone not in zoneinfo.available_timezones():
        raise BadInput("store_time_zone", f"not a time zone ({store_time_zone!r}); give e.g. America/Denver.")
    sender_use_case = _text(data, "sender_use_case")
    if sender_use_case and sender_use_case not in Sender.UseCase.values:
        raise BadInput("sender_use_case", 'give "marketing" or "notifications".')
    return SendFacts(
        channel=channel,
        purpose=purpose,
        at=_moment(data, "at", required=True),
        phone=phone,
        email=email,
        address_state=address_state,
        store_jurisdiction=store_jurisdiction,
        consent=consent,
        suppressed=tuple(suppressed),
        marketing_sent_last_24h_same_subject=_count(data, "marketing_sent_last_24h_same_subject") or 0,
        last_marketing_at=_moment(data, "last_marketing_at"),
        message_purpose=message_purpose,
        marketing_sent_last_24h=_count(data, "marketing_sent_last_24h"),
        store_time_zone=store_time_zone,
        send_before=_moment(data, "send_before"),
        sender_use_case=sender_use_case,
    )


class Command(BaseCommand):
    help = (
        "Judge one message by the gate's rules alone (consent, suppression, quiet hours, caps, smart sending): "
        "FILE is JSON with channel, purpose, phone, address_state, store_jurisdiction, at, consent, ... (see "
        'README, "Messaging: the gate and check_send"). Prints {"allowed", "reasons", "send_after"}; exits 2 on '
        "a bad file."
    )

    stealth_options = ("stdin",)  # tests pass standard input as a stream

    def add_arguments(self, parser):
        parser.add_argument("file", help='path of the JSON message, or "-" for standard input')

    def handle(self, *args, **options):
        name = options["file"]
        try:
            text = (
                (options.get("stdin") or sys.stdin).read() if name == "-" else Path(name).read_text("utf-8")
            )
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {name}: {error}", returncode=BAD_INPUT) from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(f"{name} is not valid JSON: {error}", returncode=BAD_INPUT) from error
        try:
            facts = send_facts_parse(data)
        except BadInput as error:
            raise CommandError(f"{name}: {error}", returncode=BAD_INPUT) from error
        verdict = judge(facts, gate_rules(facts.at))
        self.stdout.write(json.dumps(verdict.as_dict(), indent=2))
