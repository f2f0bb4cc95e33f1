"""The Metrc provider (REST API v2) and the builders that turn platform facts into Metrc request objects.

Follows shared/reference/metrc/README.md where the OpenAPI document is wrong: PascalCase names, facility-local
times without offset for SalesDateTime and retailer delivery DateTime / ActualArrivalDateTime, dates for
AdjustmentDate, at most 10 objects per write, `[{row, message}]` 400 answers, v2 list envelopes.
"""

import datetime as dt
import email.utils
import logging
import random
import time
import urllib.parse
import zoneinfo
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx

from compliance.traceability.base import (
    AdjustmentReason,
    DeliveryLine,
    DeliveryNotOffered,
    DeliverySale,
    Driver,
    Operation,
    PatientStatus,
    Recipient,
    Rejected,
    RetailerDeliveryEnd,
    RetailerDeliveryPlan,
    RetailerRestock,
    ReturnReason,
    RowError,
    SalesDeliveryCompletion,
    SalesDeliveryPlan,
    StateDelivery,
    StatePackage,
    StateTransfer,
    SubmitResult,
    TransientFailure,
    Vehicle,
)
from dispensary.units import UnitError, quantity_convert, unit_code

logger = logging.getLogger(__name__)

BATCH_SIZE = 10
PAGE_SIZE = 20
# lastModifiedStart for "everything": Metrc went live in 2014; some states return partial lists when the
# range is left out (README), so list calls always send one.
HISTORY_START = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
MAX_PAGES = 10_000

# (method, path) of each write; SALES_RECEIPT_VOID is one DELETE per object.
WRITE_ROUTES: dict[Operation, tuple[str, str]] = {
    Operation.SALES_RECEIPT_CREATE: ("POST", "/sales/v2/receipts"),
    Operation.SALES_RECEIPT_UPDATE: ("PUT", "/sales/v2/receipts"),
    Operation.SALES_RECEIPT_VOID: ("DELETE", "/sales/v2/receipts/{id}"),
    Operation.PACKAGE_ADJUST: ("POST", "/packages/v2/adjust"),
    Operation.SALES_DELIVERY_CREATE: ("POST", "/sales/v2/deliveries"),
    Operation.SALES_DELIVERY_COMPLETE: ("PUT", "/sales/v2/deliveries/complete"),
    Operation.RETAILER_DELIVERY_CREATE: ("POST", "/sales/v2/deliveries/retailer"),
    Operation.RETAILER_DELIVERY_DEPART: ("POST", "/sales/v2/deliveries/retailer/depart"),
    Operation.RETAILER_DELIVERY_SALE: ("POST", "/sales/v2/deliveries/retailer/sale"),
    Operation.RETAILER_DELIVERY_RESTOCK: ("POST", "/sales/v2/deliveries/retailer/restock"),
    Operation.RETAILER_DELIVERY_END: ("POST", "/sales/v2/deliveries/retailer/end"),
    Operation.PACKAGE_FINISH: ("PUT", "/packages/v2/finish"),
    Operation.PACKAGE_UNFINISH: ("PUT", "/packages/v2/unfinish"),
    Operation.SALES_DELIVERY_VOID: ("DELETE", "/sales/v2/deliveries/{id}"),
    Operation.RETAILER_DELIVERY_VOID: ("DELETE", "/sales/v2/deliveries/retailer/{id}"),
}
# Writes that are one DELETE per object, the object naming the state's id.
DELETES = frozenset(
    {Operation.SALES_RECEIPT_VOID, Operation.SALES_DELIVERY_VOID, Operation.RETAILER_DELIVERY_VOID}
)

# Answers that will never change by sending the same request again (Rejected at once).
NEVER_RETRIED = frozenset({400, 401, 403, 404, 413, 501})
# Answers to a write that say the state did not apply it, so the same write may be sent again.
WRITE_RETRIED = frozenset({429, 500})

# States whose Metrc offers GET /patients/v2/statuses/{patientLicenseNumber} (endpoints-by-state.md).
PATIENT_STATUS_STATES = frozenset({"CO", "DC", "GU", "MD", "MI", "MO", "MS", "MT", "NJ", "RI", "SD", "WV"})
# States whose Metrc offers the sales delivery and retailer delivery endpoints (endpoints-by-state.md).
DELIVERY_STATES = frozenset(
    {"CA", "CO", "DC", "GU", "MA", "MD", "ME", "MI", "MO", "MS", "MT", "NJ", "NV", "OR", "RI", "SD"}
)

# States whose Metrc offers GET /caregivers/v2/status/{caregiverLicenseNumber} (endpoints-by-state.md).
CAREGIVER_STATUS_STATES = frozenset({"GU", "MN", "MS", "NJ", "RI", "SD"})

CUSTOMER_TYPES = {
    "adult_use": "Consumer",
    "medical": "Patient",
    "caregiver": "Caregiver",
    "external_patient": "ExternalPatient",
}
UNITS = {
    "each": "Each",
    "g": "Grams",
    "mg": "Milligrams",
    "kg": "Kilograms",
    "oz": "Ounces",
    "lb": "Pounds",
}
# Decimal places of a quantity converted into the state's unit of a package (grams stay at the ledger's three).
STATE_QUANTITY_PLACES = 6


# ----------------------------------------------------------------------------------------------------------
# Values


def metrc_local_datetime(value: dt.datetime, zone: dt.tzinfo | str) -> str:
    """An aware datetime as the facility's local time without offset: `2025-03-01T14:05:00.000`."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("metrc_local_datetime needs an aware datetime")
    if isinstance(zone, str):
        zone = zoneinfo.ZoneInfo(zone)
    local = value.astimezone(zone)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond // 1000:03d}"


def metrc_date(value: dt.date | dt.datetime, zone: dt.tzinfo | str | None = None) -> str:
    """A date (`2025-03-01`); an aware datetime is first turned into the facility's local date."""
    if isinstance(value, dt.datetime):
        if zone is None or value.tzinfo is None:
            raise ValueError("metrc_date needs an aware datetime and the facility's zone")
        if isinstance(zone, str):
            zone = zoneinfo.ZoneInfo(zone)
        value = value.astimezone(zone).date()
    return value.isoformat()


def metrc_utc_timestamp(value: dt.datetime) -> str:
    """lastModifiedStart/End: UTC, `yyyy-mm-ddThh:mm:ssZ`."""
    if value.tzinfo is None:
        raise ValueError("metrc_utc_timestamp needs an aware datetime")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def metrc_unit(unit: str) -> str:
    """The platform's unit (`g`, `each`, `lb`) or any spelling of it as Metrc's unit of measure name
    (`Grams`, `Each`, `Pounds`); a unit we do not know is passed on as it is."""
    try:
        return UNITS[unit_code(unit)]
    except UnitError:
        return unit


def state_quantity(quantity: Any, unit: str, state_unit: str = "") -> tuple[Decimal, str]:
    """A platform quantity in `unit` as the state holds the package: converted exactly into `state_unit`
    (a package received in pounds is reported in pounds) and Metrc's name of that unit."""
    target = state_unit or unit
    places = 3 if unit_code(target) == unit_code(unit) else STATE_QUANTITY_PLACES
    return quantity_convert(quantity, unit, target, places=places), metrc_unit(target)


def platform_quantity(quantity: Any, state_unit: str, unit: str) -> Decimal:
    """The state's quantity of a package (in the state's unit, e.g. Pounds) in the platform's unit, to the
    ledger's three places; as it is when either unit is unknown or they cannot be compared."""
    value = _decimal(quantity)
    try:
        return quantity_convert(value, state_unit or unit, unit, places=3)
    except UnitError:
        return value


def metrc_customer_type(customer_type: str) -> str:
    """The platform's customer type (`adult_use`, `medical`) as Metrc's SalesCustomerType."""
    return CUSTOMER_TYPES.get(customer_type, customer_type)


def _number(value: Any) -> float | int:
    # JSON numbers; the sync queue stores objects as JSON, so no Decimal.
    if isinstance(value, bool):
        raise TypeError("a quantity or amount cannot be a boolean")
    if isinstance(value, int):
        return value
    return float(Decimal(str(value)))


def _pascal(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop the None values (Metrc's optional fields), keep the given names (already PascalCase)."""
    return {key: value for key, value in fields.items() if value is not None}


def _decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    return Decimal(str(value))


def _parse_timestamp(value: Any) -> dt.datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _field(obj: dict, name: str, default: Any = None) -> Any:
    """Metrc's answers are PascalCase; read them without regard to case."""
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if key.lower() == lowered:
            return value
    return default


# ----------------------------------------------------------------------------------------------------------
# Builders (platform facts -> Metrc request objects)


def transaction_object(
    package_label: str,
    quantity: Any,
    unit_of_measure: str,
    total_amount: Any,
    *,
    price: Any = None,
    excise_tax: Any = None,
    city_tax: Any = None,
    county_tax: Any = None,
    municipal_tax: Any = None,
    sales_tax: Any = None,
    discount_amount: Any = None,
    sub_total: Any = None,
    invoice_number: str | None = None,
    qr_codes: list[str] | None = None,
) -> dict:
    """One line of a receipt or a delivery: quantity of a package in its unit, and the line's total."""
    money = {
        "Price": price,
        "ExciseTax": excise_tax,
        "CityTax": city_tax,
        "CountyTax": county_tax,
        "MunicipalTax": municipal_tax,
        "SalesTax": sales_tax,
        "DiscountAmount": discount_amount,
        "SubTotal": sub_total,
    }
    return _pascal(
        {
            "PackageLabel": package_label,
            "Quantity": _number(quantity),
            "UnitOfMeasure": metrc_unit(unit_of_measure),
            "TotalAmount": _number(total_amount),
            **{key: None if value is None else _number(value) for key, value in money.items()},
            "InvoiceNumber": invoice_number,
            "QrCodes": list(qr_codes) if qr_codes is not None else None,
        }
    )


def receipt_object(
    sale_datetime: dt.datetime,
    zone: dt.tzinfo | str,
    customer_type: str,
    patient_license: str | None = None,
    *,
    transactions: list[dict],
    caregiver_license: str | None = None,
    identification_method: str | None = None,
    external_receipt_number: str | None = None,
    patient_registration_location_id: int | None = None,
    receipt_id: int | None = None,
) -> dict:
    """A sales receipt (POST /sales/v2/receipts); with `receipt_id`, the update of one (PUT)."""
    return _pascal(
        {
            "Id": receipt_id,
            "SalesDateTime": metrc_local_datetime(sale_datetime, zone),
            "SalesCustomerType": metrc_customer_type(customer_type),
            "PatientLicenseNumber": patient_license or None,
            "CaregiverLicenseNumber": caregiver_license or None,
            "IdentificationMethod": identification_method,
            "ExternalReceiptNumber": external_receipt_number,
            "PatientRegistrationLocationId": patient_registration_location_id,
            "Transactions": list(transactions),
        }
    )


def package_finish_object(label: str, date: dt.date) -> dict:
    """PUT /packages/v2/finish: the package reached zero on `date` (the facility's local date)."""
    return {"Label": label, "ActualDate": metrc_date(date)}


def package_unfinish_object(label: str) -> dict:
    """PUT /packages/v2/unfinish: a finished package holds stock again (a return)."""
    return {"Label": label}


def receipt_void_object(receipt_id: int) -> dict:
    """SALES_RECEIPT_VOID's object: the state's receipt id."""
    return {"Id": int(receipt_id)}


def adjustment_object(
    label: str, quantity: Any, unit: str, reason: str, date: dt.date, note: str | None = None
) -> dict:
    """A package adjustment: `quantity` is the signed change (negative for waste or shrinkage)."""
    return _pascal(
        {
            "Label": label,
            "Quantity": _number(quantity),
            "UnitOfMeasure": metrc_unit(unit),
            "AdjustmentReason": reason,
            "AdjustmentDate": metrc_date(date),
            "ReasonNote": note or None,
        }
    )


def _recipient_fields(recipient: dict | None) -> dict:
    recipient = recipient or {}
    return {
        "RecipientName": recipient.get("name"),
        "RecipientAddressStreet1": recipient.get("street1"),
        "RecipientAddressStreet2": recipient.get("street2") or None,
        "RecipientAddressCity": recipient.get("city"),
        "RecipientAddressCounty": recipient.get("county"),
        "RecipientAddressState": recipient.get("state"),
        "RecipientAddressPostalCode": recipient.get("postal_code"),
    }


def _driver_fields(driver: dict | None) -> dict:
    driver = driver or {}
    return {
        "DriverEmployeeId": driver.get("employee_id"),
        "DriverName": driver.get("name"),
        "DriversLicenseNumber": driver.get("license_number"),
        "PhoneNumberForQuestions": driver.get("phone"),
        "VehicleMake": driver.get("vehicle_make"),
        "VehicleModel": driver.get("vehicle_model"),
        "VehicleLicensePlateNumber": driver.get("vehicle_plate"),
    }


def _optional_local(value: dt.datetime | None, zone: dt.tzinfo | str) -> str | None:
    return None if value is None else metrc_local_datetime(value, zone)


def sales_delivery_object(
    sale_datetime: dt.datetime,
    zone: dt.tzinfo | str,
    customer_type: str,
    *,
    transactions: list[dict],
    recipient: dict,
    driver: dict,
    patient_license: str | None = None,
    consumer_id: str | None = None,
    planned_route: str | None = None,
    estimated_departure: dt.datetime | None = None,
    estimated_arrival: dt.datetime | None = None,
    transporter_facility_license: str | None = None,
    recipient_zone_id: str | None = None,
) -> dict:
    """A sales delivery (POST /sales/v2/deliveries). `recipient`: name, street1, street2, city, county, state,
    postal_code; `driver`: employee_id, name, license_number, phone, vehicle_make, vehicle_model,
    vehicle_plate."""
    return _pascal(
        {
            "SalesDateTime": metrc_local_datetime(sale_datetime, zone),
            "SalesCustomerType": metrc_customer_type(customer_type),
            "PatientLicenseNumber": patient_license or None,
            "ConsumerId": consumer_id,
            **_driver_fields(driver),
            **_recipient_fields(recipient),
            "TransporterFacilityLicenseNumber": transporter_facility_license,
            "RecipientZoneId": recipient_zone_id,
            "PlannedRoute": planned_route,
            "EstimatedDepartureDateTime": _optional_local(estimated_departure, zone),
            "EstimatedArrivalDateTime": _optional_local(estimated_arrival, zone),
            "Transactions": list(transactions),
        }
    )


def returned_package_object(
    label: str, quantity: Any, unit: str, reason: str, note: str | None = None
) -> dict:
    return _pascal(
        {
            "Label": label,
            "ReturnQuantityVerified": _number(quantity),
            "ReturnUnitOfMeasure": metrc_unit(unit),
            "ReturnReason": reason,
            "ReturnReasonNote": note or None,
        }
    )


def sales_delivery_complete_object(
    delivery_id: int,
    actual_arrival: dt.datetime,
    zone: dt.tzinfo | str,
    *,
    accepted_packages: list[str],
    returned_packages: list[dict] | None = None,
    payment_type: str | None = None,
) -> dict:
    """The completion of a sales delivery (PUT /sales/v2/deliveries/complete)."""
    return _pascal(
        {
            "Id": int(delivery_id),
            "ActualArrivalDateTime": metrc_local_datetime(actual_arrival, zone),
            "PaymentType": payment_type,
            "AcceptedPackages": list(accepted_packages),
            "ReturnedPackages": list(returned_packages or []),
        }
    )


def retailer_package_object(
    package_label: str,
    quantity: Any,
    unit: str,
    total_price: Any,
    *,
    remove_current_package: bool | None = None,
) -> dict:
    """A package loaded on a retailer delivery (create or restock)."""
    return _pascal(
        {
            "PackageLabel": package_label,
            "Quantity": _number(quantity),
            "UnitOfMeasure": metrc_unit(unit),
            "TotalPrice": _number(total_price),
            "RemoveCurrentPackage": remove_current_package,
        }
    )


def retailer_delivery_object(
    date_time: dt.datetime,
    zone: dt.tzinfo | str,
    *,
    packages: list[dict],
    driver: dict,
    estimated_departure: dt.datetime | None = None,
    destinations: list[dict] | None = None,
) -> dict:
    """A California retailer delivery (a vehicle's inventory): POST /sales/v2/deliveries/retailer. The
    `destinations` are the orders already processed when it leaves (destination_object)."""
    return _pascal(
        {
            "DateTime": metrc_local_datetime(date_time, zone),
            **_driver_fields(driver),
            "EstimatedDepartureDateTime": _optional_local(estimated_departure, zone),
            "Destinations": list(destinations) if destinations else None,
            "Packages": list(packages),
        }
    )


def destination_object(
    zone: dt.tzinfo | str,
    customer_type: str,
    *,
    transactions: list[dict],
    recipient: dict,
    patient_license: str | None = None,
    consumer_id: str | None = None,
    estimated_arrival: dt.datetime | None = None,
) -> dict:
    """An order already processed when a retailer delivery is created: one of its Destinations (the
    document's Destination: the customer, the address, the estimated arrival and the lines; its sale time is the
    delivery's DateTime)."""
    return _pascal(
        {
            "SalesCustomerType": metrc_customer_type(customer_type),
            "PatientLicenseNumber": patient_license or None,
            "ConsumerId": consumer_id or None,
            **_recipient_fields(recipient),
            "EstimatedArrivalDateTime": _optional_local(estimated_arrival, zone),
            "Transactions": list(transactions),
        }
    )


def retailer_delivery_depart_object(retailer_delivery_id: int) -> dict:
    return {"RetailerDeliveryId": int(retailer_delivery_id)}


def retailer_delivery_sale_object(
    retailer_delivery_id: int,
    sale_datetime: dt.datetime,
    zone: dt.tzinfo | str,
    customer_type: str,
    *,
    transactions: list[dict],
    recipient: dict,
    patient_license: str | None = None,
    consumer_id: str | None = None,
    phone: str | None = None,
    estimated_arrival: dt.datetime | None = None,
    planned_route: str | None = None,
    estimated_departure: dt.datetime | None = None,
) -> dict:
    """A sale from a retailer delivery's vehicle (POST /sales/v2/deliveries/retailer/sale)."""
    return _pascal(
        {
            "RetailerDeliveryId": int(retailer_delivery_id),
            "SalesDateTime": metrc_local_datetime(sale_datetime, zone),
            "SalesCustomerType": metrc_customer_type(customer_type),
            "PatientLicenseNumber": patient_license or None,
            "ConsumerId": consumer_id,
            "PhoneNumberForQuestions": phone,
            **_recipient_fields(recipient),
            "PlannedRoute": planned_route or None,
            "EstimatedDepartureDateTime": _optional_local(estimated_departure, zone),
            "EstimatedArrivalDateTime": _optional_local(estimated_arrival, zone),
            "Transactions": list(transactions),
        }
    )


def retailer_delivery_restock_object(
    retailer_delivery_id: int,
    date_time: dt.datetime,
    zone: dt.tzinfo | str,
    *,
    packages: list[dict],
    estimated_departure: dt.datetime | None = None,
) -> dict:
    """Packages added to (or replacing, RemoveCurrentPackage) a retailer delivery's load."""
    return _pascal(
        {
            "RetailerDeliveryId": int(retailer_delivery_id),
            "DateTime": metrc_local_datetime(date_time, zone),
            "EstimatedDepartureDateTime": _optional_local(estimated_departure, zone),
            "Packages": list(packages),
        }
    )


def retailer_end_package_object(label: str, end_quantity: Any, unit: str) -> dict:
    return {"Label": label, "EndQuantity": _number(end_quantity), "EndUnitOfMeasure": metrc_unit(unit)}


def retailer_delivery_end_object(
    retailer_delivery_id: int, actual_arrival: dt.datetime, zone: dt.tzinfo | str, *, packages: list[dict]
) -> dict:
    """The vehicle is back: what is left of each package (POST /sales/v2/deliveries/retailer/end)."""
    return {
        "RetailerDeliveryId": int(retailer_delivery_id),
        "ActualArrivalDateTime": metrc_local_datetime(actual_arrival, zone),
        "Packages": list(packages),
    }


# ----------------------------------------------------------------------------------------------------------
# The provider


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _row_errors(response: httpx.Response, offset: int) -> tuple[str, list[RowError]]:
    """Metrc's 400 body: `[{"row": 0, "message": "..."}]`, or `{"Message": "..."}` for a whole request."""
    try:
        body = response.json()
    except ValueError:
        return (response.text[:500] or f"HTTP {response.status_code}"), []
    rows: list[RowError] = []
    if isinstance(body, list):
        for item in body:
            if isinstance(item, dict):
                row = _field(item, "row")
                rows.append(
                    RowError(
                        row=offset + int(row) if isinstance(row, int) else offset,
                        message=str(_field(item, "message", "")),
                    )
                )
            else:
                rows.append(RowError(row=offset, message=str(item)))
        message = "; ".join(f"row {error.row}: {error.message}" for error in rows) or "rejected"
        return message, rows
    if isinstance(body, dict):
        return str(_field(body, "message", body)), rows
    return str(body), rows


class MetrcProvider:
    """TraceabilityProvider for one facility (licence) of Metrc API v2."""

    batch_size = BATCH_SIZE
    page_size = PAGE_SIZE

    def __init__(
        self,
        *,
        base_url: str,
        vendor_key: str,
        user_key: str,
        license_number: str,
        jurisdiction: str = "",
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.license_number = license_number
        self.jurisdiction = jurisdiction
        self.state = jurisdiction.removeprefix("US-").upper()
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._random = random.Random()
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(vendor_key, user_key),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"<MetrcProvider {self._client.base_url} licence {self.license_number}>"

    def close(self) -> None:
        self._client.close()

    def for_quick_lookup(self, timeout: float) -> "MetrcProvider":
        """This provider answering within `timeout` seconds or failing at once (no retries): for a read made
        while a report is being built, which must not keep a transaction waiting on the state."""
        self.max_attempts = 1
        self.timeout = timeout
        self._client.timeout = httpx.Timeout(timeout)
        return self

    # ------------------------------------------------------------------ transport

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter (a random point in the upper half of the step, so that clients
        refused together do not return together); at least the state's Retry-After, plus a little jitter."""
        step = min(self.backoff_base * (2 ** (attempt - 1)), self.backoff_max)
        if retry_after is not None:
            return retry_after + self._random.uniform(0, max(self.backoff_base, 0.0))
        return self._random.uniform(step / 2, step)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        with_license: bool = True,
    ) -> httpx.Response:
        """One call with licenseNumber (unless the route takes none). Answers any status that retrying will not change (2xx, 4xx, 501), after
        retrying what is worth retrying here:

        - reads retry 429, 5xx and lost answers with backoff;
        - writes retry only what says the state did not apply them (429, 500, and a connection never made).
          A write whose answer is lost (a timeout, a dropped connection, 502/503/504) raises TransientFailure
          with `outcome_unknown`: the caller settles it by reading the state's record, never by resending.

        A Retry-After longer than the longest backoff ends the attempts at once: the sync queue waits it out.
        """
        query = {"licenseNumber": self.license_number} if with_license else {}
        query.update(params or {})
        is_write = method.upper() != "GET"
        last_status: int | None = None
        retry_after: float | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._client.request(method, path, params=query, json=json)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                # Nothing reached the state: safe to try again, for writes too.
                last_status, retry_after = None, None
                failure = TransientFailure(f"Metrc unreachable for {method} {path}: {error}")
            except httpx.TimeoutException as error:
                failure = TransientFailure(
                    f"Metrc did not answer {method} {path} within {self.timeout}s",
                    outcome_unknown=is_write,
                )
                if is_write:
                    raise failure from error
            except httpx.TransportError as error:
                failure = TransientFailure(
                    f"The connection to Metrc broke during {method} {path}: {error}", outcome_unknown=is_write
                )
                if is_write:
                    raise failure from error
            else:
                status = response.status_code
                if status in NEVER_RETRIED or (status < 500 and status != 429):
                    return response
                last_status = status
                retry_after = _retry_after_seconds(response)
                if is_write and status not in WRITE_RETRIED:
                    raise TransientFailure(
                        f"Metrc answered {status} to {method} {path}; whether it applied the write is unknown",
                        status_code=status,
                        retry_after=retry_after,
                        outcome_unknown=True,
                    )
                failure = TransientFailure(
                    f"Metrc answered {status} to {method} {path}", status_code=status, retry_after=retry_after
                )
                if retry_after is not None and retry_after > self.backoff_max:
                    break
            if attempt < self.max_attempts:
                delay = self._backoff(attempt, retry_after)
                logger.info(
                    "Metrc %s %s failed (%s); retry %s in %.2fs", method, path, failure, attempt, delay
                )
                self._sleep(delay)
        raise TransientFailure(
            f"{failure} (after {attempt} attempt{'s' if attempt > 1 else ''})",
            status_code=last_status,
            retry_after=retry_after,
        )

    def _raise_for_status(self, response: httpx.Response, *, offset: int = 0) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 400:
            message, rows = _row_errors(response, offset)
            raise Rejected(message, status_code=400, errors=rows)
        meaning = {
            401: "Metrc refused the vendor or user key",
            403: f"the user key may not act for licence {self.license_number}",
            404: "Metrc does not know this address or object",
            413: f"more than {self.batch_size} objects in one request",
        }.get(status, f"Metrc answered {status}")
        message, rows = _row_errors(response, offset)
        raise Rejected(f"{meaning}: {message}", status_code=status, errors=rows)

    # ------------------------------------------------------------------ writes

    def submit(self, operation: Operation, objects: list[dict]) -> SubmitResult:
        operation = Operation(operation)
        method, path = WRITE_ROUTES[operation]
        if operation in DELETES:
            return self._void(path, objects)
        ids: list[Any] = []
        warnings: list[str] = []
        for start in range(0, len(objects), self.batch_size):
            batch = objects[start : start + self.batch_size]
            try:
                response = self._request(method, path, json=batch)
                self._raise_for_status(response, offset=start)
            except (Rejected, TransientFailure) as error:
                error.accepted_count = start
                error.accepted_ids = list(ids)
                raise
            batch_ids, batch_warnings = self._write_answer(response)
            ids.extend(batch_ids)
            warnings.extend(batch_warnings)
        return SubmitResult(ids=ids, warnings=warnings)

    def _void(self, path: str, objects: list[dict]) -> SubmitResult:
        ids: list[Any] = []
        for index, obj in enumerate(objects):
            receipt_id = _field(obj, "Id")
            if receipt_id is None:
                raise Rejected(
                    "a void needs the state's Id of the record",
                    status_code=400,
                    errors=[RowError(index, "Id is required")],
                    accepted_count=index,
                    accepted_ids=list(ids),
                )
            try:
                response = self._request("DELETE", path.format(id=int(receipt_id)))
                self._raise_for_status(response, offset=index)
            except (Rejected, TransientFailure) as error:
                error.accepted_count = index
                error.accepted_ids = list(ids)
                if isinstance(error, Rejected) and not error.errors:
                    error.errors = [RowError(index, str(error))]
                raise
            ids.append(int(receipt_id))
        return SubmitResult(ids=ids)

    @staticmethod
    def _write_answer(response: httpx.Response) -> tuple[list[Any], list[str]]:
        if not response.content:
            return [], []
        try:
            body = response.json()
        except ValueError:
            return [], []
        if not isinstance(body, dict):
            return [], []
        ids = _field(body, "Ids") or []
        warnings = _field(body, "Warnings") or []
        if isinstance(warnings, str):
            warnings = [warnings]
        return list(ids), [str(warning) for warning in warnings]

    # ------------------------------------------------------------------ reads

    def _get(self, path: str, params: dict | None = None, *, with_license: bool = True) -> Any:
        response = self._request("GET", path, params=params, with_license=with_license)
        self._raise_for_status(response)
        return response.json() if response.content else None

    def _data(self, path: str) -> list:
        """A list route without paging or licence (customer types, registration locations): its Data."""
        body = self._get(path, with_license=False)
        if isinstance(body, dict):
            return list(_field(body, "Data") or [])
        return list(body) if isinstance(body, list) else []

    def _get_or_none(self, path: str, params: dict | None = None) -> Any:
        """A single record, or None when the state answers 404 (it has none)."""
        try:
            return self._get(path, params)
        except Rejected as error:
            if error.status_code == 404:
                return None
            raise

    def receipt_by_external_number(self, number: str) -> dict | None:
        """The receipt sent under our `number` (ExternalReceiptNumber), or None when this licence has none:
        GET /sales/v2/receipts/external/{externalNumber}. Metrc answers 401 for a number that is not valid for
        the licence; that says "not here" as well, once the keys are known to work (checked by a read that
        needs them)."""
        path = f"/sales/v2/receipts/external/{urllib.parse.quote(number, safe='')}"
        try:
            receipt = self._get_or_none(path)
        except Rejected as error:
            if error.status_code != 401:
                raise
            self._get("/packages/v2/adjust/reasons", {"pageNumber": 1, "pageSize": 1})  # raises if keys fail
            return None
        return receipt if isinstance(receipt, dict) and _field(receipt, "Id") is not None else None

    def receipt_id_by_external_number(self, number: str) -> int | None:
        """The state's id of the receipt sent under our `number`, or None when the state has none."""
        receipt = self.receipt_by_external_number(number)
        return None if receipt is None else int(_field(receipt, "Id"))

    def receipt_get(self, receipt_id: int) -> dict | None:
        """GET /sales/v2/receipts/{id}; None when the state knows no such receipt."""
        receipt = self._get_or_none(f"/sales/v2/receipts/{int(receipt_id)}")
        return receipt if isinstance(receipt, dict) else None

    def receipts_sold_around(self, sales_date_time: str) -> Iterator[dict]:
        """Active and archived receipts sold within a day either side of a facility-local SalesDateTime
        (GET /sales/v2/receipts/active|inactive with salesDateStart/End): how a receipt sent without our number
        is found by its time and packages."""
        moment = dt.datetime.fromisoformat(sales_date_time[:19]).replace(tzinfo=dt.UTC)
        window = {
            "salesDateStart": metrc_utc_timestamp(moment - dt.timedelta(days=1)),
            "salesDateEnd": metrc_utc_timestamp(moment + dt.timedelta(days=1)),
        }
        for path in ("/sales/v2/receipts/active", "/sales/v2/receipts/inactive"):
            yield from self.list_pages(path, with_modified_range=False, params=window)

    def package_get(self, label: str) -> dict | None:
        """GET /packages/v2/{label}; None when the state knows no such package."""
        package = self._get_or_none(f"/packages/v2/{urllib.parse.quote(label, safe='')}")
        return package if isinstance(package, dict) else None

    def list_pages(
        self,
        path: str,
        *,
        modified_since: dt.datetime | None = None,
        modified_until: dt.datetime | None = None,
        with_modified_range: bool = True,
        with_license: bool = True,
        params: dict | None = None,
    ) -> Iterator[dict]:
        """Every record of a v2 list: pageNumber from 1, pageSize 20, lastModifiedStart/End (and licenseNumber,
        except on the routes that take none: a transfer's deliveries and their packages)."""
        query = dict(params or {})
        if with_modified_range:
            start = modified_since or HISTORY_START
            end = modified_until or dt.datetime.now(dt.UTC)
            query["lastModifiedStart"] = metrc_utc_timestamp(start)
            query["lastModifiedEnd"] = metrc_utc_timestamp(end)
        for page in range(1, MAX_PAGES + 1):
            body = self._get(
                path, {**query, "pageNumber": page, "pageSize": self.page_size}, with_license=with_license
            )
            if isinstance(body, list):  # an answer without the envelope: everything at once
                yield from body
                return
            if not isinstance(body, dict):
                return
            data = _field(body, "Data") or []
            yield from data
            total_pages = _field(body, "TotalPages")
            if not data or (isinstance(total_pages, int) and page >= total_pages):
                return
            if total_pages is None and len(data) < self.page_size:
                return

    def active_packages(self, *, modified_since: dt.datetime | None = None) -> list[StatePackage]:
        packages = []
        for record in self.list_pages("/packages/v2/active", modified_since=modified_since):
            item = _field(record, "Item") or {}
            packages.append(
                StatePackage(
                    label=_field(record, "Label", ""),
                    quantity=_decimal(_field(record, "Quantity")),
                    unit_of_measure=_field(record, "UnitOfMeasureName") or "",
                    item_name=_field(item, "Name") or _field(record, "ProductName") or "",
                    is_on_hold=bool(_field(record, "IsOnHold", False)),
                    is_finished=bool(_field(record, "IsFinished", False) or _field(record, "FinishedDate")),
                    lab_testing_state=_field(record, "LabTestingState") or "",
                    last_modified=_parse_timestamp(_field(record, "LastModified")),
                )
            )
        return packages

    def incoming_transfers(self, *, modified_since: dt.datetime | None = None) -> list[StateTransfer]:
        """The facility's incoming transfers with their packages: GET /transfers/v2/incoming, then each
        transfer's deliveries to this facility (GET /transfers/v2/{id}/deliveries) and their packages
        (GET /transfers/v2/deliveries/{id}/packages)."""
        return [
            self._transfer_with_packages(record)
            for record in self.list_pages("/transfers/v2/incoming", modified_since=modified_since)
        ]

    def incoming_transfer(self, manifest_number: str) -> StateTransfer | None:
        """The incoming transfer under `manifest_number`, with its packages, or None when the state lists none
        for this facility."""
        wanted = str(manifest_number).strip()
        for record in self.list_pages("/transfers/v2/incoming"):
            if str(_field(record, "ManifestNumber", "")).strip() == wanted:
                return self._transfer_with_packages(record)
        return None

    def _transfer_with_packages(self, record: dict) -> StateTransfer:
        transfer_id = _field(record, "Id")
        deliveries = [
            delivery
            for delivery in self.list_pages(
                f"/transfers/v2/{int(transfer_id)}/deliveries", with_modified_range=False, with_license=False
            )
            if (_field(delivery, "RecipientFacilityLicenseNumber") or self.license_number)
            == self.license_number
        ]
        packages = []
        for delivery in deliveries:
            for package in self.list_pages(
                f"/transfers/v2/deliveries/{int(_field(delivery, 'Id'))}/packages",
                with_modified_range=False,
                with_license=False,
            ):
                packages.append(
                    {
                        "label": _field(package, "PackageLabel", ""),
                        "item_name": _field(package, "ItemName") or _field(package, "ProductName") or "",
                        "quantity": _decimal(_field(package, "ShippedQuantity")),
                        "unit_of_measure": _field(package, "ShippedUnitOfMeasureName") or "",
                        "lab_testing_state": _field(package, "LabTestingState") or "",
                        "shipment_state": _field(package, "ShipmentPackageState") or "",
                    }
                )
        return StateTransfer(
            manifest_number=str(_field(record, "ManifestNumber", "")),
            shipper_license=_field(record, "ShipperFacilityLicenseNumber") or "",
            shipper_name=_field(record, "ShipperFacilityName") or "",
            packages=packages,
            transfer_id=int(transfer_id),
            delivery_ids=[int(_field(delivery, "Id")) for delivery in deliveries],
        )

    def customer_types(self) -> list[str]:
        """The sales customer types the state accepts (GET /sales/v2/customertypes), e.g. Consumer, Patient,
        Caregiver, ExternalPatient."""
        return [str(name) for name in self._data("/sales/v2/customertypes")]

    def patient_registration_locations(self) -> list[dict]:
        """Where an external patient may be registered: [{"id", "name"}] (GET
        /sales/v2/patientregistration/locations), for a receipt's PatientRegistrationLocationId."""
        return [
            {"id": int(_field(record, "Id")), "name": str(_field(record, "Name") or "")}
            for record in self._data("/sales/v2/patientregistration/locations")
            if isinstance(record, dict) and _field(record, "Id") is not None
        ]

    def caregiver_status(self, caregiver_license_number: str) -> bool | None:
        """Whether the state lists the caregiver's card as active; None where the state offers no lookup."""
        if self.state not in CAREGIVER_STATUS_STATES:
            return None
        try:
            body = self._get(f"/caregivers/v2/status/{urllib.parse.quote(caregiver_license_number, safe='')}")
        except Rejected as error:
            if error.status_code == 404:
                return False
            raise
        record = body[0] if isinstance(body, list) and body else body if isinstance(body, dict) else {}
        return bool(_field(record or {}, "Active", False))

    def patient_status(self, patient_license_number: str) -> PatientStatus | None:
        if self.state not in PATIENT_STATUS_STATES:
            return None
        body = self._get(f"/patients/v2/statuses/{patient_license_number}")
        records = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
        if isinstance(body, dict) and _field(body, "Data") is not None:
            records = _field(body, "Data")
        if not records:
            return PatientStatus(patient_license_number=patient_license_number, active=False)
        record = records[0]
        allotments = {
            key: _decimal(_field(record, name))
            for key, name in (
                ("flower_oz", "FlowerOuncesAvailable"),
                ("thc_oz", "ThcOuncesAvailable"),
                ("purchase_amount_days", "PurchaseAmountDays"),
            )
            if _field(record, name) is not None
        }
        expires = _field(record, "IdentificationExpirationDate") or _field(record, "ExpirationDate")
        return PatientStatus(
            patient_license_number=_field(record, "PatientLicenseNumber") or patient_license_number,
            active=bool(_field(record, "Active", False)),
            expires_on=dt.date.fromisoformat(str(expires)[:10]) if expires else None,
            allotments=allotments,
        )

    def adjustment_reasons(self) -> list[AdjustmentReason]:
        return [
            AdjustmentReason(
                name=_field(record, "Name", ""),
                requires_note=bool(_field(record, "RequiresNote", False)),
                requires_waste_weight=bool(_field(record, "RequiresWasteWeight", False)),
            )
            for record in self.list_pages("/packages/v2/adjust/reasons", with_modified_range=False)
        ]

    # ------------------------------------------------------------------ deliveries

    def _require_deliveries(self) -> None:
        if self.state and self.state not in DELIVERY_STATES:
            raise DeliveryNotOffered(f"Metrc in {self.state} offers no sales or retailer deliveries.")

    def _write_once(self, operation: Operation, obj: dict) -> Any:
        """One write, exactly once. delivery_write_found() reads the state's records for it before sending (a
        caller retrying after a crash or a lost answer finds its earlier write) and after a lost answer (before
        the one resend). A read that fails raises TransientFailure with outcome_unknown: the caller tries the
        whole call again later."""
        self._require_deliveries()
        found = self.delivery_write_found(operation, obj)
        if found is not None:
            return found
        for attempt in (1, 2):
            try:
                result = self.submit(operation, [obj])
            except TransientFailure as error:
                if not error.outcome_unknown:
                    raise
                try:
                    found = self.delivery_write_found(operation, obj)
                except TransientFailure as read_error:
                    read_error.outcome_unknown = True
                    raise read_error from error
                if found is not None:
                    return found
                if attempt == 2:
                    raise
                logger.info(
                    "Metrc %s: the answer was lost and the state has no record; sending again", operation
                )
                continue
            return result.ids[0] if result.ids else True
        raise AssertionError("unreachable")

    def delivery_write_found(self, operation: Operation, obj: dict) -> Any:
        """Whether the state already has the delivery write `obj` (one request object of `operation`), by keys
        we control: what the write answered (the new record's id, or True) when it does, None when it does not.

        - a retailer delivery: among the active ones, the same DateTime to the second, driver's licence, plate
          and packages carried;
        - a sale from it: among its destinations (or the sales deliveries), the same SalesDateTime to the
          second, recipient and lines;
        - a restock: the delivery's RestockDateTime is ours (to the second) with the packages on it;
        - a departure, an end, a completion, a void: the record shows it departed, completed or voided;
        - a sales delivery: among the active and inactive ones not voided, the same SalesDateTime to the
          second, recipient and lines.

        Raises Rejected (404) when the record a write is about is unknown to the state."""
        operation = Operation(operation)
        if operation == Operation.RETAILER_DELIVERY_CREATE:
            labels = {_field(p, "PackageLabel") for p in _field(obj, "Packages") or []}
            for record in self._retailer_records(active=True):
                if (
                    _second(_field(record, "DateTime")) == _second(_field(obj, "DateTime"))
                    and _same(_field(record, "DriversLicenseNumber"), _field(obj, "DriversLicenseNumber"))
                    and _same(
                        _field(record, "VehicleLicensePlateNumber"), _field(obj, "VehicleLicensePlateNumber")
                    )
                    and set(_packages_of(record)) == labels
                ):
                    return int(_field(record, "Id"))
            return None
        if operation == Operation.SALES_DELIVERY_CREATE:
            for active in (True, False):
                for record in self._sales_records(active=active):
                    if _same_sale(record, obj) and not _delivery_view(record).voided:
                        return int(_field(record, "Id"))
            return None
        if operation == Operation.SALES_DELIVERY_VOID:
            record = self.sales_delivery_get(int(_field(obj, "Id")))
            return True if record is None or _delivery_view(record).voided else None
        if operation == Operation.SALES_DELIVERY_COMPLETE:
            delivery_id = int(_field(obj, "Id"))
            record = self.sales_delivery_get(delivery_id)
            if record is None:
                raise Rejected(
                    f"Metrc knows no sales delivery {delivery_id} for licence {self.license_number}",
                    status_code=404,
                    errors=[RowError(0, f"Delivery {delivery_id} was not found.")],
                )
            return True if _delivery_view(record).completed else None
        if operation == Operation.RETAILER_DELIVERY_VOID:
            record = self.retailer_delivery_get(int(_field(obj, "Id")))
            return True if record is None or _delivery_view(record).voided else None
        record = self._retailer_now(int(_field(obj, "RetailerDeliveryId")))
        if operation == Operation.RETAILER_DELIVERY_DEPART:
            return True if _delivery_view(record).departed else None
        if operation == Operation.RETAILER_DELIVERY_END:
            return True if _delivery_view(record).completed else None
        if operation == Operation.RETAILER_DELIVERY_RESTOCK:
            labels = {_field(p, "PackageLabel") for p in _field(obj, "Packages") or []}
            restocked = _second(_field(record, "RestockDateTime")) == _second(_field(obj, "DateTime"))
            return True if restocked and labels <= set(_packages_of(record)) else None
        if operation == Operation.RETAILER_DELIVERY_SALE:
            if any(_same_sale(candidate, obj) for candidate in _field(record, "Destinations") or []):
                return True
            for active in (True, False):
                if any(_same_sale(candidate, obj) for candidate in self._sales_records(active=active)):
                    return True
            return None
        raise ValueError(f"{operation} is not a delivery write")

    # California retailer deliveries

    def retailer_delivery_create(self, plan: RetailerDeliveryPlan, *, zone: str) -> int:
        """POST /sales/v2/deliveries/retailer; the state's id of the retailer delivery. Found at the state (before
        sending, and after a lost answer) among the active retailer deliveries by its DateTime to the second, the
        driver's licence, the plate and the packages carried."""
        driver = _driver_dict(plan.driver, plan.vehicle)
        obj = retailer_delivery_object(
            plan.created_at,
            zone,
            driver=driver,
            estimated_departure=plan.estimated_departure,
            packages=[_carried(package) for package in plan.packages],
            destinations=[
                destination_object(
                    zone,
                    sale.customer_type,
                    transactions=[_line(line) for line in sale.lines],
                    recipient=_recipient_dict(sale.recipient),
                    patient_license=sale.patient_license,
                    consumer_id=sale.consumer_id,
                    estimated_arrival=sale.estimated_arrival,
                )
                for sale in plan.sales
            ],
        )

        return int(self._write_once(Operation.RETAILER_DELIVERY_CREATE, obj))

    def retailer_delivery_get(self, retailer_delivery_id: int) -> dict | None:
        """GET /sales/v2/deliveries/retailer/{id}; None when the state knows no such delivery."""
        record = self._get_or_none(f"/sales/v2/deliveries/retailer/{int(retailer_delivery_id)}")
        return record if isinstance(record, dict) else None

    def _retailer_now(self, retailer_delivery_id: int) -> dict:
        record = self.retailer_delivery_get(retailer_delivery_id)
        if record is None:
            raise Rejected(
                f"Metrc knows no retailer delivery {retailer_delivery_id} for licence {self.license_number}",
                status_code=404,
                errors=[RowError(0, f"Retailer delivery {retailer_delivery_id} was not found.")],
            )
        return record

    def retailer_delivery_depart(self, retailer_delivery_id: int) -> None:
        """POST /sales/v2/deliveries/retailer/depart; done already when the state shows a departure."""
        self._write_once(
            Operation.RETAILER_DELIVERY_DEPART, retailer_delivery_depart_object(retailer_delivery_id)
        )

    def retailer_delivery_sale(self, retailer_delivery_id: int, sale: DeliverySale, *, zone: str) -> None:
        """POST /sales/v2/deliveries/retailer/sale: an order sold from the vehicle at its stop. Found at the state
        by its time, recipient and lines among the delivery's destinations or the sales deliveries."""
        obj = retailer_delivery_sale_object(
            retailer_delivery_id,
            sale.sold_at,
            zone,
            sale.customer_type,
            transactions=[_line(line) for line in sale.lines],
            recipient=_recipient_dict(sale.recipient),
            patient_license=sale.patient_license,
            consumer_id=sale.consumer_id or None,
            phone=sale.phone_for_questions or None,
            planned_route=sale.planned_route,
            estimated_departure=sale.estimated_departure,
            estimated_arrival=sale.estimated_arrival,
        )

        self._write_once(Operation.RETAILER_DELIVERY_SALE, obj)

    def retailer_delivery_restock(self, restock: RetailerRestock, *, zone: str) -> None:
        """POST /sales/v2/deliveries/retailer/restock; found by the delivery's RestockDateTime (ours, to the
        second) with the restocked packages on it."""
        obj = retailer_delivery_restock_object(
            restock.retailer_delivery_id,
            restock.restocked_at,
            zone,
            estimated_departure=restock.estimated_departure,
            packages=[_carried(package, restock=True) for package in restock.packages],
        )

        self._write_once(Operation.RETAILER_DELIVERY_RESTOCK, obj)

    def retailer_delivery_end(self, end: RetailerDeliveryEnd, *, zone: str) -> None:
        """POST /sales/v2/deliveries/retailer/end: what is left of every package carried. Done already when the
        state shows the delivery completed."""
        obj = retailer_delivery_end_object(
            end.retailer_delivery_id,
            end.arrived_at,
            zone,
            packages=[
                retailer_end_package_object(p.package_label, p.end_quantity, p.unit) for p in end.packages
            ],
        )

        self._write_once(Operation.RETAILER_DELIVERY_END, obj)

    def retailer_delivery_void(self, retailer_delivery_id: int) -> None:
        """DELETE /sales/v2/deliveries/retailer/{id}; done already when the state shows it voided or has none."""
        self._write_once(Operation.RETAILER_DELIVERY_VOID, {"Id": int(retailer_delivery_id)})

    def _retailer_records(self, *, active: bool) -> Iterator[dict]:
        path = "/sales/v2/deliveries/retailer/" + ("active" if active else "inactive")
        return self.list_pages(path)

    def retailer_deliveries(self, *, active: bool = True) -> list[StateDelivery]:
        """GET /sales/v2/deliveries/retailer/active (or inactive)."""
        self._require_deliveries()
        return [_delivery_view(record) for record in self._retailer_records(active=active)]

    # Sales deliveries (the other Metrc states)

    def sales_delivery_create(self, plan: SalesDeliveryPlan, *, zone: str) -> int:
        """POST /sales/v2/deliveries; the state's id of the delivery. Found at the state by its SalesDateTime,
        recipient and lines."""
        sale = plan.sale
        obj = sales_delivery_object(
            sale.sold_at,
            zone,
            sale.customer_type,
            transactions=[_line(line) for line in sale.lines],
            recipient=_recipient_dict(sale.recipient),
            driver={
                **_driver_dict(plan.driver, plan.vehicle),
                "phone": sale.phone_for_questions or plan.driver.phone or None,
            },
            patient_license=sale.patient_license,
            consumer_id=sale.consumer_id or None,
            planned_route=plan.planned_route,
            estimated_departure=plan.estimated_departure,
            estimated_arrival=plan.estimated_arrival,
            transporter_facility_license=plan.transporter_license or None,
        )

        return int(self._write_once(Operation.SALES_DELIVERY_CREATE, obj))

    def sales_delivery_get(self, delivery_id: int) -> dict | None:
        """GET /sales/v2/deliveries/{id}; None when the state knows no such delivery."""
        record = self._get_or_none(f"/sales/v2/deliveries/{int(delivery_id)}")
        return record if isinstance(record, dict) else None

    def sales_delivery_complete(self, completion: SalesDeliveryCompletion, *, zone: str) -> None:
        """PUT /sales/v2/deliveries/complete, with the accepted packages and the returned ones with the state's
        reasons. Done already when the state shows the delivery completed."""
        obj = sales_delivery_complete_object(
            completion.delivery_id,
            completion.arrived_at,
            zone,
            accepted_packages=list(completion.accepted_packages),
            returned_packages=[
                returned_package_object(r.package_label, r.quantity, r.unit, r.reason, r.note or None)
                for r in completion.returned_packages
            ],
            payment_type=completion.payment_type or None,
        )

        self._write_once(Operation.SALES_DELIVERY_COMPLETE, obj)

    def sales_delivery_void(self, delivery_id: int) -> None:
        """DELETE /sales/v2/deliveries/{id}; done already when the state shows it voided or has none."""
        self._write_once(Operation.SALES_DELIVERY_VOID, {"Id": int(delivery_id)})

    def _sales_records(self, *, active: bool) -> Iterator[dict]:
        return self.list_pages("/sales/v2/deliveries/" + ("active" if active else "inactive"))

    def sales_deliveries(self, *, active: bool = True) -> list[StateDelivery]:
        """GET /sales/v2/deliveries/active (or inactive)."""
        self._require_deliveries()
        return [_delivery_view(record) for record in self._sales_records(active=active)]

    def delivery_return_reasons(self) -> list[ReturnReason]:
        """GET /sales/v2/deliveries/returnreasons: the reasons a returned package may give."""
        self._require_deliveries()
        return [
            ReturnReason(
                name=str(_field(record, "Name") or ""),
                requires_note=bool(_field(record, "RequiresNote", False)),
            )
            for record in self.list_pages("/sales/v2/deliveries/returnreasons", with_modified_range=False)
        ]


# ----------------------------------------------------------------------------------------------------------
# Deliveries: typed inputs -> request objects, and the state's records read back


def _driver_dict(driver: Driver, vehicle: Vehicle) -> dict:
    return {
        "employee_id": driver.employee_id,
        "name": driver.name,
        "license_number": driver.license_number,
        "phone": driver.phone or None,
        "vehicle_make": vehicle.make,
        "vehicle_model": vehicle.model,
        "vehicle_plate": vehicle.plate,
    }


def _recipient_dict(recipient: Recipient) -> dict:
    return {
        "name": recipient.name,
        "street1": recipient.street1,
        "street2": recipient.street2,
        "city": recipient.city,
        "county": recipient.county or None,
        "state": recipient.state,
        "postal_code": recipient.postal_code,
    }


def _line(line: DeliveryLine) -> dict:
    return transaction_object(
        line.package_label,
        line.quantity,
        line.unit,
        line.total_amount,
        price=line.price,
        excise_tax=line.excise_tax,
        sales_tax=line.sales_tax,
        discount_amount=line.discount_amount,
    )


def _carried(package, *, restock: bool = False) -> dict:
    return retailer_package_object(
        package.package_label,
        package.quantity,
        package.unit,
        package.total_price,
        remove_current_package=(bool(package.replace_current) if restock else None),
    )


def _second(value: Any) -> str:
    """A local date and time to the second (the state may keep or drop the milliseconds)."""
    return str(value or "")[:19]


def _same(a: Any, b: Any) -> bool:
    return str(a or "").strip().casefold() == str(b or "").strip().casefold()


def _sale_lines(record: dict) -> list[tuple[str, Decimal]]:
    lines = []
    for line in _field(record, "Transactions") or []:
        if not isinstance(line, dict) or _field(line, "ArchivedDate"):
            continue
        quantity = _field(line, "QuantitySold")
        if quantity is None:
            quantity = _field(line, "Quantity")
        lines.append((str(_field(line, "PackageLabel")), _decimal(quantity).normalize()))
    return sorted(lines)


def _same_sale(record: Any, obj: dict) -> bool:
    """Whether the state's record (a sales delivery, or a retailer delivery's destination) is the sale `obj`:
    the same SalesDateTime to the second, recipient and lines."""
    return (
        isinstance(record, dict)
        and _second(_field(record, "SalesDateTime")) == _second(obj.get("SalesDateTime"))
        and _same(_field(record, "RecipientName"), obj.get("RecipientName"))
        and _sale_lines(record) == _sale_lines(obj)
    )


def _packages_of(record: dict) -> dict[str, Decimal]:
    packages = {}
    for package in _field(record, "Packages") or []:
        if isinstance(package, dict):
            label = _field(package, "PackageLabel") or _field(package, "Label")
            packages[str(label)] = _decimal(_field(package, "Quantity"))
    return packages


def _delivery_view(record: dict) -> StateDelivery:
    state = str(_field(record, "RetailerDeliveryState") or _field(record, "SalesDeliveryState") or "")
    return StateDelivery(
        id=int(_field(record, "Id")),
        number=str(_field(record, "RetailerDeliveryNumber") or _field(record, "DeliveryNumber") or ""),
        state=state,
        departed=bool(_field(record, "ActualDepartureDateTime")),
        completed=bool(_field(record, "CompletedDateTime")),
        voided=bool(_field(record, "VoidedDate")),
        packages=_packages_of(record),
        record=record,
    )
