# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The trip page, its actions and its manifest: who may see and act (the store's managers act, the trip's own
driver reads, anyone else gets 403), the state's words when it refused the records, the departure button only
once the state accepted, a bounded number of queries however many stops, the manifest's text (with
California's delivery request receipt), and refused trips on the manager's dashboard with their retry."""

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from delivery.models import Trip, TripStop
from dispensary.models import AuditRecord
from tests.delivery.fleet import make_driver
from tests.delivery.order_fixtures import now, product, zone  # noqa: F401 - fixtures
from tests.delivery.trip_fixtures import make_trip, organization, place_order, stocked, store  # noqa: F401
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

REFUSAL = "Package 1A4FF0100000022000000123 is on retailer delivery 41."


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def trip(store, product, zone, now):
    stocked(store, product, None)
    orders = [
        place_order(store, product, first_name="Alice", last_name="Doe"),
        place_order(store, product, first_name="Bob", last_name="Roe", quantity=2, hour=15, line1="9 Elm St"),
    ]
    return make_trip(store, orders)


def page(trip, suffix=""):
    return f"/delivery/trips/{trip.pk}/{suffix}"


def refused(trip):
    Trip.objects.filter(pk=trip.pk).update(status="sent", state_status="failed", state_message=REFUSAL)
    return Trip.objects.get(pk=trip.pk)


def test_the_stores_manager_sees_stops_packages_and_the_send_button(trip, manager):
    response = signed_in(manager).get(page(trip))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Alice Doe" in text and "Bob Roe" in text and "9 Elm St" in text
    assert "Not filed yet" in text and "Send to driver" in text
    assert "Depart</button>" not in text
    assert f"/delivery/trips/{trip.pk}/manifest.pdf" in text


def test_a_refused_trip_shows_the_states_words_the_retry_and_no_departure(trip, manager):
    trip = refused(trip)
    text = signed_in(manager).get(page(trip)).content.decode()
    assert "Refused by the state" in text and REFUSAL in text
    assert "Send to the state again" in text and "Depart</button>" not in text
    assert "cannot leave yet" in text


def test_departure_is_refused_with_the_states_words_through_the_page(trip, manager):
    trip = refused(trip)
    response = signed_in(manager).post(page(trip, "depart/"), {"version": trip.version}, follow=True)
    text = response.content.decode()
    assert "The state has not accepted this trip&#x27;s records yet: " + REFUSAL in text
    assert Trip.objects.get(pk=trip.pk).status == "sent"


def test_an_accepted_trip_may_depart_from_the_page(trip, manager):
    Trip.objects.filter(pk=trip.pk).update(status="sent", state_status="accepted", state_reference="41")
    trip = Trip.objects.get(pk=trip.pk)
    client = signed_in(manager)
    assert "Depart</button>" in client.get(page(trip)).content.decode()
    response = client.post(page(trip, "depart/"), {"version": trip.version})
    assert response.status_code == 302 and response["Location"] == page(trip)
    assert Trip.objects.get(pk=trip.pk).status == "departed"
    assert AuditRecord.objects.filter(action="trip.departed", actor=manager).exists()


def test_a_stale_version_changes_nothing(trip, manager):
    response = signed_in(manager).post(page(trip, "send/"), {"version": trip.version + 3}, follow=True)
    assert "Someone else changed this trip" in response.content.decode()
    assert Trip.objects.get(pk=trip.pk).status == "locked"


def test_the_trips_driver_reads_it_without_buttons_and_may_not_act(trip):
    client = signed_in(trip.driver.user)
    text = client.get(page(trip)).content.decode()
    assert "Alice Doe" in text and "Send to driver" not in text
    assert client.get(page(trip, "manifest.pdf")).status_code == 200
    assert client.post(page(trip, "send/"), {"version": trip.version}).status_code == 403
    assert Trip.objects.get(pk=trip.pk).status == "locked"


def test_others_get_403(trip, store, organization):
    other_driver = make_driver(store, username="other-driver", licence="D0000001")
    budtender = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    elsewhere = StoreFactory(organization=organization)
    manager_elsewhere = UserFactory(organization=organization, roles=["manager"], stores=[elsewhere])
    outsider_store = StoreFactory(organization=OrganizationFactory())
    outsider = UserFactory(
        organization=outsider_store.organization, roles=["manager"], stores=[outsider_store]
    )
    for user in (other_driver.user, budtender, manager_elsewhere, outsider):
        client = signed_in(user)
        for suffix in ("", "manifest.pdf"):
            assert client.get(page(trip, suffix)).status_code == 403, (user, suffix)
        assert client.post(page(trip, "send/"), {"version": trip.version}).status_code == 403
    assert Trip.objects.get(pk=trip.pk).status == "locked"
    assert Client().get(page(trip)).status_code == 302  # to the sign-in page


def test_the_trip_page_reads_a_fixed_number_of_queries(trip, manager, store, product):
    client = signed_in(manager)
    client.get(page(trip))  # the session and the member's roles are read once and kept

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page(trip)).status_code == 200
        return len(queries)

    two_stops = count()
    first = trip.stops.order_by("sequence").first()
    for number in range(3, 7):
        TripStop.objects.create(
            trip=trip,
            order=place_order(store, product, first_name=f"Customer{number}", hour=16),
            sequence=number,
            planned_arrival=first.planned_arrival,
            planned_departure=first.planned_departure,
        )
    assert count() == two_stops <= 13  # 13: the stops' proofs of delivery (one query)


def test_the_manifest_holds_the_route_orders_packages_and_californias_receipt(trip, manager, store):
    response = signed_in(manager).get(page(trip, "manifest.pdf"))
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = " ".join(text.split())
    first = trip.stops.order_by("sequence").first()
    tag = first.order.order.lines.first().package.tag
    assert f"Trip manifest: trip {trip.pk}" in flat
    assert store.name in flat and store.license_adult_use in flat
    assert "Sam Rivera, driver's licence ending 321 (CA)" in flat
    assert "Goods carried (retail value): $135.00" in flat
    assert "D7654321" not in flat  # the licence is masked
    assert "Silver Toyota Prius, plate 8ABC123" in flat
    assert "Planned departure: 2026-03-10 13:30" in flat
    assert "Stop 1: order" in flat and "Stop 2: order" in flat
    assert tag in flat and "1 each" in flat and "2 each" in flat
    assert "14:00–15:00" in flat and "15:00–16:00" in flat
    # California: one delivery request receipt per order (4 CCR 15420).
    assert flat.count("Delivery request receipt") == 2
    assert "Customer: Alice D." in flat and "Customer: Bob R." in flat
    assert "Delivery request made: 2026-03-10 11:00" in flat
    assert "Licence number: " + store.license_adult_use in flat
    assert "Delivery employee: Sam" in flat
    assert "$45.00" in flat and "$90.00" in flat
    assert len(reader.pages) == 3


def test_refused_trips_show_on_the_dashboard_with_a_link_and_the_retry(trip, manager, store):
    trip = refused(trip)
    client = signed_in(manager)
    text = client.get("/dashboard/").content.decode()
    assert "Delivery trips refused by the state" in text and REFUSAL in text
    assert f'href="/delivery/trips/{trip.pk}/"' in text
    response = client.post(page(trip, "retry/"), {"version": trip.version, "next": "/dashboard/"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert Trip.objects.get(pk=trip.pk).state_status == "pending"
    assert AuditRecord.objects.filter(action="trip.state_refiled", actor=manager).exists()
    assert "Delivery trips refused by the state" not in client.get("/dashboard/").content.decode()
