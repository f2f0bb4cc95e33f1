"""A local Metrc (API v2) for the demo, the tests and development: keys and licences, state kept in memory
(and in a journal file when given one, so that it survives a restart), Metrc's validation and error shapes,
GET rate limits and injectable faults (429, 5xx, timeouts and lost answers before or after a write is applied,
latency).

It runs in process as an httpx transport (`simulator.transport()`) or as a WSGI app on a real socket
(`serve_in_thread()`, or `python manage.py metrc_simulator --port N`).
"""

import base64
import binascii
import collections
import datetime as dt
import json
import math
import os
import pathlib
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx

from compliance.traceability.metrc import (
    BATCH_SIZE,
    CAREGIVER_STATUS_STATES,
    DELIVERY_STATES,
    PAGE_SIZE,
    PATIENT_STATUS_STATES,
)

DEFAULT_VENDOR_KEY = "simulator-vendor-key"
DEFAULT_USER_KEY = "simulator-user-key"

SALES_CUSTOMER_TYPES = ("Consumer", "Patient", "Caregiver", "ExternalPatient")
SELLABLE_LAB_STATES = ("TestPassed", "NotRequired", "RetestPassed", "TestPassedRemediated")
ADJUSTMENT_REASONS: tuple[dict, ...] = (
    {"Name": "Drying", "RequiresNote": False, "RequiresWasteWeight": False},
    {"Name": "Entry Error", "RequiresNote": True, "RequiresWasteWeight": False},
    {"Name": "Scale Variance", "RequiresNote": False, "RequiresWasteWeight": False},
    {"Name": "Theft", "RequiresNote": True, "RequiresWasteWeight": False},
    {"Name": "Waste", "RequiresNote": False, "RequiresWasteWeight": False},
)
# GET /sales/v2/deliveries/returnreasons: why a delivered package came back.
DELIVERY_RETURN_REASONS: tuple[dict, ...] = (
    {"Name": "Customer Refused", "RequiresNote": False},
    {"Name": "Damaged", "RequiresNote": False},
    {"Name": "Incorrect Item", "RequiresNote": False},
    {"Name": "Customer Not Present", "RequiresNote": False},
    {"Name": "Other", "RequiresNote": True},
)
# GET /sales/v2/patientregistration/locations: where an external patient may be registered.
PATIENT_REGISTRATION_LOCATIONS: tuple[dict, ...] = tuple(
    {"Id": 1 + index, "Name": name}
    for index, name in enumerate(
        (
            "Arizona",
            "California",
            "Colorado",
            "Maine",
            "Michigan",
            "Nevada",
            "New Mexico",
            "Oklahoma",
            "Oregon",
        )
    )
)
UNIT_ABBREVIATIONS = {
    "Each": "ea",
    "Grams": "g",
    "Milligrams": "mg",
    "Kilograms": "kg",
    "Ounces": "oz",
    "Pounds": "lb",
}

LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# ----------------------------------------------------------------------------------------------------------
# State


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class SimulatedPackage:
    id: int
    label: str
    quantity: Decimal
    unit: str
    item: str
    item_category: str = ""
    lab_testing_state: str = "TestPassed"
    on_hold: bool = False
    finished: bool = False
    retailer_delivery_id: int | None = None
    received_from_manifest: str = ""
    last_modified: dt.datetime = field(default_factory=_now)

    def as_json(self) -> dict:
        return {
            "Id": self.id,
            "Label": self.label,
            "PackageType": "Product",
            "Quantity": float(self.quantity),
            "UnitOfMeasureName": self.unit,
            "UnitOfMeasureAbbreviation": UNIT_ABBREVIATIONS.get(self.unit, self.unit),
            "Item": {"Name": self.item, "ProductCategoryName": self.item_category},
            "LabTestingState": self.lab_testing_state,
            "IsOnHold": self.on_hold,
            "IsFinished": self.finished,
            "FinishedDate": self.last_modified.date().isoformat() if self.finished else None,
            "IsOnRetailerDelivery": self.retailer_delivery_id is not None,
            "ReceivedFromManifestNumber": self.received_from_manifest or None,
            "LastModified": _timestamp(self.last_modified),
        }


@dataclass
class Facility:
    license_number: str
    jurisdiction: str
    name: str = ""
    packages: dict[str, SimulatedPackage] = field(default_factory=dict)
    receipts: dict[int, dict] = field(default_factory=dict)
    deliveries: dict[int, dict] = field(default_factory=dict)
    retailer_deliveries: dict[int, dict] = field(default_factory=dict)
    transfers: list[dict] = field(default_factory=list)
    patients: dict[str, dict] = field(default_factory=dict)
    caregivers: dict[str, bool] = field(default_factory=dict)
    # GET /sales/v2/customertypes: the SalesCustomerType values this state accepts.
    customer_types: tuple[str, ...] = SALES_CUSTOMER_TYPES
    # GET /packages/v2/adjust/reasons: states name and require them differently.
    adjustment_reasons: tuple[dict, ...] = ADJUSTMENT_REASONS
    recent_gets: collections.deque = field(default_factory=collections.deque)

    @property
    def state(self) -> str:
        return self.jurisdiction.removeprefix("US-").upper()


@dataclass
class Faults:
    """What goes wrong, on purpose. Counters run over every call the simulator answers."""

    fail_every: int | None = None  # every Nth call answers `fail_status`
    fail_probability: float = 0.0  # or each call with this probability (seeded)
    fail_status: int = 500
    timeout_every: int | None = None  # every Nth call never answers in time
    timeout_probability: float = 0.0
    timeout_seconds: float = 30.0  # how long the real server sleeps before giving up on a timed-out call
    timeout_after_processing: bool = False  # the write is applied, then the answer is lost
    # Writes applied whose answer is then lost, as real networks lose them (besides timeout_* above):
    lose_after_every: int | None = None
    lose_after_probability: float = 0.0
    # How a lost answer shows: "timeout" (the client's read times out), "drop" (the connection closes
    # without an answer) or "504" (a gateway answers Gateway Timeout).
    lost_answer: str = "timeout"
    fail_statuses: tuple[int, ...] = ()  # a failing call answers one of these at random (else fail_status)
    fail_retry_after: str | None = None  # Retry-After sent with an injected 429 or 503
    latency_seconds: float = 0.0
    get_rate_limit: int | None = 50  # GETs per second per facility; None: unlimited


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    vendor_key: str | None
    user_key: str | None
    body: Any


@dataclass
class SimulatorResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: bool = False
    dropped: bool = False  # the connection closes without an answer

    def content(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


class _RowErrors(Exception):
    def __init__(self, errors: list[dict]):
        super().__init__(errors)
        self.errors = errors


# ----------------------------------------------------------------------------------------------------------
# Request helpers


def _lower_keys(value: Any) -> Any:
    """Metrc matches names without regard to case: look fields up by their lower-case name."""
    if isinstance(value, dict):
        return {str(key).lower(): _lower_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lower_keys(item) for item in value]
    return value


def _plain(value: Decimal) -> str:
    """A quantity as people write it: 5, 3.5 (not 5.000 or 6.0)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class _Row:
    """Validation of one request object; messages name the field as Metrc's documentation does."""

    def __init__(self, index: int, obj: Any, errors: list[dict]):
        self.index = index
        self.obj = obj if isinstance(obj, dict) else {}
        self.errors = errors
        if not isinstance(obj, dict):
            self.error("each object must be a JSON object")

    def error(self, message: str) -> None:
        self.errors.append({"row": self.index, "message": message})

    def required(self, name: str, obj: dict | None = None) -> Any:
        value = (self.obj if obj is None else obj).get(name.lower())
        if value is None or value == "":
            self.error(f"{name} is required")
            return None
        return value

    def number(self, name: str, obj: dict | None = None, *, required: bool = True) -> Decimal | None:
        value = (self.obj if obj is None else obj).get(name.lower())
        if value is None:
            if required:
                self.error(f"{name} is required")
            return None
        number = _quantity(value) if not isinstance(value, str) else None
        if number is None:
            self.error(f"{name} must be a number")
        return number

    def local_datetime(self, name: str, obj: dict | None = None, *, required: bool = True) -> str | None:
        value = (self.obj if obj is None else obj).get(name.lower())
        if value is None:
            if required:
                self.error(f"{name} is required")
            return None
        if not isinstance(value, str) or not LOCAL_DATETIME.match(value):
            self.error(f"{name} must be the facility's local date and time without an offset")
            return None
        return value

    def date(self, name: str) -> str | None:
        value = self.required(name)
        if value is not None and (not isinstance(value, str) or not DATE.match(value)):
            self.error(f"{name} must be a date (yyyy-mm-dd)")
            return None
        return value

    def integer(self, name: str) -> int | None:
        value = self.required(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(f"{name} must be an integer")
            return None
        return value

    def array(self, name: str, *, required: bool = True) -> list:
        value = self.obj.get(name.lower())
        if value is None:
            if required:
                self.error(f"{name} is required")
            return []
        if not isinstance(value, list):
            self.error(f"{name} must be an array")
            return []
        if required and not value:
            self.error(f"{name} may not be empty")
        return value


# ----------------------------------------------------------------------------------------------------------
# The simulator


class MetrcSimulator:
    """Metrc API v2 in memory. Thread-safe: every request runs its state changes under one lock."""

    def __init__(
        self,
        *,
        seed: int = 0,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        state_file: str | os.PathLike | None = None,
    ):
        self.faults = faults or Faults()
        self._random = random.Random(seed)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.RLock()
        self._ids = 1000
        self._calls = 0
        self._scripted: collections.deque = collections.deque()
        self.vendor_keys: set[str] = set()
        self.users: dict[str, set[str]] = {}
        self.facilities: dict[str, Facility] = {}
        self.requests: list[RecordedRequest] = []
        self.record_requests = True
        self.package_source: Callable[[str, str], dict | None] | None = None
        self._routes = self._build_routes()
        self._journal_file = None
        self._replaying = False
        if state_file:
            self._open_journal(pathlib.Path(state_file))

    # ------------------------------------------------------------------ keeping state across restarts

    def _open_journal(self, path: pathlib.Path) -> None:
        """Keep the simulator's state in `path`, a journal of every change (one JSON object a line): replayed
        at start, appended to after each change, so a restarted process knows what the state was told."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self._replay(path)
        self._journal_file = path.open("a", encoding="utf-8")

    def close(self) -> None:
        if self._journal_file is not None:
            self._journal_file.close()
            self._journal_file = None

    def _journal(self, entry: dict) -> None:
        if self._journal_file is None or self._replaying:
            return
        self._journal_file.write(json.dumps(entry, default=str, separators=(",", ":")) + "\n")
        self._journal_file.flush()

    def _journal_write(self, method: str, path: str, license_number: str, body: Any) -> None:
        if body is _Unparsable:
            return
        self._journal(
            {"op": "write", "method": method, "path": path, "licence": license_number, "body": body}
        )

    def _replay(self, path: pathlib.Path) -> None:
        self._replaying = True
        try:
            with path.open(encoding="utf-8") as journal:
                for line in journal:
                    if not line.strip():
                        continue
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        break  # a line cut short by a crash while it was written: everything before it holds
                    self._replay_entry(entry)
        finally:
            self._replaying = False

    def _replay_entry(self, entry: dict) -> None:
        op = entry.pop("op")
        if op == "facility":
            self.add_facility(entry.pop("license_number"), **entry)
        elif op == "package":
            self.seed_package(entry.pop("license_number"), entry.pop("label"), entry.pop("quantity"), **entry)
        elif op == "transfer":
            self.seed_transfer(entry.pop("license_number"), entry.pop("manifest_number"), **entry)
        elif op == "patient":
            self.seed_patient(entry.pop("license_number"), entry.pop("patient_license_number"), **entry)
        elif op == "write":
            facility = self.facilities.get(entry["licence"])
            route = next(
                (
                    (handler, match)
                    for method, pattern, handler in self._routes
                    if method == entry["method"] and (match := pattern.match(entry["path"]))
                ),
                None,
            )
            if facility is None or route is None:
                return
            handler, match = route
            try:
                handler(facility, entry["body"], **match.groupdict())
            except _RowErrors:
                pass  # it was accepted when it was made; a changed rule cannot undo it here

    # ------------------------------------------------------------------ setup and seeding

    def add_credentials(self, vendor_key: str, user_key: str, licenses: Iterable[str] = ()) -> None:
        with self._lock:
            self.vendor_keys.add(vendor_key)
            self.users.setdefault(user_key, set()).update(licenses)

    def add_facility(
        self,
        license_number: str,
        *,
        jurisdiction: str = "US-CA",
        name: str = "",
        user_keys: Iterable[str] = (),
    ) -> Facility:
        """A licence the simulator knows; `user_keys` may act for it."""
        with self._lock:
            facility = self.facilities.get(license_number)
            if facility is None:
                facility = Facility(license_number=license_number, jurisdiction=jurisdiction, name=name)
                self.facilities[license_number] = facility
                self._journal(
                    {
                        "op": "facility",
                        "license_number": license_number,
                        "jurisdiction": jurisdiction,
                        "name": name,
                    }
                )
            for user_key in user_keys:
                self.users.setdefault(user_key, set()).add(license_number)
            return facility

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _facility(self, license_number: str) -> Facility:
        facility = self.facilities.get(license_number)
        if facility is None:
            raise KeyError(f"unknown licence {license_number}; add_facility() first")
        return facility

    def seed_package(
        self,
        license_number: str,
        label: str,
        quantity: Any,
        unit: str = "Grams",
        item: str = "",
        *,
        item_category: str = "",
        lab_testing_state: str = "TestPassed",
        on_hold: bool = False,
        finished: bool = False,
        received_from_manifest: str = "",
    ) -> SimulatedPackage:
        """Put a package in a facility's inventory (replacing one with the same label)."""
        with self._lock:
            facility = self._facility(license_number)
            existing = facility.packages.get(label)
            package = SimulatedPackage(
                id=existing.id if existing else self._next_id(),
                label=label,
                quantity=Decimal(str(quantity)),
                unit=unit,
                item=item or label,
                item_category=item_category,
                lab_testing_state=lab_testing_state,
                on_hold=on_hold,
                finished=finished,
                received_from_manifest=received_from_manifest,
            )
            facility.packages[label] = package
            self._journal(
                {
                    "op": "package",
                    "license_number": license_number,
                    "label": label,
                    "quantity": str(package.quantity),
                    "unit": unit,
                    "item": package.item,
                    "item_category": item_category,
                    "lab_testing_state": lab_testing_state,
                    "on_hold": on_hold,
                    "finished": finished,
                    "received_from_manifest": received_from_manifest,
                }
            )
            return package

    def seed_transfer(
        self,
        license_number: str,
        manifest_number: str,
        *,
        shipper_license: str,
        shipper_name: str,
        packages: list[dict],
    ) -> int:
        """An incoming transfer for the facility. `packages`: {label, item, quantity, unit, lab_testing_state}.
        Answers the delivery id (GET /transfers/v2/deliveries/{id}/packages)."""
        with self._lock:
            facility = self._facility(license_number)
            self._journal(
                {
                    "op": "transfer",
                    "license_number": license_number,
                    "manifest_number": manifest_number,
                    "shipper_license": shipper_license,
                    "shipper_name": shipper_name,
                    "packages": packages,
                }
            )
            transfer_id, delivery_id = self._next_id(), self._next_id()
            facility.transfers.append(
                {
                    "Id": transfer_id,
                    "DeliveryId": delivery_id,
                    "ManifestNumber": manifest_number,
                    "ShipperFacilityLicenseNumber": shipper_license,
                    "ShipperFacilityName": shipper_name,
                    "RecipientFacilityLicenseNumber": license_number,
                    "PackageCount": len(packages),
                    "LastModified": _timestamp(_now()),
                    "packages": [
                        {
                            "PackageId": self._next_id(),
                            "PackageLabel": package["label"],
                            "ItemName": package.get("item", ""),
                            "ProductName": package.get("item", ""),
                            "LabTestingState": package.get("lab_testing_state", "TestPassed"),
                            "ShipmentPackageState": "Shipped",
                            "ShippedQuantity": float(Decimal(str(package["quantity"]))),
                            "ShippedUnitOfMeasureName": package.get("unit", "Grams"),
                        }
                        for package in packages
                    ],
                }
            )
            return delivery_id

    def seed_patient(
        self,
        license_number: str,
        patient_license_number: str,
        *,
        active: bool = True,
        flower_ounces_available: Any = 2.5,
        thc_ounces_available: Any = 0.5,
        purchase_amount_days: Any = 30,
    ) -> None:
        with self._lock:
            self._facility(license_number).patients[patient_license_number] = {
                "PatientLicenseNumber": patient_license_number,
                "Active": active,
                "FlowerOuncesAvailable": float(flower_ounces_available),
                "ThcOuncesAvailable": float(thc_ounces_available),
                "PurchaseAmountDays": float(purchase_amount_days),
            }
            self._journal(
                {
                    "op": "patient",
                    "license_number": license_number,
                    "patient_license_number": patient_license_number,
                    "active": active,
                    "flower_ounces_available": str(flower_ounces_available),
                    "thc_ounces_available": str(thc_ounces_available),
                    "purchase_amount_days": str(purchase_amount_days),
                }
            )

    def seed_caregiver(
        self, license_number: str, caregiver_license_number: str, *, active: bool = True
    ) -> None:
        with self._lock:
            self._facility(license_number).caregivers[caregiver_license_number] = active

    def set_customer_types(self, license_number: str, customer_types: Iterable[str]) -> None:
        """The SalesCustomerType values the facility's state accepts (all four by default)."""
        with self._lock:
            self._facility(license_number).customer_types = tuple(customer_types)

    def set_adjustment_reasons(self, license_number: str, reasons: Iterable[dict]) -> None:
        """The facility's adjustment reasons: [{"Name", "RequiresNote", "RequiresWasteWeight"}]."""
        with self._lock:
            self._facility(license_number).adjustment_reasons = tuple(dict(reason) for reason in reasons)

    def share_packages(self, license_number: str, with_license: str) -> None:
        """A co-located facility (a store's medical licence beside its adult-use one) sells from the same
        packages: both licences see one inventory, as the platform keeps one per store."""
        with self._lock:
            self._facility(license_number).packages = self._facility(with_license).packages

    def set_faults(self, **changes: Any) -> None:
        """Change fault settings at run time, e.g. `set_faults(fail_every=5, get_rate_limit=10)`."""
        with self._lock:
            for name, value in changes.items():
                if not hasattr(self.faults, name):
                    raise AttributeError(f"no fault setting {name}")
                setattr(self.faults, name, value)

    def queue_response(
        self,
        status: int,
        *,
        count: int = 1,
        retry_after: str | None = None,
        methods: Iterable[str] = ("GET", "POST", "PUT", "DELETE"),
        timeout: bool = False,
    ) -> None:
        """Answer the next `count` matching calls with `status` (or a timeout), before anything else."""
        with self._lock:
            for _ in range(count):
                self._scripted.append((status, retry_after, {m.upper() for m in methods}, timeout))

    # ------------------------------------------------------------------ inspection (tests, demo)

    def package(self, license_number: str, label: str) -> SimulatedPackage | None:
        with self._lock:
            package = self._facility(license_number).packages.get(label)
            return None if package is None else SimulatedPackage(**vars(package))

    def receipts(self, license_number: str) -> list[dict]:
        with self._lock:
            return [
                json.loads(json.dumps(receipt))
                for receipt in self._facility(license_number).receipts.values()
            ]

    def retailer_delivery(self, license_number: str, delivery_id: int) -> dict | None:
        with self._lock:
            delivery = self._facility(license_number).retailer_deliveries.get(delivery_id)
            return None if delivery is None else json.loads(json.dumps(delivery, default=str))

    @property
    def call_count(self) -> int:
        return self._calls

    # ------------------------------------------------------------------ the HTTP surface

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> SimulatorResponse:
        """Answer one request as Metrc would."""
        method = method.upper()
        vendor_key, user_key = _basic_auth(headers)
        parsed_body: Any = None
        if body:
            try:
                parsed_body = json.loads(body)
            except ValueError:
                parsed_body = _Unparsable
        if self.faults.latency_seconds:
            self._sleep(self.faults.latency_seconds)
        with self._lock:
            self._calls += 1
            if self.record_requests:
                self.requests.append(
                    RecordedRequest(method, path, dict(query), vendor_key, user_key, parsed_body)
                )
            if vendor_key not in self.vendor_keys or user_key not in self.users:
                return SimulatorResponse(401, {"Message": "Authorization has been denied for this request."})
            scripted = self._scripted_response(method)
            if scripted is not None:
                return scripted
            faults = self.faults
            timed_out = self._roll(faults.timeout_every, faults.timeout_probability)
            if timed_out and not faults.timeout_after_processing:
                return self._lost_answer()
            if self._roll(faults.fail_every, faults.fail_probability):
                status = (
                    self._random.choice(faults.fail_statuses) if faults.fail_statuses else faults.fail_status
                )
                headers = {"Retry-After": faults.fail_retry_after} if faults.fail_retry_after else {}
                if status not in (429, 503):
                    headers = {}
                message = "Too many requests." if status == 429 else f"Simulated server error ({status})."
                return SimulatorResponse(status, {"Message": message}, headers)
            lost_after = method != "GET" and self._roll(
                faults.lose_after_every, faults.lose_after_probability
            )
            response = self._dispatch(method, path, query, user_key, parsed_body)
            if method != "GET" and response.status < 300:
                self._journal_write(method, path, query.get("licenseNumber", ""), parsed_body)
            if timed_out or lost_after:
                return self._lost_answer()
            return response

    def _lost_answer(self) -> SimulatorResponse:
        kind = self.faults.lost_answer
        if kind == "drop":
            return SimulatorResponse(502, dropped=True)
        if kind == "504":
            return SimulatorResponse(504, {"Message": "Gateway Timeout."})
        return SimulatorResponse(504, timeout=True)

    def _scripted_response(self, method: str) -> SimulatorResponse | None:
        for index, (status, retry_after, methods, timeout) in enumerate(self._scripted):
            if method in methods:
                del self._scripted[index]
                if timeout:
                    return SimulatorResponse(504, timeout=True)
                headers = {"Retry-After": retry_after} if retry_after is not None else {}
                return SimulatorResponse(status, {"Message": f"Scripted answer {status}."}, headers)
        return None

    def _roll(self, every: int | None, probability: float) -> bool:
        if every and self._calls % every == 0:
            return True
        return bool(probability) and self._random.random() < probability

    def _rate_limited(self, facility: Facility) -> bool:
        limit = self.faults.get_rate_limit
        if not limit:
            return False
        now = self._clock()
        recent = facility.recent_gets
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= limit:
            return True
        recent.append(now)
        return False

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], user_key: str, body: Any
    ) -> SimulatorResponse:
        if method == "GET" and path.rstrip("/") == "/facilities/v2":
            licences = sorted(self.users.get(user_key, ()))
            return SimulatorResponse(
                200,
                [
                    {"License": {"Number": number}, "Name": self.facilities[number].name}
                    for number in licences
                    if number in self.facilities
                ],
            )
        unlicensed = self._unlicensed_list(method, path, user_key)
        if unlicensed is not None:
            return unlicensed
        route = next(
            (
                (handler, match)
                for m, pattern, handler in self._routes
                if m == method and (match := pattern.match(path))
            ),
            None,
        )
        if route is None:
            return SimulatorResponse(
                404, {"Message": f"No HTTP resource was found that matches {method} {path}."}
            )
        handler, match = route
        if handler in (self._get_transfer_deliveries, self._get_transfer_packages):
            # Routes that take no licence: the transfer or delivery id says whose it is.
            facility = self._facility_of_transfer(user_key, **match.groupdict())
            if facility is None:
                return SimulatorResponse(404, {"Message": f"No HTTP resource was found that matches {path}."})
            if self._rate_limited(facility):
                return SimulatorResponse(429, {"Message": "Too many requests."}, {"Retry-After": "1"})
            return handler(facility, query, **match.groupdict())
        license_number = query.get("licenseNumber")
        if not license_number:
            return SimulatorResponse(400, {"Message": "licenseNumber is required."})
        if license_number not in self.users.get(user_key, ()) or license_number not in self.facilities:
            return SimulatorResponse(403, {"Message": f"No access to licence {license_number}."})
        facility = self.facilities[license_number]
        if path.startswith("/sales/v2/deliveries") and facility.state not in DELIVERY_STATES:
            # The state's Metrc has no such route (endpoints-by-state.md).
            return SimulatorResponse(
                404, {"Message": f"No HTTP resource was found that matches {method} {path}."}
            )
        if method == "GET":
            if self._rate_limited(facility):
                return SimulatorResponse(429, {"Message": "Too many requests."}, {"Retry-After": "1"})
            return handler(facility, query, **match.groupdict())
        if method in ("POST", "PUT"):
            if body is _Unparsable or not isinstance(body, list):
                return SimulatorResponse(
                    400, {"Message": "The request body must be a JSON array of objects."}
                )
            if len(body) > BATCH_SIZE:
                return SimulatorResponse(
                    413, {"Message": f"A request may hold at most {BATCH_SIZE} objects; it held {len(body)}."}
                )
        try:
            return handler(facility, body, **match.groupdict())
        except _RowErrors as rejected:
            return SimulatorResponse(400, rejected.errors)

    def _facility_of_transfer(
        self, user_key: str, transfer_id: str | None = None, delivery_id: str | None = None
    ) -> Facility | None:
        for number in sorted(self.users.get(user_key, ())):
            facility = self.facilities.get(number)
            for transfer in facility.transfers if facility else ():
                if (transfer_id and transfer["Id"] == int(transfer_id)) or (
                    delivery_id and transfer["DeliveryId"] == int(delivery_id)
                ):
                    return facility
        return None

    def _unlicensed_list(self, method: str, path: str, user_key: str) -> SimulatorResponse | None:
        """The lists Metrc serves per state without a licence: customer types and patient registration
        locations (for the states of the facilities the user key may act for)."""
        route = path.rstrip("/")
        if method != "GET" or route not in (
            "/sales/v2/customertypes",
            "/sales/v2/patientregistration/locations",
        ):
            return None
        if route.endswith("/locations"):
            data: list = list(PATIENT_REGISTRATION_LOCATIONS)
        else:
            offered = {
                name
                for number in self.users.get(user_key, ())
                if number in self.facilities
                for name in self.facilities[number].customer_types
            }
            data = [name for name in SALES_CUSTOMER_TYPES if name in offered]
        return SimulatorResponse(
            200,
            {
                "Data": data,
                "Total": len(data),
                "TotalRecords": len(data),
                "PageSize": len(data),
                "RecordsOnPage": len(data),
                "Page": 1,
                "CurrentPage": 1,
                "TotalPages": 1,
            },
        )

    def _build_routes(self) -> list[tuple[str, re.Pattern, Callable]]:
        routes = [
            ("GET", r"/packages/v2/active", self._get_active_packages),
            ("GET", r"/packages/v2/onhold", self._get_on_hold_packages),
            ("GET", r"/packages/v2/inactive", self._get_inactive_packages),
            ("GET", r"/packages/v2/adjust/reasons", self._get_adjust_reasons),
            ("POST", r"/packages/v2/adjust", self._post_adjust),
            ("PUT", r"/packages/v2/finish", self._put_finish),
            ("PUT", r"/packages/v2/unfinish", self._put_unfinish),
            ("GET", r"/sales/v2/receipts/active", self._get_active_receipts),
            ("GET", r"/sales/v2/receipts/inactive", self._get_inactive_receipts),
            ("GET", r"/sales/v2/receipts/external/(?P<external_number>[^/]+)", self._get_receipt_external),
            ("GET", r"/sales/v2/receipts/(?P<receipt_id>\d+)", self._get_receipt),
            ("POST", r"/sales/v2/receipts", self._post_receipts),
            ("PUT", r"/sales/v2/receipts", self._put_receipts),
            ("DELETE", r"/sales/v2/receipts/(?P<receipt_id>\d+)", self._delete_receipt),
            ("GET", r"/sales/v2/deliveries/active", self._get_active_deliveries),
            ("GET", r"/sales/v2/deliveries/inactive", self._get_inactive_deliveries),
            ("GET", r"/sales/v2/deliveries/returnreasons", self._get_return_reasons),
            ("GET", r"/sales/v2/deliveries/(?P<delivery_id>\d+)", self._get_delivery),
            ("DELETE", r"/sales/v2/deliveries/(?P<delivery_id>\d+)", self._delete_delivery),
            ("POST", r"/sales/v2/deliveries", self._post_deliveries),
            ("PUT", r"/sales/v2/deliveries/complete", self._put_deliveries_complete),
            ("GET", r"/sales/v2/deliveries/retailer/active", self._get_active_retailer_deliveries),
            ("GET", r"/sales/v2/deliveries/retailer/inactive", self._get_inactive_retailer_deliveries),
            ("GET", r"/sales/v2/deliveries/retailer/(?P<delivery_id>\d+)", self._get_retailer_delivery),
            ("DELETE", r"/sales/v2/deliveries/retailer/(?P<delivery_id>\d+)", self._delete_retailer_delivery),
            ("POST", r"/sales/v2/deliveries/retailer", self._post_retailer),
            ("POST", r"/sales/v2/deliveries/retailer/depart", self._post_retailer_depart),
            ("POST", r"/sales/v2/deliveries/retailer/sale", self._post_retailer_sale),
            ("POST", r"/sales/v2/deliveries/retailer/restock", self._post_retailer_restock),
            ("POST", r"/sales/v2/deliveries/retailer/end", self._post_retailer_end),
            ("GET", r"/transfers/v2/incoming", self._get_incoming_transfers),
            ("GET", r"/transfers/v2/(?P<transfer_id>\d+)/deliveries", self._get_transfer_deliveries),
            ("GET", r"/transfers/v2/deliveries/(?P<delivery_id>\d+)/packages", self._get_transfer_packages),
            ("GET", r"/caregivers/v2/status/(?P<caregiver_license>[^/]+)", self._get_caregiver_status),
            ("GET", r"/patients/v2/statuses/(?P<patient_license>[^/]+)", self._get_patient_status),
            ("GET", r"/packages/v2/(?P<label>[^/]+)", self._get_package),
        ]
        return [(method, re.compile(f"^{pattern}/?$"), handler) for method, pattern, handler in routes]

    # ------------------------------------------------------------------ lists

    def _page(self, query: dict[str, str], records: list[dict]) -> SimulatorResponse:
        start, end = query.get("lastModifiedStart"), query.get("lastModifiedEnd")
        if start or end:
            try:
                low = _parse_utc(start) if start else None
                high = _parse_utc(end) if end else None
            except ValueError:
                return SimulatorResponse(
                    400, {"Message": "lastModifiedStart/End must be yyyy-mm-ddThh:mm:ssZ."}
                )
            records = [
                record
                for record in records
                if (low is None or _parse_utc(record["LastModified"]) >= low)
                and (high is None or _parse_utc(record["LastModified"]) <= high)
            ]
        total = len(records)
        if "pageNumber" not in query and "pageSize" not in query:
            page, size, data = 1, max(total, 1), records
        else:
            try:
                page = int(query.get("pageNumber", "1"))
                size = int(query.get("pageSize", str(PAGE_SIZE)))
            except ValueError:
                return SimulatorResponse(400, {"Message": "pageNumber and pageSize must be integers."})
            if page < 1 or not 1 <= size <= PAGE_SIZE:
                return SimulatorResponse(
                    400, {"Message": f"pageNumber starts at 1; pageSize may not exceed {PAGE_SIZE}."}
                )
            data = records[(page - 1) * size : page * size]
        return SimulatorResponse(
            200,
            {
                "Data": data,
                "Total": total,
                "TotalRecords": total,
                "PageSize": size,
                "RecordsOnPage": len(data),
                "Page": page,
                "CurrentPage": page,
                "TotalPages": max(1, math.ceil(total / size)) if size else 1,
            },
        )

    def _get_active_packages(self, facility: Facility, query: dict) -> SimulatorResponse:
        return self._page(query, [p.as_json() for p in facility.packages.values() if not p.finished])

    def _get_on_hold_packages(self, facility: Facility, query: dict) -> SimulatorResponse:
        records = [p.as_json() for p in facility.packages.values() if p.on_hold and not p.finished]
        return self._page(query, records)

    def _get_inactive_packages(self, facility: Facility, query: dict) -> SimulatorResponse:
        return self._page(query, [p.as_json() for p in facility.packages.values() if p.finished])

    def _get_package(self, facility: Facility, query: dict, label: str) -> SimulatorResponse:
        package = self._find_package(facility, label)
        if package is None:
            return SimulatorResponse(404, {"Message": f"Package {label} was not found."})
        return SimulatorResponse(200, package.as_json())

    def _get_adjust_reasons(self, facility: Facility, query: dict) -> SimulatorResponse:
        query = {k: v for k, v in query.items() if not k.startswith("lastModified")}  # the route takes none
        return self._page(query, list(facility.adjustment_reasons))

    def _receipt_records(self, facility: Facility, *, active: bool) -> list[dict]:
        return [r for r in facility.receipts.values() if (not r["IsArchived"]) == active]

    def _receipt_list(self, facility: Facility, query: dict, *, active: bool) -> SimulatorResponse:
        records = self._receipt_records(facility, active=active)
        start, end = query.get("salesDateStart"), query.get("salesDateEnd")
        if start or end:
            if query.get("lastModifiedStart") or query.get("lastModifiedEnd"):
                return SimulatorResponse(
                    400, {"Message": "Sales dates and last modified dates cannot be combined."}
                )
            try:  # compared with the facility-local SalesDateTime, as the dates' wall-clock readings
                low = _parse_utc(start).replace(tzinfo=None) if start else None
                high = _parse_utc(end).replace(tzinfo=None) if end else None
            except ValueError:
                return SimulatorResponse(400, {"Message": "salesDateStart/End must be yyyy-mm-ddThh:mm:ssZ."})
            records = [
                record
                for record in records
                if (low is None or dt.datetime.fromisoformat(record["SalesDateTime"][:19]) >= low)
                and (high is None or dt.datetime.fromisoformat(record["SalesDateTime"][:19]) <= high)
            ]
        return self._page(query, records)

    def _get_active_receipts(self, facility: Facility, query: dict) -> SimulatorResponse:
        return self._receipt_list(facility, query, active=True)

    def _get_inactive_receipts(self, facility: Facility, query: dict) -> SimulatorResponse:
        return self._receipt_list(facility, query, active=False)

    def _get_receipt(self, facility: Facility, query: dict, receipt_id: str) -> SimulatorResponse:
        receipt = facility.receipts.get(int(receipt_id))
        if receipt is None:
            return SimulatorResponse(404, {"Message": f"Receipt {receipt_id} was not found."})
        return SimulatorResponse(200, receipt)

    def _get_receipt_external(
        self, facility: Facility, query: dict, external_number: str
    ) -> SimulatorResponse:
        number = urllib.parse.unquote(external_number)
        for receipt in facility.receipts.values():
            if receipt.get("ExternalReceiptNumber") == number:
                return SimulatorResponse(200, receipt)
        return SimulatorResponse(404, {"Message": f"Receipt with external number {number} was not found."})

    def _get_active_deliveries(self, facility: Facility, query: dict) -> SimulatorResponse:
        records = [
            _public(d) for d in facility.deliveries.values() if not d["Completed"] and not d["VoidedDate"]
        ]
        return self._page(query, records)

    def _get_inactive_deliveries(self, facility: Facility, query: dict) -> SimulatorResponse:
        records = [_public(d) for d in facility.deliveries.values() if d["Completed"] or d["VoidedDate"]]
        return self._page(query, records)

    def _get_delivery(self, facility: Facility, query: dict, delivery_id: str) -> SimulatorResponse:
        delivery = facility.deliveries.get(int(delivery_id))
        if delivery is None:
            return SimulatorResponse(404, {"Message": f"Delivery {delivery_id} was not found."})
        return SimulatorResponse(200, _public(delivery))

    def _get_return_reasons(self, facility: Facility, query: dict) -> SimulatorResponse:
        return self._page(query, [dict(reason) for reason in DELIVERY_RETURN_REASONS])

    def _get_active_retailer_deliveries(self, facility: Facility, query: dict) -> SimulatorResponse:
        records = [
            _retailer_json(d)
            for d in facility.retailer_deliveries.values()
            if d["State"] in ("Created", "Departed")
        ]
        return self._page(query, records)

    def _get_inactive_retailer_deliveries(self, facility: Facility, query: dict) -> SimulatorResponse:
        records = [
            _retailer_json(d)
            for d in facility.retailer_deliveries.values()
            if d["State"] in ("Ended", "Voided")
        ]
        return self._page(query, records)

    def _get_retailer_delivery(self, facility: Facility, query: dict, delivery_id: str) -> SimulatorResponse:
        delivery = facility.retailer_deliveries.get(int(delivery_id))
        if delivery is None:
            return SimulatorResponse(404, {"Message": f"Retailer delivery {delivery_id} was not found."})
        return SimulatorResponse(200, _retailer_json(delivery))

    def _get_incoming_transfers(self, facility: Facility, query: dict) -> SimulatorResponse:
        records = [{k: v for k, v in t.items() if k != "packages"} for t in facility.transfers]
        return self._page(query, records)

    def _get_transfer_deliveries(
        self, facility: Facility, query: dict, transfer_id: str
    ) -> SimulatorResponse:
        for transfer in facility.transfers:
            if transfer["Id"] == int(transfer_id):
                delivery = {
                    "Id": transfer["DeliveryId"],
                    "RecipientFacilityLicenseNumber": transfer["RecipientFacilityLicenseNumber"],
                    "RecipientFacilityName": facility.name,
                    "ShipmentTypeName": "Transfer",
                    "DeliveryPackageCount": transfer["PackageCount"],
                    "DeliveryReceivedPackageCount": 0,
                }
                return self._page(query, [delivery])
        return SimulatorResponse(404, {"Message": f"Transfer {transfer_id} was not found."})

    def _get_caregiver_status(
        self, facility: Facility, query: dict, caregiver_license: str
    ) -> SimulatorResponse:
        if facility.state not in CAREGIVER_STATUS_STATES:
            return SimulatorResponse(404, {"Message": "This state offers no caregiver status lookup."})
        number = urllib.parse.unquote(caregiver_license)
        return SimulatorResponse(
            200, {"CaregiverLicenseNumber": number, "Active": facility.caregivers.get(number, False)}
        )

    def _get_transfer_packages(self, facility: Facility, query: dict, delivery_id: str) -> SimulatorResponse:
        for transfer in facility.transfers:
            if transfer["DeliveryId"] == int(delivery_id):
                return self._page(query, list(transfer["packages"]))
        return SimulatorResponse(404, {"Message": f"Delivery {delivery_id} was not found."})

    def _get_patient_status(self, facility: Facility, query: dict, patient_license: str) -> SimulatorResponse:
        if facility.state not in PATIENT_STATUS_STATES:
            return SimulatorResponse(404, {"Message": "This state offers no patient status lookup."})
        status = facility.patients.get(patient_license)
        if status is None:
            return SimulatorResponse(200, [])
        return SimulatorResponse(200, [status])

    # ------------------------------------------------------------------ package checks

    def _find_package(self, facility: Facility, label: str) -> SimulatedPackage | None:
        package = facility.packages.get(label)
        if package is None and self.package_source is not None:
            found = self.package_source(facility.license_number, label)
            if found:
                package = self.seed_package(facility.license_number, label, **found)
        return package

    def _sellable(
        self,
        row: _Row,
        facility: Facility,
        label: Any,
        unit: Any,
        *,
        retailer_delivery_id: int | None = None,
    ) -> SimulatedPackage | None:
        """The package a line sells from, or None with a row error saying why it cannot."""
        if not isinstance(label, str):
            return None
        package = self._find_package(facility, label)
        if package is None:
            row.error(f"Package {label} was not found at facility {facility.license_number}.")
            return None
        if package.finished:
            row.error(f"Package {label} is finished.")
        elif package.on_hold:
            row.error(f"Package {label} is on hold.")
        elif package.lab_testing_state not in SELLABLE_LAB_STATES:
            row.error(f"Package {label} has not passed lab testing ({package.lab_testing_state}).")
        elif retailer_delivery_id is None and package.retailer_delivery_id is not None:
            row.error(f"Package {label} is on retailer delivery {package.retailer_delivery_id}.")
        elif retailer_delivery_id is not None and package.retailer_delivery_id != retailer_delivery_id:
            row.error(f"Package {label} is not on retailer delivery {retailer_delivery_id}.")
        elif isinstance(unit, str) and unit.lower() != package.unit.lower():
            row.error(f"Package {label} is counted in {package.unit}, not {unit}.")
        else:
            return package
        return None

    def _transactions(
        self,
        row: _Row,
        facility: Facility,
        working: dict[str, Decimal],
        *,
        retailer_delivery_id: int | None = None,
    ) -> list[dict]:
        """Validate a receipt's or delivery's Transactions against the working quantities, and take them."""
        lines = []
        for line in row.array("Transactions"):
            if not isinstance(line, dict):
                row.error("each transaction must be an object")
                continue
            label = row.required("PackageLabel", line)
            quantity = row.number("Quantity", line)
            unit = row.required("UnitOfMeasure", line)
            total = row.number("TotalAmount", line)
            if quantity is not None and quantity <= 0:
                row.error(f"Quantity for package {label} must be greater than zero.")
                quantity = None
            if total is not None and total < 0:
                row.error(f"TotalAmount for package {label} may not be negative.")
            package = self._sellable(row, facility, label, unit, retailer_delivery_id=retailer_delivery_id)
            if package is None or quantity is None:
                continue
            available = working.setdefault(package.label, package.quantity)
            if quantity > available:
                row.error(
                    f"Package {package.label} has {_plain(available)} {package.unit} available; {_plain(quantity)} cannot be sold."
                )
                continue
            working[package.label] = available - quantity
            lines.append(
                {
                    "PackageLabel": package.label,
                    "Quantity": float(quantity),
                    "UnitOfMeasure": package.unit,
                    "TotalAmount": float(total or 0),
                }
            )
        return lines

    def _commit_quantities(self, facility: Facility, working: dict[str, Decimal]) -> None:
        now = _now()
        for label, quantity in working.items():
            package = facility.packages[label]
            if package.quantity != quantity:
                package.quantity = quantity
                package.last_modified = now

    @staticmethod
    def _sale_header(row: _Row, facility: Facility) -> None:
        row.local_datetime("SalesDateTime")
        customer_type = row.required("SalesCustomerType")
        if customer_type is not None and customer_type not in facility.customer_types:
            row.error(f"SalesCustomerType must be one of {', '.join(facility.customer_types)}.")
        if customer_type in ("Patient", "Caregiver", "ExternalPatient") and not row.obj.get(
            "patientlicensenumber"
        ):
            row.error("PatientLicenseNumber is required for a patient or caregiver sale.")
        if customer_type == "Caregiver" and not row.obj.get("caregiverlicensenumber"):
            row.error("CaregiverLicenseNumber is required for a Caregiver sale.")
        if customer_type == "ExternalPatient":
            location = row.obj.get("patientregistrationlocationid")
            known = {location["Id"] for location in PATIENT_REGISTRATION_LOCATIONS}
            if isinstance(location, bool) or not isinstance(location, int) or location not in known:
                row.error(
                    "PatientRegistrationLocationId must be one of GET /sales/v2/patientregistration/locations."
                )

    # ------------------------------------------------------------------ receipts

    def _receipt_record(self, receipt_id: int, row: _Row, lines: list[dict]) -> dict:
        obj = row.obj
        return {
            "Id": receipt_id,
            "ReceiptNumber": str(receipt_id),
            "SalesDateTime": obj.get("salesdatetime"),
            "SalesCustomerType": obj.get("salescustomertype"),
            "PatientLicenseNumber": obj.get("patientlicensenumber"),
            "CaregiverLicenseNumber": obj.get("caregiverlicensenumber"),
            "PatientRegistrationLocationId": obj.get("patientregistrationlocationid"),
            "ExternalReceiptNumber": obj.get("externalreceiptnumber"),
            "TotalPackages": len(lines),
            "TotalPrice": float(sum(Decimal(str(line["TotalAmount"])) for line in lines)),
            # As Metrc answers a receipt's lines (QuantitySold, UnitOfMeasureName), beside the request's names.
            "Transactions": [
                {**line, "QuantitySold": line["Quantity"], "UnitOfMeasureName": line["UnitOfMeasure"]}
                for line in lines
            ],
            "IsFinal": False,
            "IsArchived": False,
            "ArchivedDate": None,
            "LastModified": _timestamp(_now()),
        }

    def _post_receipts(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        working: dict[str, Decimal] = {}
        accepted = []
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            self._sale_header(row, facility)
            accepted.append((row, self._transactions(row, facility, working)))
        if errors:
            raise _RowErrors(errors)
        self._commit_quantities(facility, working)
        ids = []
        for row, lines in accepted:
            receipt_id = self._next_id()
            facility.receipts[receipt_id] = self._receipt_record(receipt_id, row, lines)
            ids.append(receipt_id)
        return SimulatorResponse(200, {"Ids": ids, "Warnings": None})

    def _put_receipts(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        working: dict[str, Decimal] = {}
        accepted = []
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            receipt_id = row.integer("Id")
            receipt = facility.receipts.get(receipt_id) if receipt_id is not None else None
            if receipt_id is not None and receipt is None:
                row.error(f"Receipt {receipt_id} was not found.")
            elif receipt is not None and receipt["IsArchived"]:
                row.error(f"Receipt {receipt_id} is voided.")
            elif receipt is not None:
                for line in receipt["Transactions"]:  # the update replaces the receipt's lines
                    package = facility.packages[line["PackageLabel"]]
                    if package.finished:
                        row.error(
                            f"Package {package.label} is finished; unfinish it before changing receipt {receipt_id}."
                        )
                    working[package.label] = working.get(package.label, package.quantity) + Decimal(
                        str(line["Quantity"])
                    )
            self._sale_header(row, facility)
            accepted.append((row, receipt_id, self._transactions(row, facility, working)))
        if errors:
            raise _RowErrors(errors)
        self._commit_quantities(facility, working)
        for row, receipt_id, lines in accepted:
            facility.receipts[receipt_id] = self._receipt_record(receipt_id, row, lines)
        return SimulatorResponse(
            200, {"Ids": [receipt_id for _, receipt_id, _ in accepted], "Warnings": None}
        )

    def _delete_receipt(self, facility: Facility, body: Any, receipt_id: str) -> SimulatorResponse:
        receipt = facility.receipts.get(int(receipt_id))
        if receipt is None:
            raise _RowErrors([{"row": 0, "message": f"Receipt {receipt_id} was not found."}])
        if receipt["IsArchived"]:
            raise _RowErrors([{"row": 0, "message": f"Receipt {receipt_id} is already voided."}])
        working = {}
        for line in receipt["Transactions"]:
            package = facility.packages[line["PackageLabel"]]
            if package.finished:
                raise _RowErrors(
                    [
                        {
                            "row": 0,
                            "message": f"Package {package.label} is finished; unfinish it before voiding receipt {receipt_id}.",
                        }
                    ]
                )
            working[package.label] = working.get(package.label, package.quantity) + Decimal(
                str(line["Quantity"])
            )
        self._commit_quantities(facility, working)
        receipt["IsArchived"] = True
        receipt["ArchivedDate"] = _timestamp(_now())
        receipt["LastModified"] = receipt["ArchivedDate"]
        return SimulatorResponse(200, None)

    # ------------------------------------------------------------------ adjustments

    def _post_adjust(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        working: dict[str, Decimal] = {}
        reasons = {reason["Name"]: reason for reason in facility.adjustment_reasons}
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            label = row.required("Label")
            quantity = row.number("Quantity")
            unit = row.required("UnitOfMeasure")
            reason = row.required("AdjustmentReason")
            row.date("AdjustmentDate")
            if reason is not None and reason not in reasons:
                row.error(f"AdjustmentReason {reason} is not one of {', '.join(reasons)}.")
            elif reason is not None and reasons[reason]["RequiresNote"] and not row.obj.get("reasonnote"):
                row.error(f"AdjustmentReason {reason} requires a ReasonNote.")
            if quantity is not None and quantity == 0:
                row.error("Quantity may not be zero.")
            if not isinstance(label, str):
                continue
            package = self._find_package(facility, label)
            if package is None:
                row.error(f"Package {label} was not found at facility {facility.license_number}.")
                continue
            if package.finished:
                row.error(f"Package {label} is finished.")
                continue
            if isinstance(unit, str) and unit.lower() != package.unit.lower():
                row.error(f"Package {label} is counted in {package.unit}, not {unit}.")
                continue
            if quantity is None:
                continue
            result = working.get(label, package.quantity) + quantity
            if result < 0:
                row.error(f"Package {label} would fall below zero ({_plain(result)} {package.unit}).")
                continue
            working[label] = result
        if errors:
            raise _RowErrors(errors)
        self._commit_quantities(facility, working)
        return SimulatorResponse(200, {"Ids": [], "Warnings": None})

    def _finish_rows(self, facility: Facility, body: list, *, finish: bool) -> list[SimulatedPackage]:
        errors: list[dict] = []
        packages: list[SimulatedPackage] = []
        seen: set[str] = set()
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            label = row.required("Label")
            if finish:
                row.date("ActualDate")
            if not isinstance(label, str):
                continue
            package = self._find_package(facility, label)
            if package is None:
                row.error(f"Package {label} was not found at facility {facility.license_number}.")
            elif label in seen:
                row.error(f"Package {label} appears twice.")
            elif finish and package.finished:
                row.error(f"Package {label} is already finished.")
            elif finish and package.quantity != 0:
                row.error(
                    f"Package {label} holds {_plain(package.quantity)} {package.unit}; only an empty package can be finished."
                )
            elif finish and package.retailer_delivery_id is not None:
                row.error(f"Package {label} is on retailer delivery {package.retailer_delivery_id}.")
            elif not finish and not package.finished:
                row.error(f"Package {label} is not finished.")
            else:
                packages.append(package)
            seen.add(label)
        if errors:
            raise _RowErrors(errors)
        return packages

    def _put_finish(self, facility: Facility, body: list) -> SimulatorResponse:
        for package in self._finish_rows(facility, body, finish=True):
            package.finished = True
            package.last_modified = _now()
        return SimulatorResponse(200, None)

    def _put_unfinish(self, facility: Facility, body: list) -> SimulatorResponse:
        for package in self._finish_rows(facility, body, finish=False):
            package.finished = False
            package.last_modified = _now()
        return SimulatorResponse(200, None)

    # ------------------------------------------------------------------ sales deliveries

    @staticmethod
    def _delivery_header(row: _Row, *, vehicle: bool = True) -> None:
        """What Metrc requires of a delivery to a customer: the recipient's address, the driver and vehicle,
        the planned route and the estimated times."""
        for name in ("RecipientName", "RecipientAddressStreet1", "RecipientAddressCity",
                     "RecipientAddressState", "RecipientAddressPostalCode"):  # fmt: skip
            row.required(name)
        if vehicle:
            for name in ("PhoneNumberForQuestions", "DriverEmployeeId", "DriverName", "DriversLicenseNumber", "VehicleMake", "VehicleModel",
                         "VehicleLicensePlateNumber", "PlannedRoute"):  # fmt: skip
                row.required(name)
        departure = row.local_datetime("EstimatedDepartureDateTime", required=vehicle)
        arrival = row.local_datetime("EstimatedArrivalDateTime", required=vehicle)
        if departure and arrival and arrival[:19] < departure[:19]:
            row.error("EstimatedArrivalDateTime may not be before EstimatedDepartureDateTime.")

    def _delivery_record(self, delivery_id: int, facility: Facility, obj: dict, lines: list[dict]) -> dict:
        """A sales delivery as GET /sales/v2/deliveries/{id} answers it (the document's SaleDelivery)."""
        fields = ("SalesDateTime", "SalesCustomerType", "PatientLicenseNumber", "ConsumerId", "DriverEmployeeId",
                  "DriverName", "DriversLicenseNumber", "VehicleMake", "VehicleModel", "VehicleLicensePlateNumber",
                  "RecipientName", "PlannedRoute", "EstimatedDepartureDateTime", "EstimatedArrivalDateTime",
                  "TransporterFacilityLicenseNumber")  # fmt: skip
        return {
            "Id": delivery_id,
            "DeliveryNumber": str(delivery_id),
            "FacilityLicenseNumber": facility.license_number,
            "FacilityName": facility.name,
            **{name: obj.get(name.lower()) for name in fields},
            "ActualDepartureDateTime": None,
            "ActualArrivalDateTime": None,
            "TotalPackages": len(lines),
            "TotalPrice": float(sum(Decimal(str(line["TotalAmount"])) for line in lines)),
            "Transactions": [_sold_line(line) for line in lines],
            "CompletedDateTime": None,
            "SalesDeliveryState": "InTransit",
            "VoidedDate": None,
            "RecordedDateTime": _timestamp(_now()),
            "LastModified": _timestamp(_now()),
            "Completed": False,
            "_Lines": lines,
        }

    def _post_deliveries(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        working: dict[str, Decimal] = {}
        accepted = []
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            self._sale_header(row, facility)
            self._delivery_header(row)
            accepted.append((row, self._transactions(row, facility, working)))
        if errors:
            raise _RowErrors(errors)
        self._commit_quantities(facility, working)
        ids = []
        for row, lines in accepted:
            delivery_id = self._next_id()
            facility.deliveries[delivery_id] = self._delivery_record(delivery_id, facility, row.obj, lines)
            ids.append(delivery_id)
        return SimulatorResponse(200, {"Ids": ids, "Warnings": None})

    def _put_deliveries_complete(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        working: dict[str, Decimal] = {}
        accepted = []
        reasons = {reason["Name"]: reason for reason in DELIVERY_RETURN_REASONS}
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            delivery_id = row.integer("Id")
            arrived = row.local_datetime("ActualArrivalDateTime")
            delivery = facility.deliveries.get(delivery_id) if delivery_id is not None else None
            if delivery_id is not None and delivery is None:
                row.error(f"Delivery {delivery_id} was not found.")
                continue
            if delivery is None:
                continue
            if delivery["VoidedDate"]:
                row.error(f"Delivery {delivery_id} is voided.")
                continue
            if delivery["Completed"]:
                row.error(f"Delivery {delivery_id} is already completed.")
                continue
            delivered = {line["PackageLabel"]: Decimal(str(line["Quantity"])) for line in delivery["_Lines"]}
            accounted = set()
            for label in row.array("AcceptedPackages", required=False):
                if label not in delivered:
                    row.error(f"Package {label} is not on delivery {delivery_id}.")
                accounted.add(label)
            for returned in row.array("ReturnedPackages", required=False):
                returned = returned if isinstance(returned, dict) else {}
                label = row.required("Label", returned)
                quantity = row.number("ReturnQuantityVerified", returned)
                unit = row.required("ReturnUnitOfMeasure", returned)
                reason = row.required("ReturnReason", returned)
                accounted.add(label)
                if reason is not None and reason not in reasons:
                    row.error(f"ReturnReason {reason} is not one of {', '.join(reasons)}.")
                elif (
                    reason is not None
                    and reasons[reason]["RequiresNote"]
                    and not returned.get("returnreasonnote")
                ):
                    row.error(f"ReturnReason {reason} requires a ReturnReasonNote.")
                if label not in delivered:
                    row.error(f"Package {label} is not on delivery {delivery_id}.")
                    continue
                package = facility.packages[label]
                if isinstance(unit, str) and unit.lower() != package.unit.lower():
                    row.error(f"Package {label} is counted in {package.unit}, not {unit}.")
                elif quantity is not None and not 0 < quantity <= delivered[label]:
                    row.error(
                        f"Package {label}: {_plain(quantity)} returned, {_plain(delivered[label])} delivered."
                    )
                elif quantity is not None:
                    working[label] = working.get(label, package.quantity) + quantity
            missing = sorted(set(delivered) - accounted)
            if missing:
                row.error(f"Packages {', '.join(missing)} must be accepted or returned.")
            accepted.append((delivery, arrived))
        if errors:
            raise _RowErrors(errors)
        self._commit_quantities(facility, working)
        for delivery, arrived in accepted:
            delivery["Completed"] = True
            delivery["ActualArrivalDateTime"] = arrived
            delivery["CompletedDateTime"] = _timestamp(_now())
            delivery["SalesDeliveryState"] = "Delivered"
            delivery["LastModified"] = _timestamp(_now())
        return SimulatorResponse(200, {"Ids": [d["Id"] for d, _ in accepted], "Warnings": None})

    def _delete_delivery(self, facility: Facility, body: Any, delivery_id: str) -> SimulatorResponse:
        delivery = facility.deliveries.get(int(delivery_id))
        if delivery is None:
            return SimulatorResponse(404, {"Message": f"Delivery {delivery_id} was not found."})
        if delivery["VoidedDate"]:
            raise _RowErrors([{"row": 0, "message": f"Delivery {delivery_id} is already voided."}])
        if delivery["Completed"]:
            raise _RowErrors(
                [{"row": 0, "message": f"Delivery {delivery_id} is completed and cannot be voided."}]
            )
        now = _now()
        for line in delivery["_Lines"]:  # the packages are back at the facility
            package = facility.packages[line["PackageLabel"]]
            package.quantity += Decimal(str(line["Quantity"]))
            package.last_modified = now
        delivery["VoidedDate"] = _timestamp(now)
        delivery["SalesDeliveryState"] = "Voided"
        delivery["LastModified"] = _timestamp(now)
        return SimulatorResponse(200, None)

    # ------------------------------------------------------------------ retailer deliveries (California)

    def _load(
        self, row: _Row, facility: Facility, delivery_id: int | None, taken: dict[str, Decimal]
    ) -> dict:
        """The Packages of a retailer delivery create or restock: {label: quantity} to load."""
        load: dict[str, Decimal] = {}
        for item in row.array("Packages"):
            item = item if isinstance(item, dict) else {}
            label = row.required("PackageLabel", item)
            quantity = row.number("Quantity", item)
            unit = row.required("UnitOfMeasure", item)
            row.number("TotalPrice", item, required=False)
            if not isinstance(label, str):
                continue
            if label in load:
                row.error(f"Package {label} is listed twice.")
                continue
            package = self._find_package(facility, label)
            on_this_vehicle = (
                package is not None
                and delivery_id is not None
                and package.retailer_delivery_id == delivery_id
            )
            if on_this_vehicle:  # a package restocked onto its own vehicle needs no second check
                if isinstance(unit, str) and unit.lower() != package.unit.lower():
                    row.error(f"Package {label} is counted in {package.unit}, not {unit}.")
                    continue
            else:
                package = self._sellable(row, facility, label, unit)
            if package is None or quantity is None:
                continue
            if quantity <= 0:
                row.error(f"Quantity for package {label} must be greater than zero.")
                continue
            if quantity + taken.get(label, Decimal(0)) > package.quantity:
                row.error(
                    f"Package {label} has {_plain(package.quantity)} {package.unit}; {_plain(quantity)} cannot be loaded."
                )
                continue
            taken[label] = taken.get(label, Decimal(0)) + quantity
            load[label] = quantity
        return load

    def _destinations(
        self, row: _Row, facility: Facility, load: dict[str, Decimal], working: dict[str, Decimal]
    ) -> list[tuple[dict, list[dict]]]:
        """A retailer delivery's Destinations (orders already processed): each a sale from what it carries."""
        left = dict(load)
        sold = []
        for destination in row.array("Destinations", required=False):
            if not isinstance(destination, dict):
                row.error("each destination must be an object")
                continue
            # A destination's sale time is the delivery's DateTime.
            destination = {
                **destination,
                "salesdatetime": destination.get("salesdatetime") or row.obj.get("datetime"),
            }
            sub = _Row(row.index, destination, row.errors)
            self._sale_header(sub, facility)
            self._delivery_header(sub, vehicle=False)
            lines = []
            for line in sub.array("Transactions"):
                line = line if isinstance(line, dict) else {}
                label = sub.required("PackageLabel", line)
                quantity = sub.number("Quantity", line)
                unit = sub.required("UnitOfMeasure", line)
                total = sub.number("TotalAmount", line)
                if label not in left:
                    sub.error(f"Package {label} is not on this retailer delivery.")
                    continue
                package = facility.packages[label]
                if isinstance(unit, str) and unit.lower() != package.unit.lower():
                    sub.error(f"Package {label} is counted in {package.unit}, not {unit}.")
                    continue
                if quantity is None or quantity <= 0:
                    sub.error(f"Quantity for package {label} must be greater than zero.")
                    continue
                if quantity > left[label]:
                    sub.error(f"Package {label} has {_plain(left[label])} left on the vehicle.")
                    continue
                left[label] -= quantity
                working[label] = working.get(label, package.quantity) - quantity
                lines.append({"PackageLabel": label, "Quantity": float(quantity), "UnitOfMeasure": package.unit,
                              "TotalAmount": float(total or 0)})  # fmt: skip
            sold.append((destination, lines))
        return sold

    def _record_sale(self, facility: Facility, delivery: dict, obj: dict, lines: list[dict]) -> int:
        """A sale from the vehicle: taken from what it carries, kept as a destination of the delivery."""
        for line in lines:
            label = line["PackageLabel"]
            quantity = Decimal(str(line["Quantity"]))
            delivery["Loaded"][label] = str(Decimal(delivery["Loaded"][label]) - quantity)
            delivery["Sold"][label] = str(Decimal(delivery["Sold"].get(label, "0")) + quantity)
        sale_id = self._next_id()
        fields = ("SalesDateTime", "SalesCustomerType", "PatientLicenseNumber", "ConsumerId", "RecipientName",
                  "RecipientAddressStreet1", "RecipientAddressStreet2", "RecipientAddressCity",
                  "RecipientAddressCounty", "RecipientAddressState", "RecipientAddressPostalCode",
                  "PhoneNumberForQuestions", "PlannedRoute", "EstimatedDepartureDateTime",
                  "EstimatedArrivalDateTime")  # fmt: skip
        delivery["Destinations"].append(
            {
                "Id": sale_id,
                **{name: obj.get(name.lower()) for name in fields},
                "Transactions": [_sold_line(line) for line in lines],
            }  # fmt: skip
        )
        delivery["LastModified"] = _timestamp(_now())
        return sale_id

    def _post_retailer(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        taken: dict[str, Decimal] = {}
        working: dict[str, Decimal] = {}
        accepted = []
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            row.local_datetime("DateTime")
            row.local_datetime("EstimatedDepartureDateTime", required=False)
            for name in ("DriverEmployeeId", "DriverName", "DriversLicenseNumber", "VehicleMake", "VehicleModel",
                         "VehicleLicensePlateNumber"):  # fmt: skip
                row.required(name)
            load = self._load(row, facility, None, taken)
            accepted.append((row, load, self._destinations(row, facility, load, working)))
        if errors:
            raise _RowErrors(errors)
        self._commit_quantities(facility, working)
        ids = []
        for row, load, destinations in accepted:
            delivery_id = self._next_id()
            fields = ("DateTime", "DriverEmployeeId", "DriverName", "DriversLicenseNumber", "PhoneNumberForQuestions",
                      "VehicleMake", "VehicleModel", "VehicleLicensePlateNumber", "EstimatedDepartureDateTime")  # fmt: skip
            delivery = {
                "Id": delivery_id,
                **{name: row.obj.get(name.lower()) for name in fields},
                "State": "Created",
                "Carried": {label: str(q) for label, q in load.items()},
                "Loaded": {label: str(q) for label, q in load.items()},
                "Sold": {},
                "Prices": {
                    item.get("packagelabel"): item.get("totalprice")
                    for item in row.obj.get("packages") or []
                    if isinstance(item, dict)
                },
                "Units": {label: facility.packages[label].unit for label in load},
                "Destinations": [],
                "ActualDepartureDateTime": None,
                "RestockDateTime": None,
                "CompletedDateTime": None,
                "VoidedDate": None,
                "Sales": [],
                "LastModified": _timestamp(_now()),
            }
            facility.retailer_deliveries[delivery_id] = delivery
            for label in load:
                facility.packages[label].retailer_delivery_id = delivery_id
            for destination, lines in destinations:
                self._record_sale(facility, delivery, destination, lines)
            ids.append(delivery_id)
        return SimulatorResponse(200, {"Ids": ids, "Warnings": None})

    def _retailer_delivery_row(
        self, row: _Row, facility: Facility, *, states: tuple[str, ...]
    ) -> dict | None:
        delivery_id = row.integer("RetailerDeliveryId")
        if delivery_id is None:
            return None
        delivery = facility.retailer_deliveries.get(delivery_id)
        if delivery is None:
            row.error(f"Retailer delivery {delivery_id} was not found.")
            return None
        if delivery["State"] not in states:
            row.error(f"Retailer delivery {delivery_id} is {delivery['State']}.")
            return None
        return delivery

    def _post_retailer_depart(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        accepted = []
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            delivery = self._retailer_delivery_row(row, facility, states=("Created",))
            if delivery is not None and delivery in accepted:
                row.error(f"Retailer delivery {delivery['Id']} is listed twice.")
            elif delivery is not None:
                accepted.append(delivery)
        if errors:
            raise _RowErrors(errors)
        for delivery in accepted:
            delivery["State"] = "Departed"
            delivery["ActualDepartureDateTime"] = _timestamp(_now())
            delivery["LastModified"] = _timestamp(_now())
        return SimulatorResponse(200, {"Ids": [d["Id"] for d in accepted], "Warnings": None})

    def _post_retailer_sale(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        working: dict[str, Decimal] = {}
        loaded_left: dict[tuple[int, str], Decimal] = {}
        accepted = []
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            delivery = self._retailer_delivery_row(row, facility, states=("Created", "Departed"))
            self._sale_header(row, facility)
            self._delivery_header(row, vehicle=False)
            if delivery is None:
                continue
            before = len(errors)
            lines = self._transactions(row, facility, working, retailer_delivery_id=delivery["Id"])
            for line in lines:
                key = (delivery["Id"], line["PackageLabel"])
                left = loaded_left.setdefault(key, Decimal(delivery["Loaded"].get(line["PackageLabel"], "0")))
                if Decimal(str(line["Quantity"])) > left:
                    row.error(f"Package {line['PackageLabel']} has {_plain(left)} left on the vehicle.")
                loaded_left[key] = left - Decimal(str(line["Quantity"]))
            if len(errors) == before:
                accepted.append((row, delivery, lines))
        if errors:
            raise _RowErrors(errors)
        self._commit_quantities(facility, working)
        ids = []
        for row, delivery, lines in accepted:
            ids.append(self._record_sale(facility, delivery, row.obj, lines))
        return SimulatorResponse(200, {"Ids": ids, "Warnings": None})

    def _post_retailer_restock(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        taken: dict[str, Decimal] = {}
        accepted = []
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            delivery = self._retailer_delivery_row(row, facility, states=("Created", "Departed"))
            restocked_at = row.local_datetime("DateTime")
            if delivery is None:
                continue
            replace = {
                item.get("packagelabel")
                for item in row.array("Packages", required=False)
                if isinstance(item, dict) and item.get("removecurrentpackage") is True
            }
            for label, quantity in delivery["Loaded"].items():
                if label not in replace:
                    taken[label] = taken.get(label, Decimal(0)) + Decimal(quantity)
            accepted.append(
                (delivery, replace, self._load(row, facility, delivery["Id"], taken), restocked_at, row)
            )
        if errors:
            raise _RowErrors(errors)
        for delivery, replace, load, restocked_at, row in accepted:
            for label, quantity in load.items():
                left = Decimal(delivery["Loaded"].get(label, "0"))
                carried = Decimal(delivery["Carried"].get(label, "0"))
                if label in replace:  # what was left of it is off the vehicle: carried no more
                    carried -= left
                    left = Decimal(0)
                delivery["Loaded"][label] = str(left + quantity)
                delivery["Carried"][label] = str(carried + quantity)
                delivery["Units"][label] = facility.packages[label].unit
                facility.packages[label].retailer_delivery_id = delivery["Id"]
            for item in row.obj.get("packages") or []:
                if isinstance(item, dict) and item.get("packagelabel") in load:
                    delivery["Prices"][item["packagelabel"]] = item.get("totalprice")
            delivery["RestockDateTime"] = restocked_at
            delivery["LastModified"] = _timestamp(_now())
        return SimulatorResponse(200, {"Ids": [d["Id"] for d, *_ in accepted], "Warnings": None})

    def _post_retailer_end(self, facility: Facility, body: list) -> SimulatorResponse:
        errors: list[dict] = []
        accepted = []
        for index, obj in enumerate(_lower_keys(body)):
            row = _Row(index, obj, errors)
            delivery = self._retailer_delivery_row(row, facility, states=("Created", "Departed"))
            arrived = row.local_datetime("ActualArrivalDateTime")
            ended: dict[str, Decimal] = {}
            for item in row.array("Packages"):
                item = item if isinstance(item, dict) else {}
                label = row.required("Label", item)
                quantity = row.number("EndQuantity", item)
                unit = row.required("EndUnitOfMeasure", item)
                if delivery is None or not isinstance(label, str):
                    continue
                if label not in delivery["Loaded"]:
                    row.error(f"Package {label} is not on retailer delivery {delivery['Id']}.")
                elif isinstance(unit, str) and unit.lower() != delivery["Units"][label].lower():
                    row.error(f"Package {label} is counted in {delivery['Units'][label]}, not {unit}.")
                elif quantity is not None and quantity != Decimal(delivery["Loaded"][label]):
                    carried = Decimal(delivery["Carried"][label])
                    sold = Decimal(delivery["Sold"].get(label, "0"))
                    row.error(
                        f"Package {label}: {_plain(carried)} carried and {_plain(sold)} sold leave "
                        f"{_plain(carried - sold)}, not {_plain(quantity)}; the end must account for every package."
                    )
                elif quantity is not None:
                    ended[label] = quantity
            if delivery is not None:
                missing = set(delivery["Loaded"]) - set(ended)
                if missing and not any(e["row"] == index for e in errors):
                    row.error(f"Packages {', '.join(sorted(missing))} need an EndQuantity.")
                accepted.append((delivery, ended, arrived))
        if errors:
            raise _RowErrors(errors)
        for delivery, ended, arrived in accepted:
            for label in delivery["Loaded"]:
                facility.packages[label].retailer_delivery_id = None
                facility.packages[label].last_modified = _now()
            delivery["Ended"] = {label: str(q) for label, q in ended.items()}
            delivery["State"] = "Ended"
            delivery["ActualArrivalDateTime"] = arrived
            delivery["CompletedDateTime"] = _timestamp(_now())
            delivery["LastModified"] = _timestamp(_now())
        return SimulatorResponse(200, {"Ids": [d["Id"] for d, *_ in accepted], "Warnings": None})

    def _delete_retailer_delivery(self, facility: Facility, body: Any, delivery_id: str) -> SimulatorResponse:
        delivery = facility.retailer_deliveries.get(int(delivery_id))
        if delivery is None:
            return SimulatorResponse(404, {"Message": f"Retailer delivery {delivery_id} was not found."})
        if delivery["State"] != "Created":
            raise _RowErrors(
                [
                    {
                        "row": 0,
                        "message": f"Retailer delivery {delivery_id} is {delivery['State']} and cannot be voided.",
                    }
                ]
            )
        now = _now()
        for label, sold in delivery["Sold"].items():  # its recorded sales are undone
            facility.packages[label].quantity += Decimal(sold)
        for label in delivery["Loaded"]:
            facility.packages[label].retailer_delivery_id = None
            facility.packages[label].last_modified = now
        delivery["State"] = "Voided"
        delivery["VoidedDate"] = _timestamp(now)
        delivery["LastModified"] = _timestamp(now)
        return SimulatorResponse(200, None)

    # ------------------------------------------------------------------ mounting

    def wsgi_app(self, environ: dict, start_response: Callable) -> list[bytes]:
        from urllib.parse import parse_qsl

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {"authorization": environ.get("HTTP_AUTHORIZATION", "")}
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        response = self.handle(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), query, headers, body)
        if response.timeout:
            self._sleep(self.faults.timeout_seconds)  # past the client's timeout: it has given up
        if response.dropped:  # wsgiref cannot close without answering: a gateway in front would say 502
            response = SimulatorResponse(502, {"Message": "Bad Gateway."})
        content = response.content()
        reason = {
            200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
        }.get(response.status, "Status")  # fmt: skip
        out_headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(content))),
        ]
        out_headers.extend(response.headers.items())
        start_response(f"{response.status} {reason}", out_headers)
        return [content]

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport answering from this simulator in process (no socket)."""
        return SimulatorTransport(self)


class _UnparsableType:
    pass


_Unparsable = _UnparsableType()


def _basic_auth(headers: dict[str, str]) -> tuple[str | None, str | None]:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not value.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(value[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    vendor, _, user = decoded.partition(":")
    return vendor, user


def _parse_utc(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _sold_line(line: dict) -> dict:
    """A line as Metrc answers it (the document's SaleTransaction), beside the request's names."""
    return {
        "PackageLabel": line["PackageLabel"],
        "QuantitySold": line["Quantity"],
        "UnitOfMeasureName": line["UnitOfMeasure"],
        "TotalPrice": line["TotalAmount"],
        "Quantity": line["Quantity"],
        "UnitOfMeasure": line["UnitOfMeasure"],
        "TotalAmount": line["TotalAmount"],
    }


def _public(record: dict) -> dict:
    """A record without the simulator's own bookkeeping (keys starting with an underscore)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


_RETAILER_STATES = {"Created": "Pending", "Departed": "InTransit", "Ended": "Completed", "Voided": "Voided"}


def _retailer_json(delivery: dict) -> dict:
    """A retailer delivery as GET /sales/v2/deliveries/retailer/{id} answers it (the document's Retailer)."""
    fields = ("DateTime", "DriverEmployeeId", "DriverName", "DriversLicenseNumber", "VehicleMake", "VehicleModel",
              "VehicleLicensePlateNumber", "EstimatedDepartureDateTime", "ActualDepartureDateTime",
              "RestockDateTime", "CompletedDateTime", "VoidedDate", "LastModified")  # fmt: skip
    prices = delivery.get("Prices", {})
    sold_total = sum(
        Decimal(str(line["TotalPrice"]))
        for sale in delivery.get("Destinations", [])
        for line in sale["Transactions"]
    )
    return {
        "Id": delivery["Id"],
        "RetailerDeliveryNumber": str(delivery["Id"]),
        **{name: delivery.get(name) for name in fields},
        "RetailerDeliveryState": _RETAILER_STATES.get(delivery["State"], delivery["State"]),
        "State": delivery["State"],
        "TotalPackages": len(delivery["Loaded"]),
        "TotalPrice": float(sum(Decimal(str(p or 0)) for p in prices.values())),
        "TotalPriceSold": float(sold_total),
        "Destinations": list(delivery.get("Destinations", [])),
        "Packages": [
            {
                "PackageLabel": label,
                "Quantity": float(Decimal(q)),
                "UnitOfMeasure": delivery.get("Units", {}).get(label),
                "TotalPrice": prices.get(label),
            }
            for label, q in delivery["Loaded"].items()
        ],
    }


class SimulatorTransport(httpx.BaseTransport):
    """Mounts a MetrcSimulator as an httpx transport. A timeout fault waits out the client's read timeout and
    raises httpx.ReadTimeout, as the client would see it on a socket."""

    def __init__(self, simulator: MetrcSimulator):
        self.simulator = simulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        query = dict(request.url.params.multi_items())
        response = self.simulator.handle(request.method, request.url.path, query, dict(request.headers), body)
        if response.timeout:
            read_timeout = (request.extensions.get("timeout") or {}).get("read")
            wait = self.simulator.faults.timeout_seconds if read_timeout is None else read_timeout
            self.simulator._sleep(min(wait, self.simulator.faults.timeout_seconds))
            raise httpx.ReadTimeout("simulated timeout", request=request)
        if response.dropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(
            response.status,
            headers={"Content-Type": "application/json", **response.headers},
            content=response.content(),
            request=request,
        )


# ----------------------------------------------------------------------------------------------------------
# A real server on loopback


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def make_simulator_server(
    simulator: MetrcSimulator, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
) -> ThreadingWSGIServer:
    """A threaded HTTP server for the simulator (port 0: a free port; see `server.server_port`)."""
    server = make_server(
        host, port, simulator.wsgi_app, server_class=ThreadingWSGIServer, handler_class=_QuietHandler
    )
    server.verbose = verbose
    return server


def serve_in_thread(
    simulator: MetrcSimulator, host: str = "127.0.0.1", port: int = 0
) -> tuple[ThreadingWSGIServer, threading.Thread, str]:
    """Start the server in a daemon thread; answers (server, thread, base URL). Stop with server.shutdown()."""
    server = make_simulator_server(simulator, host, port)
    thread = threading.Thread(target=server.serve_forever, name="metrc-simulator", daemon=True)
    thread.start()
    return server, thread, f"http://{host}:{server.server_port}"
