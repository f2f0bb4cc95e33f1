"""Writes of the delivery app: zones (drawn or imported from GeoJSON), excluded places and customers' delivery
addresses. Each write is one transaction with its audit record; bad input changes nothing."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from delivery.geocoding import GeocoderUnavailable, geocode, geocoder_configured
from delivery.geometry import geometry_area, geometry_problems
from delivery.models import DeliveryAddress, DeliveryExclusion, DeliveryZone
from delivery.selectors import physical_address_reasons
from dispensary.audit import audit_record, snapshot
from dispensary.errors import ApplicationError, ValidationFailed
from dispensary.models import Customer, Store, User

MAX_MONEY = Decimal("100000")
MAX_MINUTES = 24 * 60
MAX_FEATURES = 500
ZONE_FIELDS = ("name", "minimum_order", "fee", "estimated_minutes")


class ZoneImportRefused(ApplicationError):
    code = "zone_import_refused"
    status = 422


def _money(value, field_name: str, problems: dict) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        problems.setdefault(field_name, []).append("Give an amount in dollars, e.g. 50 or 4.99.")
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        problems.setdefault(field_name, []).append(f"{value!r} is not an amount.")
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_MONEY or amount.as_tuple().exponent < -2:
        problems.setdefault(field_name, []).append(
            f"Give an amount from 0 to {MAX_MONEY} with at most 2 decimals."
        )
        return None
    return amount


def _minutes(value, problems: dict) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems.setdefault("estimated_minutes", []).append("Give the estimated time in whole minutes.")
        return None
    try:
        minutes = int(str(value).strip())
    except ValueError:
        problems.setdefault("estimated_minutes", []).append(f"{value!r} is not a whole number of minutes.")
        return None
    if not 1 <= minutes <= MAX_MINUTES:
        problems.setdefault("estimated_minutes", []).append(f"Give 1 to {MAX_MINUTES} minutes.")
        return None
    return minutes


def _zone_values(*, name, geometry, minimum_order, fee, estimated_minutes) -> dict:
    problems: dict[str, list[str]] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 80:
        problems.setdefault("name", []).append("Give the zone a name of 1 to 80 characters.")
    geometry_reasons = geometry_problems(geometry)
    if geometry_reasons:
        problems["geometry"] = geometry_reasons
    values = {
        "name": name,
        "geometry": geometry,
        "minimum_order": _money(minimum_order, "minimum_order", problems),
        "fee": _money(fee, "fee", problems),
        "estimated_minutes": _minutes(estimated_minutes, problems),
    }
    if problems:
        first = next(iter(problems.values()))[0]
        raise ValidationFailed(first, details=problems)
    values["area"] = geometry_area(geometry)
    return values


def _name_taken(store: Store, name: str) -> ValidationFailed:
    message = f"{store.name} already has a zone named {name!r}."
    return ValidationFailed(message, details={"name": [message]})


@transaction.atomic
def delivery_zone_create(
    *, store: Store, actor, name, geometry, minimum_order, fee, estimated_minutes, is_active: bool = True
) -> DeliveryZone:
    values = _zone_values(
        name=name,
        geometry=geometry,
        minimum_order=minimum_order,
        fee=fee,
        estimated_minutes=estimated_minutes,
    )
    try:
        with transaction.atomic():
            zone = DeliveryZone.objects.create(store=store, is_active=bool(is_active), **values)
    except IntegrityError:
        raise _name_taken(store, values["name"]) from None
    audit_record(
        actor=actor,
        action="delivery_zone.created",
        instance=zone,
        after=snapshot(zone),
        organization=store.organization,
        store=store,
    )
    return zone


@transaction.atomic
def delivery_zone_update(
    *, zone: DeliveryZone, actor, name, geometry, minimum_order, fee, estimated_minutes, is_active: bool
) -> DeliveryZone:
    values = _zone_values(
        name=name,
        geometry=geometry,
        minimum_order=minimum_order,
        fee=fee,
        estimated_minutes=estimated_minutes,
    )
    locked = DeliveryZone.objects.select_for_update().get(pk=zone.pk)
    before = snapshot(locked)
    for key, value in values.items():
        setattr(locked, key, value)
    locked.is_active = bool(is_active)
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        raise _name_taken(locked.store, values["name"]) from None
    audit_record(
        actor=actor,
        action="delivery_zone.updated",
        instance=locked,
        before=before,
        after=snapshot(locked),
        organization=locked.store.organization,
        store=locked.store,
    )
    return locked


# --- GeoJSON import ------------------------------------------------------------------------------------------------


@dataclass
class FeatureReport:
    index: int
    name: str
    action: str = ""  # "create" or "update" when accepted
    reasons: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.reasons


@dataclass
class ImportReport:
    dry_run: bool
    features: list[FeatureReport]
    problems: list[str] = field(default_factory=list)  # about the file as a whole
    written: bool = False

    @property
    def refused(self) -> list[FeatureReport]:
        return [feature for feature in self.features if not feature.accepted]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.refused


def _feature_check(
    index: int, feature, store_zones: dict[str, DeliveryZone], seen: set[str]
) -> tuple[FeatureReport, dict]:
    report = FeatureReport(index=index, name="")
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        report.reasons.append(
            'Not a GeoJSON Feature ({"type": "Feature", "geometry": ..., "properties": ...}).'
        )
        return report, {}
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        properties = {}
    name = properties.get("name")
    report.name = name.strip() if isinstance(name, str) else ""
    missing = [key for key in ZONE_FIELDS if properties.get(key) in (None, "")]
    if missing:
        report.reasons.append(f"Missing properties: {', '.join(missing)}.")
    if feature.get("geometry") is None:
        report.reasons.append("No geometry.")
    values = {}
    try:
        values = _zone_values(
            name=properties.get("name", ""),
            geometry=feature.get("geometry"),
            minimum_order=properties.get("minimum_order", "0"),
            fee=properties.get("fee", "0"),
            estimated_minutes=properties.get("estimated_minutes", 1),
        )
    except ValidationFailed as error:
        for field_name, messages in error.details.items():
            if field_name == "geometry" and feature.get("geometry") is None:
                continue
            if field_name in missing:
                continue
            label = "geometry" if field_name == "geometry" else field_name.replace("_", " ")
            report.reasons += [f"{label}: {message}" for message in messages]
    values.pop("area", None)
    active = properties.get("active", True)
    if not isinstance(active, bool):
        report.reasons.append("active: give true or false.")
    values["is_active"] = active is not False
    if report.name:
        if report.name.casefold() in seen:
            report.reasons.append(f"Another feature in the file is also named {report.name!r}.")
        seen.add(report.name.casefold())
        report.action = "update" if report.name in store_zones else "create"
    return report, values


def delivery_zones_import(*, store: Store, actor, data, dry_run: bool) -> ImportReport:
    """Check a GeoJSON FeatureCollection of zones (properties: name, minimum_order, fee, estimated_minutes,
    optional active) and, unless `dry_run`, write it: a feature named like an existing zone of the store
    replaces that zone, others are added. All or nothing: one refused feature and nothing is written; the report
    lists every refused feature with its reasons."""
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        return ImportReport(
            dry_run=dry_run, features=[], problems=["The file is not a GeoJSON FeatureCollection."]
        )
    if not data["features"]:
        return ImportReport(dry_run=dry_run, features=[], problems=["The FeatureCollection has no features."])
    if len(data["features"]) > MAX_FEATURES:
        return ImportReport(
            dry_run=dry_run, features=[], problems=[f"At most {MAX_FEATURES} zones per file."]
        )
    store_zones = {zone.name: zone for zone in DeliveryZone.objects.filter(store=store)}
    seen: set[str] = set()
    checked = [
        _feature_check(index, feature, store_zones, seen) for index, feature in enumerate(data["features"])
    ]
    report = ImportReport(dry_run=dry_run, features=[feature for feature, _ in checked])
    if dry_run or not report.ok:
        return report
    with transaction.atomic():
        for feature, values in checked:
            if feature.action == "update":
                delivery_zone_update(zone=store_zones[feature.name], actor=actor, **values)
            else:
                delivery_zone_create(store=store, actor=actor, **values)
    report.written = True
    return report


# --- Excluded places -------------------------------------------------------------------------------------------


@transaction.atomic
def delivery_exclusion_create(
    *, store: Store, actor, name, kind, latitude=None, longitude=None, radius_m=None, geometry=None
) -> DeliveryExclusion:
    problems: dict[str, list[str]] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 120:
        problems.setdefault("name", []).append("Give the place a name of 1 to 120 characters.")
    if kind not in DeliveryExclusion.Kind.values:
        problems.setdefault("kind", []).append(f"Use one of {', '.join(DeliveryExclusion.Kind.values)}.")
    if geometry is not None:
        if latitude is not None or longitude is not None or radius_m is not None:
            problems.setdefault("geometry", []).append(
                "Give either a point with a radius or an area, not both."
            )
        reasons = geometry_problems(geometry)
        if reasons:
            problems["geometry"] = reasons
    else:
        try:
            latitude = Decimal(str(latitude)).quantize(Decimal("0.000001"))
            longitude = Decimal(str(longitude)).quantize(Decimal("0.000001"))
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            problems.setdefault("latitude", []).append("Give the place's latitude and longitude, or an area.")
        if isinstance(radius_m, bool) or not isinstance(radius_m, int) or not 1 <= radius_m <= 10_000:
            problems.setdefault("radius_m", []).append("Give a radius of 1 to 10000 metres.")
    if problems:
        raise ValidationFailed(next(iter(problems.values()))[0], details=problems)
    place = DeliveryExclusion.objects.create(
        store=store,
        name=name,
        kind=kind,
        latitude=None if geometry else latitude,
        longitude=None if geometry else longitude,
        radius_m=None if geometry else radius_m,
        geometry=geometry,
    )
    audit_record(
        actor=actor,
        action="delivery_exclusion.created",
        instance=place,
        after=snapshot(place),
        organization=store.organization,
        store=store,
    )
    return place


@transaction.atomic
def delivery_exclusion_remove(*, place: DeliveryExclusion, actor) -> None:
    before = snapshot(place)
    audit_record(
        actor=actor,
        action="delivery_exclusion.removed",
        instance=place,
        before=before,
        organization=place.store.organization,
        store=place.store,
    )
    place.delete()


# --- Customers' addresses ----------------------------------------------------------------------------------------


def delivery_address_create(
    *,
    customer: Customer,
    actor,
    line1: str,
    city: str,
    region: str,
    postal_code: str,
    line2: str = "",
    country: str = "US",
    label: str = "",
    latitude=None,
    longitude=None,
    source: str = DeliveryAddress.Source.CLIENT,
) -> DeliveryAddress:
    """A delivery address with coordinates: those given (by the ordering client or staff on the map), else the
    configured geocoder's; without a geocoder, coordinates are required. Physical addresses only."""
    problems: dict[str, list[str]] = {}
    for key, value, limit in (
        ("line1", line1, 200),
        ("city", city, 100),
        ("region", region, 60),
        ("postal_code", postal_code, 20),
    ):
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            problems.setdefault(key, []).append(
                f"Give the {key.replace('_', ' ')} (at most {limit} characters)."
            )
    if not isinstance(line2, str) or len(line2) > 200:
        problems.setdefault("line2", []).append("At most 200 characters.")
        line2 = ""
    reasons = physical_address_reasons(line1 if isinstance(line1, str) else "", line2)
    if reasons:
        problems.setdefault("line1", []).extend(reasons)
    if source not in DeliveryAddress.Source.values:
        problems.setdefault("source", []).append(f"Use one of {', '.join(DeliveryAddress.Source.values)}.")
    given = latitude is not None or longitude is not None
    if given:
        try:
            latitude = Decimal(str(latitude)).quantize(Decimal("0.000001"))
            longitude = Decimal(str(longitude)).quantize(Decimal("0.000001"))
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            problems.setdefault("latitude", []).append(
                "Give latitude (-90..90) and longitude (-180..180) as decimal degrees."
            )
    elif not geocoder_configured():
        problems.setdefault("latitude", []).append(
            "Give the address's coordinates: no geocoder is configured to find them."
        )
    if problems:
        raise ValidationFailed(next(iter(problems.values()))[0], details=problems)
    if not given:
        # Outside the transaction: no row is locked while the geocoder answers.
        query = ", ".join(part for part in (line1, line2, city, region, postal_code, country) if part)
        try:
            place = geocode(query)
        except GeocoderUnavailable as error:
            raise ValidationFailed(error.message, details={"latitude": [error.message]}) from error
        if place is None:
            message = "The geocoder found no such address: place it on the map or give its coordinates."
            raise ValidationFailed(message, details={"line1": [message]})
        latitude, longitude, source = place.latitude, place.longitude, DeliveryAddress.Source.GEOCODER
    with transaction.atomic():
        address = DeliveryAddress.objects.create(
            customer=customer,
            label=(label or "")[:60],
            line1=line1.strip(),
            line2=line2.strip(),
            city=city.strip(),
            region=region.strip(),
            postal_code=postal_code.strip(),
            country=country,
            latitude=latitude,
            longitude=longitude,
            source=source,
            created_by=actor if isinstance(actor, User) else None,  # an API client is no user
        )
        audit_record(
            actor=actor,
            action="delivery_address.created",
            instance=address,
            after=snapshot(address),
            organization=customer.organization,
        )
    return address
