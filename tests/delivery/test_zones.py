"""Zones: geometry refused with its reason, a point on the edge is inside and one just outside is refused,
overlapping zones resolve to the smallest (then the cheapest), excluded places and P.O. boxes refuse an address,
and a GeoJSON import writes all or nothing and lists every refused feature."""

from decimal import Decimal

import pytest

from delivery.geometry import geometry_problems
from delivery.models import DeliveryExclusion, DeliveryZone
from delivery.selectors import delivery_place_check, delivery_quote_get, delivery_zone_for_point
from delivery.services import (
    delivery_exclusion_create,
    delivery_zone_create,
    delivery_zone_update,
    delivery_zones_import,
)
from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord
from tests.delivery.helpers import feature, square, zone_properties
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

CITY = square(37.70, -122.52, 37.81, -122.38)
MISSION = square(37.74, -122.43, 37.77, -122.40)
BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def add_zone(store, name, geometry, *, fee="4.99", minimum="40", minutes=30, active=True):
    return delivery_zone_create(
        store=store,
        actor=None,
        name=name,
        geometry=geometry,
        minimum_order=minimum,
        fee=fee,
        estimated_minutes=minutes,
        is_active=active,
    )


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (BOWTIE, "The outline crosses itself near [0.5 0.5]: redraw it without crossings."),
        (
            {"type": "Point", "coordinates": [0, 0]},
            "The geometry must be a GeoJSON Polygon or MultiPolygon, not a Point.",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},
            "outline: an outline needs at least 3 corners and must end where it starts.",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "outline: the outline must end where it starts (first and last points equal).",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[37.7, -122.4], [37.8, -122.4], [37.8, -200], [37.7, -122.4]]],
            },
            "outline: [37.7, -122.4] is not a place on Earth (longitude -180..180, latitude -90..90; GeoJSON puts "
            "longitude first).",
        ),
        ({"type": "Polygon", "coordinates": []}, "The geometry has no outline: give its coordinates."),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]},
            "The outline encloses no area.",
        ),
        (
            {"type": "Polygon", "coordinates": [["a", "b", "c", "d"]]},
            "outline: give the outline as a list of [longitude, latitude] pairs.",
        ),
    ],
)
def test_geometry_refused_with_its_reason(geometry, reason):
    assert geometry_problems(geometry) == [reason]


def test_a_refused_zone_writes_nothing(store):
    with pytest.raises(ValidationFailed) as raised:
        add_zone(store, "Bow tie", BOWTIE, fee="-1")
    assert raised.value.details == {
        "geometry": ["The outline crosses itself near [0.5 0.5]: redraw it without crossings."],
        "fee": ["Give an amount from 0 to 100000 with at most 2 decimals."],
    }
    assert not DeliveryZone.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="delivery_zone").exists()


def test_zone_boundaries_edge_inside_just_outside_refused(store):
    zone = add_zone(store, "Mission", MISSION)
    assert (
        delivery_zone_for_point(store=store, latitude="37.75", longitude="-122.43") == zone
    )  # on the west edge
    assert delivery_zone_for_point(store=store, latitude="37.77", longitude="-122.40") == zone  # a corner
    outside = delivery_place_check(store=store, latitude="37.750000", longitude="-122.430001")
    assert outside.zone is None
    assert outside.reasons == (f"The address is outside every delivery zone of {store.name}.",)


def test_overlapping_zones_the_smallest_applies_then_the_cheapest(store):
    city = add_zone(store, "City", CITY, fee="9.99", minimum="75", minutes=60)
    mission = add_zone(store, "Mission", MISSION, fee="14.99", minimum="100", minutes=25)
    # Inside both: the smaller (more specific) zone, even though it costs more.
    assert delivery_zone_for_point(store=store, latitude=37.75, longitude=-122.42) == mission
    assert delivery_zone_for_point(store=store, latitude=37.78, longitude=-122.45) == city
    # Two zones of the same area over the same ground: the lower fee.
    twin = add_zone(store, "Mission twin", MISSION, fee="3.00", minimum="100")
    assert delivery_zone_for_point(store=store, latitude=37.75, longitude=-122.42) == twin
    # An inactive zone serves nobody.
    delivery_zone_update(
        zone=twin,
        actor=None,
        name="Mission twin",
        geometry=MISSION,
        minimum_order="100",
        fee="3.00",
        estimated_minutes=30,
        is_active=False,
    )
    assert delivery_zone_for_point(store=store, latitude=37.75, longitude=-122.42) == mission


def test_zones_of_another_store_do_not_serve(store):
    other = StoreFactory(organization=store.organization)
    add_zone(other, "Elsewhere", CITY)
    assert delivery_zone_for_point(store=store, latitude=37.75, longitude=-122.42) is None


def test_quote_gives_fee_time_and_the_minimum_order_reason(store):
    add_zone(store, "Mission", MISSION, fee="4.99", minimum="40", minutes=35)
    quote = delivery_quote_get(store=store, latitude=37.75, longitude=-122.42, order_value=Decimal("39.99"))
    assert (quote.allowed, quote.fee, quote.estimated_minutes) == (False, Decimal("4.99"), 35)
    assert quote.reasons == ("The Mission zone has a minimum order of $40.00; this order is $39.99.",)
    assert delivery_quote_get(
        store=store, latitude=37.75, longitude=-122.42, order_value=Decimal("40")
    ).allowed


def test_excluded_places_refuse_by_radius_and_by_area(store):
    add_zone(store, "City", CITY)
    # 0.001 degree of latitude is about 111 m.
    delivery_exclusion_create(
        store=store,
        actor=None,
        name="Valencia Elementary",
        kind="school",
        latitude="37.750000",
        longitude="-122.420000",
        radius_m=100,
    )
    delivery_exclusion_create(
        store=store,
        actor=None,
        name="Youth centre block",
        kind="youth_center",
        geometry=square(37.780, -122.450, 37.782, -122.448),
    )
    near = delivery_place_check(store=store, latitude="37.750850", longitude="-122.420000")  # ~95 m
    assert near.reasons == (
        "The address is within 100 m of Valencia Elementary, a school (K-12), where the store may not deliver.",
    )
    assert delivery_place_check(store=store, latitude="37.750950", longitude="-122.420000").allowed  # ~106 m
    inside = delivery_place_check(store=store, latitude="37.781", longitude="-122.449")
    assert inside.reasons == (
        "The address is inside the area of Youth centre block, a youth centre, where the store may not deliver.",
    )


def test_physical_addresses_only(store):
    add_zone(store, "City", CITY)
    for line in ("PO Box 12", "P.O. Box 12", "post office box 9"):
        verdict = delivery_place_check(store=store, latitude=37.75, longitude=-122.42, line1=line)
        assert verdict.reasons == ("Deliveries go to a physical address only; a post office box is not one.",)
    assert delivery_place_check(
        store=store, latitude=37.75, longitude=-122.42, line1="12 Boxwood Ave"
    ).allowed


def test_exclusion_needs_a_point_with_a_radius_or_an_area(store):
    with pytest.raises(ValidationFailed) as raised:
        delivery_exclusion_create(store=store, actor=None, name="School", kind="school", latitude="37.7")
    assert set(raised.value.details) == {"latitude", "radius_m"}
    with pytest.raises(ValidationFailed):
        delivery_exclusion_create(store=store, actor=None, name="Area", kind="school", geometry=BOWTIE)
    assert not DeliveryExclusion.objects.exists()


# --- GeoJSON import ----------------------------------------------------------------------------------------


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def test_import_dry_run_lists_every_refused_feature_and_writes_nothing(store):
    data = collection(
        feature(MISSION, **zone_properties("Mission")),
        feature(BOWTIE, **zone_properties("Bow tie")),
        feature(CITY, name="City", fee="9.99"),
        feature(None, **zone_properties("No shape")),
        feature(CITY, **zone_properties("mission")),
        {"type": "Polygon"},
    )
    for dry_run in (True, False):
        report = delivery_zones_import(store=store, actor=None, data=data, dry_run=dry_run)
        assert not report.ok and not report.written
        assert [(f.index, f.name, f.reasons) for f in report.features] == [
            (0, "Mission", []),
            (
                1,
                "Bow tie",
                ["geometry: The outline crosses itself near [0.5 0.5]: redraw it without crossings."],
            ),
            (2, "City", ["Missing properties: minimum_order, estimated_minutes."]),
            (3, "No shape", ["No geometry."]),
            (4, "mission", ["Another feature in the file is also named 'mission'."]),
            (5, "", ['Not a GeoJSON Feature ({"type": "Feature", "geometry": ..., "properties": ...}).']),
        ]
    assert not DeliveryZone.objects.exists()


def test_import_writes_all_and_replaces_a_zone_of_the_same_name(store):
    old = add_zone(store, "Mission", CITY, fee="1.00")
    data = collection(
        feature(MISSION, **zone_properties("Mission", fee="5.50", estimated_minutes="25")),
        feature(CITY, **zone_properties("City", active=False)),
    )
    check = delivery_zones_import(store=store, actor=None, data=data, dry_run=True)
    assert check.ok and not check.written
    assert [(f.name, f.action) for f in check.features] == [("Mission", "update"), ("City", "create")]
    assert DeliveryZone.objects.get().fee == Decimal("1.00")
    done = delivery_zones_import(store=store, actor=None, data=data, dry_run=False)
    assert done.written
    zones = {zone.name: zone for zone in DeliveryZone.objects.filter(store=store)}
    assert zones["Mission"].pk == old.pk
    assert (zones["Mission"].fee, zones["Mission"].estimated_minutes, zones["Mission"].geometry) == (
        Decimal("5.50"),
        25,
        MISSION,
    )
    assert zones["City"].is_active is False


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"type": "Feature"}, "The file is not a GeoJSON FeatureCollection."),
        ([], "The file is not a GeoJSON FeatureCollection."),
        ({"type": "FeatureCollection", "features": []}, "The FeatureCollection has no features."),
    ],
)
def test_import_refuses_a_file_that_is_not_a_feature_collection(store, data, problem):
    report = delivery_zones_import(store=store, actor=None, data=data, dry_run=False)
    assert report.problems == [problem] and not report.written


def test_a_quote_reads_two_queries_whatever_the_number_of_zones(shipped_rules, store):
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from delivery.selectors import local_window

    for number in range(6):
        add_zone(store, f"Zone {number}", square(37.70 + number / 100, -122.52, 37.81, -122.38))
    delivery_exclusion_create(
        store=store,
        actor=None,
        name="School",
        kind="school",
        latitude="37.79",
        longitude="-122.47",
        radius_m=100,
    )
    window = local_window(store, dt.date(2026, 3, 4), dt.time(12), dt.time(13))
    delivery_quote_get(
        store=store, latitude=37.75, longitude=-122.42, order_value=Decimal("50"), window=window
    )
    with CaptureQueriesContext(connection) as queries:  # the rules are read once per process, then kept
        quote = delivery_quote_get(
            store=store, latitude=37.75, longitude=-122.42, order_value=Decimal("50"), window=window
        )
    assert quote.allowed and quote.zone.name == "Zone 5"  # the smallest: the point is on its south edge
    assert len(queries) == 2  # the store's active zones, its active excluded places
