"""The request schemas of Metrc's OpenAPI document (shared/reference/metrc), corrected as its README says,
as JSON Schema for jsonschema: PascalCase names matched without regard to case, the missing properties added,
the documented required fields required (and not null), local times without offset, unknown names refused."""

import copy
import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# A copy of shared/reference/metrc/metrc-openapi-v2.yaml (OpenMetrc, MIT: see reference/LICENSE.md) travels
# with the tests, so they run wherever the repository is cloned.
SPEC_PATH = Path(
    os.environ.get(
        "METRC_OPENAPI_PATH", Path(__file__).resolve().parent / "reference" / "metrc-openapi-v2.yaml"
    )
)

LOCAL_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?$"  # README 4: no offset, no Z
DATE = r"^\d{4}-\d{2}-\d{2}$"

NUMBER = {"type": "number", "nullable": True}
STRING = {"type": "string", "nullable": True}
TRANSACTION_EXTRAS = {
    "unitThcPercent": NUMBER,
    "unitThcContent": NUMBER,
    "unitThcContentUnitOfMeasure": STRING,
    "unitWeight": NUMBER,
    "unitWeightUnitOfMeasure": STRING,
    "invoiceNumber": STRING,
    "price": NUMBER,
    "exciseTax": NUMBER,
    "cityTax": NUMBER,
    "countyTax": NUMBER,
    "municipalTax": NUMBER,
    "discountAmount": NUMBER,
    "subTotal": NUMBER,
    "salesTax": NUMBER,
    "qrCodes": {"type": "array", "items": {"type": "string"}, "nullable": True},
}
# README 2: properties Metrc's own examples send that the document lacks (added only where missing).
MISSING_PROPERTIES = {
    "PostSaleReceiptsRequest": {"externalReceiptNumber": STRING, "patientRegistrationLocationId": {"type": "integer", "nullable": True}},
    "PutSaleReceiptsRequest": {"externalReceiptNumber": STRING, "patientRegistrationLocationId": {"type": "integer", "nullable": True}},
    "SaleReceiptTransaction": TRANSACTION_EXTRAS,
    "SalesDeliveryTransaction": TRANSACTION_EXTRAS,
    "PostSaleDeliveriesRequest": {"transporterFacilityLicenseNumber": STRING, "recipientZoneId": STRING},
    "PutSaleDeliveryCompleteRequest": {"paymentType": STRING},
    "SalesDeliveryRestockPackage": {"removeCurrentPackage": {"type": "boolean", "nullable": True}},
}  # fmt: skip
# README 3: required, and then never null.
REQUIRED = {
    "PostSaleReceiptsRequest": ["salesDateTime", "salesCustomerType", "transactions"],
    "PutSaleReceiptsRequest": ["id", "salesDateTime", "salesCustomerType", "transactions"],
    "SaleReceiptTransaction": ["packageLabel", "quantity", "unitOfMeasure", "totalAmount"],
    "SalesDeliveryTransaction": ["packageLabel", "quantity", "unitOfMeasure", "totalAmount"],
    "PostPackageAdjustRequest": ["label", "quantity", "unitOfMeasure", "adjustmentReason", "adjustmentDate"],
    "PostSaleDeliveryRetailerRequest": ["dateTime", "packages"],
    "PostSaleDeliveryRetailerDepartRequest": ["retailerDeliveryId"],
    "PostSaleDeliveryRetailerEndRequest": ["retailerDeliveryId", "actualArrivalDateTime", "packages"],
    "SalesDeliveryPackageEnd": ["label", "endQuantity", "endUnitOfMeasure"],
}
# README 4: local times without offset, and dates.
PATTERNS = {
    ("PostSaleReceiptsRequest", "salesDateTime"): LOCAL_DATETIME,
    ("PutSaleReceiptsRequest", "salesDateTime"): LOCAL_DATETIME,
    ("PostSaleDeliveriesRequest", "salesDateTime"): LOCAL_DATETIME,
    ("PostSaleDeliveryRetailerSaleRequest", "salesDateTime"): LOCAL_DATETIME,
    ("PostSaleDeliveryRetailerRequest", "dateTime"): LOCAL_DATETIME,
    ("PostSaleDeliveryRetailerRestockRequest", "dateTime"): LOCAL_DATETIME,
    ("PostSaleDeliveryRetailerEndRequest", "actualArrivalDateTime"): LOCAL_DATETIME,
    ("PutSaleDeliveryCompleteRequest", "actualArrivalDateTime"): LOCAL_DATETIME,
    ("PostPackageAdjustRequest", "adjustmentDate"): DATE,
}

ROUTES = {
    ("POST", "/sales/v2/receipts"),
    ("PUT", "/sales/v2/receipts"),
    ("POST", "/packages/v2/adjust"),
    ("POST", "/sales/v2/deliveries"),
    ("PUT", "/sales/v2/deliveries/complete"),
    ("POST", "/sales/v2/deliveries/retailer"),
    ("POST", "/sales/v2/deliveries/retailer/depart"),
    ("POST", "/sales/v2/deliveries/retailer/sale"),
    ("POST", "/sales/v2/deliveries/retailer/restock"),
    ("POST", "/sales/v2/deliveries/retailer/end"),
    ("PUT", "/packages/v2/finish"),
    ("PUT", "/packages/v2/unfinish"),
}


@functools.cache
def _document() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def _corrected_components() -> dict:
    components = copy.deepcopy(_document()["components"]["schemas"])
    # README 5: a sales delivery's transactions are a receipt's, not the response's shape.
    components["PostSaleDeliveriesRequest"]["properties"]["transactions"]["items"] = {
        "$ref": "#/components/schemas/SaleReceiptTransaction"
    }
    # Restock packages are delivery packages that may also replace the package already loaded.
    restock = components["PostSaleDeliveryRetailerRestockRequest"]["properties"]["packages"]
    components["SalesDeliveryRestockPackage"] = copy.deepcopy(components["SalesDeliveryPackage"])
    restock["items"] = {"$ref": "#/components/schemas/SalesDeliveryRestockPackage"}
    for name, extras in MISSING_PROPERTIES.items():
        properties = components[name]["properties"]
        for prop, schema in extras.items():
            properties.setdefault(prop, copy.deepcopy(schema))
    for name, required in REQUIRED.items():
        properties = components[name]["properties"]
        for prop in required:
            assert prop in properties, f"{name}.{prop} is not in the document"
            properties[prop]["nullable"] = False
        components[name]["required"] = sorted(set(components[name].get("required", [])) | set(required))
    for (name, prop), pattern in PATTERNS.items():
        schema = components[name]["properties"][prop]
        schema["pattern"] = pattern
        schema.pop("format", None)
    return components


def _to_json_schema(schema: Any, components: dict) -> Any:
    """OpenAPI 3.0 -> JSON Schema: $ref inlined, one-choice oneOf unwrapped, nullable as a null type, property
    names lower-cased (matched without regard to case), unknown properties refused."""
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _to_json_schema(components[schema["$ref"].rsplit("/", 1)[1]], components)
    nullable = bool(schema.get("nullable"))
    if "oneOf" in schema and len(schema["oneOf"]) == 1:
        inner = _to_json_schema(schema["oneOf"][0], components)
        if nullable:
            inner = {"anyOf": [inner, {"type": "null"}]}
        return inner
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("description", "example", "format", "nullable", "additionalProperties", "$ref"):
            continue
        if key == "properties":
            out["properties"] = {name.lower(): _to_json_schema(v, components) for name, v in value.items()}
        elif key == "required":
            out["required"] = sorted(name.lower() for name in value)
        elif key == "items":
            out["items"] = _to_json_schema(value, components)
        else:
            out[key] = value
    if "properties" in out:
        out["additionalProperties"] = False
    if nullable and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@functools.cache
def request_schema(method: str, path: str) -> dict:
    operation = _document()["paths"][path][method.lower()]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return _to_json_schema(schema, _corrected_components())


class DuplicateName(ValueError):
    pass


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            lowered = key.lower()
            if lowered in out:
                raise DuplicateName(f"{key} is sent twice (names are matched without regard to case)")
            out[lowered] = _lower_keys(item)
        return out
    if isinstance(value, list):
        return [_lower_keys(item) for item in value]
    return value


def request_errors(method: str, path: str, body: Any) -> list[str]:
    """Every way `body` breaks the corrected request schema of (method, path); empty when it is valid."""
    validator = jsonschema.Draft202012Validator(request_schema(method, path))
    try:
        instance = _lower_keys(body)
    except DuplicateName as error:
        return [str(error)]
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def assert_valid_request(method: str, path: str, body: Any) -> None:
    errors = request_errors(method, path, body)
    assert not errors, f"{method} {path}: " + "; ".join(errors)
