"""The zones screen: only owners and managers of that store (object-level, 403 otherwise); zones listed with
fee, minimum and time; a drawn zone saved, a bad outline re-shown with its reason and nothing written; the
import's dry run lists refusals; excluded places added and removed; a bounded number of queries."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from delivery.models import DeliveryExclusion, DeliveryZone
from delivery.services import delivery_zone_create
from tests.delivery.helpers import feature, square, zone_properties
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

MISSION = square(37.74, -122.43, 37.77, -122.40)
BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(store, suffix=""):
    return f"/delivery/stores/{store.pk}/zones/{suffix}"


@pytest.fixture
def zone(store):
    return delivery_zone_create(
        store=store,
        actor=None,
        name="Mission",
        geometry=MISSION,
        minimum_order="40",
        fee="4.99",
        estimated_minutes=35,
    )


def test_only_owners_and_managers_of_that_store(shipped_rules, organization, store, manager, budtender, zone):
    other_store = StoreFactory(organization=organization)
    elsewhere = UserFactory(organization=organization, roles=["manager"], stores=[other_store])
    owner = UserFactory(organization=organization, roles=["owner"], stores=[store])
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    stranger_org = OrganizationFactory()
    stranger = UserFactory(
        organization=stranger_org, roles=["manager"], stores=[StoreFactory(organization=stranger_org)]
    )
    assert signed_in(manager).get(url(store)).status_code == 200
    assert signed_in(owner).get(url(store, f"{zone.pk}/")).status_code == 200
    for user in (elsewhere, budtender, driver, stranger):
        client = signed_in(user)
        assert client.get(url(store)).status_code == 403, user
        assert client.get(url(store, f"{zone.pk}/")).status_code == 403, user
        posted = client.post(
            url(store),
            {
                "name": "Mine",
                "fee": "1",
                "minimum_order": "1",
                "estimated_minutes": "5",
                "geometry": json.dumps(MISSION),
            },
        )
        assert posted.status_code == 403
    assert list(DeliveryZone.objects.values_list("name", flat=True)) == ["Mission"]
    # A zone of another store is not found through this store's address.
    other_zone = delivery_zone_create(
        store=other_store,
        actor=None,
        name="Other",
        geometry=MISSION,
        minimum_order="1",
        fee="1",
        estimated_minutes=5,
    )
    assert signed_in(manager).get(url(store, f"{other_zone.pk}/")).status_code == 404
    anonymous = Client().get(url(store))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_the_screen_lists_zones_places_and_hours(shipped_rules, store, manager, zone):
    DeliveryExclusion.objects.create(
        store=store,
        name="Valencia Elementary",
        kind="school",
        latitude="37.75",
        longitude="-122.42",
        radius_m=150,
    )
    page = signed_in(manager).get(url(store))
    text = page.content.decode()
    for expected in (
        "Mission",
        "$4.99",
        "$40.00",
        "35 min",
        "Valencia Elementary",
        "150 m",
        "6:00 AM – 10:00 PM",
        "9:00 AM – 9:00 PM",
        "driver back by 10:00 PM",
        "vendor/leaflet-1.9.4/leaflet.js",
    ):
        assert expected in text, expected
    data = json.loads(page.context["map_data"] and json.dumps(page.context["map_data"]))
    assert data["tiles"] == {"url": "", "attribution": ""}
    assert [z["name"] for z in data["zones"]] == ["Mission"]
    # The top bar's link leads to the store the member works at.
    assert signed_in(manager).get("/delivery/zones/")["Location"] == url(store)


def test_a_drawn_zone_is_saved_and_a_bad_outline_is_explained(shipped_rules, store, manager):
    client = signed_in(manager)
    form = {
        "name": "Mission",
        "fee": "4.99",
        "minimum_order": "40",
        "estimated_minutes": "35",
        "is_active": "on",
    }
    bad = client.post(url(store), {**form, "geometry": json.dumps(BOWTIE)})
    assert bad.status_code == 400
    assert "The outline crosses itself near [0.5 0.5]: redraw it without crossings." in bad.content.decode()
    empty = client.post(url(store), {**form, "geometry": ""})
    assert "Draw the zone&#x27;s outline on the map (at least 3 corners)." in empty.content.decode()
    assert client.post(url(store), {**form, "geometry": "[" * 5000}).status_code == 400
    assert not DeliveryZone.objects.exists()
    good = client.post(url(store), {**form, "geometry": json.dumps(MISSION)})
    assert good.status_code == 302
    zone = DeliveryZone.objects.get()
    assert (zone.name, str(zone.fee), zone.estimated_minutes, zone.geometry, zone.is_active) == (
        "Mission",
        "4.99",
        35,
        MISSION,
        True,
    )
    edited = client.post(url(store, f"{zone.pk}/"), {**form, "fee": "5.99", "geometry": json.dumps(MISSION)})
    assert edited.status_code == 302
    zone.refresh_from_db()
    assert (str(zone.fee), zone.is_active) == ("5.99", True)
    duplicate = client.post(url(store), {**form, "geometry": json.dumps(MISSION)})
    assert duplicate.status_code == 400
    assert f"{store.name} already has a zone named &#x27;Mission&#x27;." in duplicate.content.decode()


def test_import_dry_run_then_import(shipped_rules, store, manager):
    client = signed_in(manager)
    refused = {
        "type": "FeatureCollection",
        "features": [
            feature(MISSION, **zone_properties("Mission")),
            feature(BOWTIE, **zone_properties("Bow tie")),
        ],
    }
    page = client.post(url(store, "import/"), {"text": json.dumps(refused), "action": "import"})
    assert page.status_code == 422
    text = page.content.decode()
    assert "1 of 2 features refused: nothing was written." in text
    assert "geometry: The outline crosses itself" in text
    assert not DeliveryZone.objects.exists()
    good = {"type": "FeatureCollection", "features": [feature(MISSION, **zone_properties("Mission"))]}
    check = client.post(url(store, "import/"), {"text": json.dumps(good), "action": "check"})
    assert "All 1 feature can be imported: nothing was written yet (dry run)." in check.content.decode()
    assert not DeliveryZone.objects.exists()
    done = client.post(url(store, "import/"), {"text": json.dumps(good), "action": "import"})
    assert done.status_code == 302
    assert list(DeliveryZone.objects.values_list("name", flat=True)) == ["Mission"]
    not_json = client.post(url(store, "import/"), {"text": "{oops", "action": "check"})
    assert not_json.status_code == 400 and "The file is not valid JSON" in not_json.content.decode()


def test_excluded_places_added_and_removed(shipped_rules, store, manager):
    client = signed_in(manager)
    added = client.post(
        url(store).replace("zones/", "places/"),
        {
            "name": "Valencia Elementary",
            "kind": "school",
            "latitude": "37.75",
            "longitude": "-122.42",
            "radius_m": "150",
        },
    )
    assert added.status_code == 302
    place = DeliveryExclusion.objects.get()
    assert (place.name, place.radius_m) == ("Valencia Elementary", 150)
    removed = client.post(url(store).replace("zones/", f"places/{place.pk}/remove/"))
    assert removed.status_code == 302 and not DeliveryExclusion.objects.exists()
    places = url(store).replace("zones/", "places/")
    no_point = client.post(places, {"name": "Somewhere", "kind": "school", "radius_m": "150"})
    assert no_point.status_code == 400
    assert (
        "Give the place&#x27;s latitude, longitude and radius (click the map), or its area."
        in no_point.content.decode()
    )
    crossed = client.post(places, {"name": "Grounds", "kind": "day_care", "area": json.dumps(BOWTIE)})
    assert crossed.status_code == 400 and "The outline crosses itself" in crossed.content.decode()
    both = client.post(
        places,
        {
            "name": "Grounds",
            "kind": "day_care",
            "latitude": "37.75",
            "longitude": "-122.42",
            "radius_m": "100",
            "area": json.dumps(MISSION),
        },
    )
    assert "Give either a point with a radius or an area, not both." in both.content.decode()
    assert not DeliveryExclusion.objects.exists()
    area = client.post(places, {"name": "Grounds", "kind": "day_care", "area": json.dumps(MISSION)})
    assert area.status_code == 302
    place = DeliveryExclusion.objects.get()
    assert (place.geometry, place.latitude, place.radius_m) == (MISSION, None, None)


def test_the_screen_reads_a_fixed_number_of_queries(shipped_rules, store, manager):
    client = signed_in(manager)
    client.get(url(store))  # warm the rules cache and the session

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(store)).status_code == 200
        return len(queries)

    for number in range(2):
        delivery_zone_create(
            store=store,
            actor=None,
            name=f"Zone {number}",
            geometry=MISSION,
            minimum_order="1",
            fee="1",
            estimated_minutes=5,
        )
    few = count()
    for number in range(2, 8):
        delivery_zone_create(
            store=store,
            actor=None,
            name=f"Zone {number}",
            geometry=MISSION,
            minimum_order="1",
            fee="1",
            estimated_minutes=5,
        )
    assert count() == few


def test_a_point_is_checked_as_a_delivery_address(shipped_rules, organization, store, manager, zone):
    client = signed_in(manager)
    check = url(store, "check/")
    inside = client.get(check, {"latitude": "37.75", "longitude": "-122.42", "order_value": "50"})
    assert inside.status_code == 200
    assert (
        "Delivers here: <strong>Mission</strong>, $4.99 fee, $40.00 minimum, about 35 min."
        in inside.content.decode()
    )
    assert inside.context["map_data"]["check"] == {"latitude": 37.75, "longitude": -122.42}
    small = client.get(
        check, {"latitude": "37.75", "longitude": "-122.42", "order_value": "20", "line1": "PO Box 3"}
    )
    text = small.content.decode()
    assert "No delivery here (zone Mission):" in text
    assert "The Mission zone has a minimum order of $40.00; this order is $20.00." in text
    assert "Deliveries go to a physical address only; a post office box is not one." in text
    outside = client.get(check, {"latitude": "37.80", "longitude": "-122.42", "order_value": "50"})
    assert f"The address is outside every delivery zone of {store.name}." in outside.content.decode()
    assert (
        client.get(check, {"latitude": "91", "longitude": "-122.42", "order_value": "50"}).status_code == 400
    )
    other = UserFactory(
        organization=organization, roles=["manager"], stores=[StoreFactory(organization=organization)]
    )
    assert (
        signed_in(other)
        .get(check, {"latitude": "37.75", "longitude": "-122.42", "order_value": "50"})
        .status_code
        == 403
    )
