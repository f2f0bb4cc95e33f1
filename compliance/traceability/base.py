"""The interface every traceability provider implements, and the errors it raises.

A report to the state is an *operation* (what to do) and a list of *objects* in the provider's own request
shape (for Metrc, the PascalCase JSON objects of API v2). The sync queue stores exactly that, so a failed
report can be edited and resent as it will be sent. Providers split writes into the provider's batch size
(Metrc: 10), retry rate limits and server errors with backoff, and put a timeout on every call.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Operation(StrEnum):
    """Writes the platform reports to the state."""

    SALES_RECEIPT_CREATE = "sales_receipt.create"  # POST /sales/v2/receipts
    SALES_RECEIPT_UPDATE = "sales_receipt.update"  # PUT /sales/v2/receipts
    SALES_RECEIPT_VOID = "sales_receipt.void"  # DELETE /sales/v2/receipts/{id}; objects: [{"Id": ...}]
    PACKAGE_ADJUST = "package.adjust"  # POST /packages/v2/adjust
    SALES_DELIVERY_CREATE = "sales_delivery.create"  # POST /sales/v2/deliveries
    SALES_DELIVERY_COMPLETE = "sales_delivery.complete"  # PUT /sales/v2/deliveries/complete
    RETAILER_DELIVERY_CREATE = "retailer_delivery.create"  # POST /sales/v2/deliveries/retailer
    RETAILER_DELIVERY_DEPART = "retailer_delivery.depart"  # POST /sales/v2/deliveries/retailer/depart
    RETAILER_DELIVERY_SALE = "retailer_delivery.sale"  # POST /sales/v2/deliveries/retailer/sale
    RETAILER_DELIVERY_RESTOCK = "retailer_delivery.restock"  # POST /sales/v2/deliveries/retailer/restock
    RETAILER_DELIVERY_END = "retailer_delivery.end"  # POST /sales/v2/deliveries/retailer/end
    SALES_DELIVERY_VOID = "sales_delivery.void"  # DELETE /sales/v2/deliveries/{id}; objects: [{"Id": ...}]
    RETAILER_DELIVERY_VOID = "retailer_delivery.void"  # DELETE /sales/v2/deliveries/retailer/{id}
    PACKAGE_FINISH = "package.finish"  # PUT /packages/v2/finish: a package that reached zero
    PACKAGE_UNFINISH = "package.unfinish"  # PUT /packages/v2/unfinish: stock came back to a finished package


@dataclass(frozen=True)
class RowError:
    """One object the state refused: its index in the request's objects and the state's message."""

    row: int
    message: str


@dataclass(frozen=True)
class SubmitResult:
    """The state accepted every object; `ids` are the state's ids where it returns them (in request order)."""

    ids: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class TraceabilityError(Exception):
    """Base of provider failures."""


class TransientFailure(TraceabilityError):
    """Worth retrying later: timeouts, connection errors, 429 and 5xx after the provider's own retries.

    `outcome_unknown`: the write was sent and its answer lost (a timeout, a dropped connection, 502/503/504):
    the state may have applied it, so it must be settled by reading the state's record, never simply resent."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        accepted_count: int = 0,
        accepted_ids: list[Any] | None = None,
        outcome_unknown: bool = False,
    ):
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown
        # When a write was split into batches, the leading objects the state had already accepted (their
        # count and ids) before this failure: resend only objects[accepted_count:].
        self.accepted_count = accepted_count
        self.accepted_ids = accepted_ids or []


class Rejected(TraceabilityError):
    """The state refused the write (400 with row errors, 401/403 credentials, 404, 413): resending the same
    objects will not help; a person must edit them or enter them manually."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        errors: list[RowError] | None = None,
        accepted_count: int = 0,
        accepted_ids: list[Any] | None = None,
    ):
        super().__init__(message)
        self.status_code = status_code
        self.errors = errors or []
        # As for TransientFailure: objects[:accepted_count] were accepted in earlier batches.
        self.accepted_count = accepted_count
        self.accepted_ids = accepted_ids or []

    @property
    def messages(self) -> list[str]:
        """The state's own words, one per refused row (or the whole answer's message): what a person is shown,
        e.g. on the dispatch board when a trip may not depart."""
        return [error.message for error in self.errors] or [str(self)]


@dataclass(frozen=True)
class StatePackage:
    """A package as the state knows it (for three-way reconciliation and receiving)."""

    label: str
    quantity: Any  # Decimal
    unit_of_measure: str
    item_name: str = ""
    is_on_hold: bool = False
    is_finished: bool = False
    lab_testing_state: str = ""
    last_modified: dt.datetime | None = None


@dataclass(frozen=True)
class StateTransfer:
    """An incoming transfer (manifest) with its packages, feeding receiving."""

    manifest_number: str
    shipper_license: str
    shipper_name: str
    # {"label", "item_name", "quantity", "unit_of_measure"}; Metrc's provider adds "lab_testing_state"
    packages: list[dict] = field(default_factory=list)
    transfer_id: int | None = None
    delivery_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class PatientStatus:
    patient_license_number: str
    active: bool
    expires_on: dt.date | None = None
    allotments: dict = field(default_factory=dict)  # bucket -> remaining, where the state reports it


@dataclass(frozen=True)
class AdjustmentReason:
    """A reason the state accepts for a package adjustment (Metrc: GET /packages/v2/adjust/reasons)."""

    name: str
    requires_note: bool = False
    requires_waste_weight: bool = False


# ----------------------------------------------------------------------------------------------------------
# Deliveries: what a trip tells the state (California: a retailer delivery, the vehicle's inventory ledger of
# 4 CCR 15049.3; other Metrc states: one sales delivery per order). Quantities and money are Decimal; times
# are aware datetimes (the provider writes them in the facility's local time).


@dataclass(frozen=True)
class Driver:
    name: str
    employee_id: str
    license_number: str  # the driver's licence (DriversLicenseNumber)
    phone: str = ""  # PhoneNumberForQuestions


@dataclass(frozen=True)
class Vehicle:
    make: str
    model: str
    plate: str


@dataclass(frozen=True)
class Recipient:
    name: str
    street1: str
    city: str
    state: str
    postal_code: str
    street2: str = ""
    county: str = ""


@dataclass(frozen=True)
class DeliveryLine:
    """A package sold on an order: quantity in `unit` (g, each, ...) and the line's total."""

    package_label: str
    quantity: Any
    unit: str
    total_amount: Any
    price: Any = None
    excise_tax: Any = None
    sales_tax: Any = None
    discount_amount: Any = None


@dataclass(frozen=True)
class DeliverySale:
    """An order delivered to a customer: a stop of a California retailer delivery, or (with a driver and a
    vehicle) a sales delivery elsewhere."""

    sold_at: Any  # aware datetime: SalesDateTime
    customer_type: str  # adult_use, medical, ... (or Metrc's own name)
    recipient: Recipient
    lines: list[DeliveryLine]
    patient_license: str = ""
    consumer_id: str = ""
    # PhoneNumberForQuestions: the number the customer may call about the delivery (a sales delivery falls back
    # on the driver's phone).
    phone_for_questions: str = ""
    planned_route: str = ""
    estimated_departure: Any = None
    estimated_arrival: Any = None


@dataclass(frozen=True)
class CarriedPackage:
    """A package loaded on a retailer delivery's vehicle."""

    package_label: str
    quantity: Any
    unit: str
    total_price: Any
    replace_current: bool = False  # restock only: replaces what the vehicle carries of this package


@dataclass(frozen=True)
class RetailerDeliveryPlan:
    """POST /sales/v2/deliveries/retailer: the vehicle's inventory before it leaves, with the orders already
    processed (Destinations: each sale's recipient, lines and estimated arrival; they are recorded as sold with
    the delivery, so they are not sent again per stop). Metrc's request has no planned route or estimated
    arrival for the trip itself: those go on the printed manifest."""

    created_at: Any  # aware datetime: DateTime
    driver: Driver
    vehicle: Vehicle
    packages: list[CarriedPackage]
    estimated_departure: Any = None
    sales: list[DeliverySale] = field(default_factory=list)


@dataclass(frozen=True)
class RetailerRestock:
    retailer_delivery_id: int
    restocked_at: Any
    packages: list[CarriedPackage]
    estimated_departure: Any = None


@dataclass(frozen=True)
class EndPackage:
    """What is left of a carried package when the vehicle is back (EndQuantity)."""

    package_label: str
    end_quantity: Any
    unit: str


@dataclass(frozen=True)
class RetailerDeliveryEnd:
    retailer_delivery_id: int
    arrived_at: Any
    packages: list[EndPackage]


@dataclass(frozen=True)
class SalesDeliveryPlan:
    """POST /sales/v2/deliveries: one order, its recipient, the planned route and times, driver and vehicle
    (the sale's own planned_route and estimated times are not used: these are)."""

    sale: DeliverySale
    driver: Driver
    vehicle: Vehicle
    planned_route: str
    estimated_departure: Any
    estimated_arrival: Any
    transporter_license: str = ""


@dataclass(frozen=True)
class ReturnedPackage:
    package_label: str
    quantity: Any
    unit: str
    reason: str  # one of GET /sales/v2/deliveries/returnreasons
    note: str = ""


@dataclass(frozen=True)
class SalesDeliveryCompletion:
    """PUT /sales/v2/deliveries/complete: what the customer accepted and what came back, and why."""

    delivery_id: int
    arrived_at: Any
    accepted_packages: list[str]
    returned_packages: list[ReturnedPackage] = field(default_factory=list)
    payment_type: str = ""


@dataclass(frozen=True)
class ReturnReason:
    name: str
    requires_note: bool = False


@dataclass(frozen=True)
class StateDelivery:
    """A delivery as the state lists it (sales or retailer): its id, number and state, whether it departed,
    was completed or voided, and its packages ({label: quantity})."""

    id: int
    number: str = ""
    state: str = ""
    departed: bool = False
    completed: bool = False
    voided: bool = False
    packages: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)


class DeliveryNotOffered(TraceabilityError):
    """The state's Metrc has no delivery endpoints (endpoints-by-state.md): nothing can be reported there."""


class TraceabilityProvider(Protocol):
    """What the sync queue, receiving and reconciliation call. One provider instance serves one store (its
    licence and keys); `provider_for_store()` in compliance.traceability.registry chooses it."""

    license_number: str

    def submit(self, operation: Operation, objects: list[dict]) -> SubmitResult:
        """Write objects (split into batches the provider accepts). All or nothing per batch: raises Rejected
        with row errors indexed into `objects`, or TransientFailure."""

    def active_packages(self, *, modified_since: dt.datetime | None = None) -> list[StatePackage]: ...

    def incoming_transfers(self, *, modified_since: dt.datetime | None = None) -> list[StateTransfer]: ...

    def receipt_id_by_external_number(self, number: str) -> int | None:
        """The state's id of a receipt we sent under our own number, or None when the state has none."""

    # Reads that settle a write whose answer was lost (the sync queue calls them before any resend).
    def receipt_by_external_number(self, number: str) -> dict | None: ...

    def receipt_get(self, receipt_id: int) -> dict | None: ...

    def receipts_sold_around(self, sales_date_time: str) -> Iterable[dict]: ...

    def package_get(self, label: str) -> dict | None: ...

    def patient_status(self, patient_license_number: str) -> PatientStatus | None:
        """None where the state offers no patient lookup."""

    # Deliveries (Metrc: the states of endpoints-by-state.md that offer them; DeliveryNotOffered elsewhere).
    # Every write is exactly once: it first looks for its record at the state, and settles a lost answer by
    # reading before it sends again. A refusal raises Rejected with the state's messages.
    def retailer_delivery_create(self, plan: "RetailerDeliveryPlan", *, zone: str) -> int: ...

    def retailer_delivery_depart(self, retailer_delivery_id: int) -> None: ...

    def retailer_delivery_sale(
        self, retailer_delivery_id: int, sale: "DeliverySale", *, zone: str
    ) -> None: ...

    def retailer_delivery_restock(self, restock: "RetailerRestock", *, zone: str) -> None: ...

    def retailer_delivery_end(self, end: "RetailerDeliveryEnd", *, zone: str) -> None: ...

    def retailer_delivery_void(self, retailer_delivery_id: int) -> None: ...

    def retailer_deliveries(self, *, active: bool = True) -> list["StateDelivery"]: ...

    def sales_delivery_create(self, plan: "SalesDeliveryPlan", *, zone: str) -> int: ...

    def sales_delivery_complete(self, completion: "SalesDeliveryCompletion", *, zone: str) -> None: ...

    def sales_delivery_void(self, delivery_id: int) -> None: ...

    def sales_deliveries(self, *, active: bool = True) -> list["StateDelivery"]: ...

    def delivery_return_reasons(self) -> list["ReturnReason"]: ...
