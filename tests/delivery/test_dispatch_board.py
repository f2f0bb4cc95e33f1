# ruff: noqa: F811 - the fixtures imported from dispatch_fixtures are parameters of the tests
"""The dispatch board's page: managers of that store (and members given the dispatch permission) only; waiting
orders by window and zone with why they are not planned, routes with their stops, the plan and the forms through
the services, a stale form says "the board changed", and a bounded number of queries however many orders and
routes."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from delivery.models import Trip, TripStop
from delivery.services_dispatch import dispatch_plan
from tests.delivery.dispatch_fixtures import (  # noqa: F401 - fixtures
    DAY,
    driver_on_shift,
    local,
    now,
    order_at,
    placed_store,
    spread_orders,
    zones,
)
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def board(store) -> str:
    return f"/delivery/stores/{store.pk}/dispatch/?day={DAY.isoformat()}"


def test_only_managers_of_that_store_and_dispatchers(
    now, organization, placed_store, zones, manager, budtender
):
    dana = driver_on_shift(placed_store, "Dana", "8AAA001")
    owner = UserFactory(organization=organization, roles=["owner"], stores=[placed_store])
    elsewhere = UserFactory(
        organization=organization, roles=["manager"], stores=[StoreFactory(organization=organization)]
    )
    other_org = OrganizationFactory()
    stranger = UserFactory(
        organization=other_org, roles=["manager"], stores=[StoreFactory(organization=other_org)]
    )
    for user in (manager, owner):
        assert signed_in(user).get(board(placed_store)).status_code == 200
    for user in (budtender, dana.driver.user, elsewhere, stranger):
        client = signed_in(user)
        assert client.get(board(placed_store)).status_code == 403, user
        response = client.post(f"/delivery/stores/{placed_store.pk}/dispatch/plan/", {"day": DAY.isoformat()})
        assert response.status_code == 403, user
    assert not Trip.objects.exists()
    # A budtender whose role was given the dispatch permission may dispatch at their store.
    group = Group.objects.create(name="dispatchers")
    group.permissions.add(Permission.objects.get(codename="change_trip", content_type__app_label="delivery"))
    budtender.groups.add(group)
    assert signed_in(budtender).get(board(placed_store)).status_code == 200


def test_the_current_store_link_opens_its_board(now, placed_store, manager):
    response = signed_in(manager).get("/delivery/dispatch/")
    assert (
        response.status_code == 302
        and response["Location"] == f"/delivery/stores/{placed_store.pk}/dispatch/"
    )


def test_the_board_shows_waiting_orders_routes_and_reasons(now, placed_store, zones, manager):
    north, south = zones
    driver_on_shift(placed_store, "Dana", "8AAA001", zones=[north])
    order_at(
        placed_store,
        north,
        latitude=37.78,
        longitude=-122.41,
        start=local(placed_store, 13),
        end=local(placed_store, 15),
        first_name="Maria",
        last_name="Gonzalez",
    )
    lonely = order_at(
        placed_store,
        south,
        latitude=37.75,
        longitude=-122.42,
        start=local(placed_store, 14),
        end=local(placed_store, 16),
    )
    client = signed_in(manager)
    html = client.get(board(placed_store)).content.decode()
    assert "Waiting orders (2)" in html and "Maria G." in html and "Gonzalez" not in html
    assert "1:00 PM – 3:00 PM · North" in html and "Plan all waiting orders" in html

    response = client.post(
        f"/delivery/stores/{placed_store.pk}/dispatch/plan/", {"day": DAY.isoformat()}, follow=True
    )
    html = response.content.decode()
    assert "1 order planned on 1 route; 1 could not be placed." in html
    assert (
        f"Order {lonely.order_id} could not be placed: No driver on shift serves this order&#x27;s zone."
        in html
    )
    assert "Not planned:</strong> No driver on shift serves this order&#x27;s zone." in html
    assert "Dana Driver" in html and "Lock route" in html and "Goods $100.00 of $10,000.00 allowed" in html
    # Each route's card carries the trip's own actions: send it, and what the state said of its records.
    assert "Send to driver" in html and "State records: Not filed yet" in html and "Manifest (PDF)" in html
    trip = Trip.objects.get(store=placed_store, status=Trip.Status.PLANNED)
    Trip.objects.filter(pk=trip.pk).update(
        status=Trip.Status.SENT,
        state_status=Trip.StateStatus.FAILED,
        state_message="Package 1A4FF0100000022000000123 is on retailer delivery 7.",
    )
    html = client.get(board(placed_store)).content.decode()
    assert "The state said:</strong> Package 1A4FF0100000022000000123 is on retailer delivery 7." in html
    assert "Send to the state again" in html and "Send to driver" not in html


def test_forms_go_through_the_services_and_a_stale_form_changes_nothing(now, placed_store, zones, manager):
    driver_on_shift(placed_store, "Dana", "8AAA001", capacity=3)
    driver_on_shift(placed_store, "Eli", "8AAA002", capacity=3)
    spread_orders(placed_store, zones, 4)
    dispatch_plan(store=placed_store, day=DAY, by=manager, seconds=0.5)
    source, target = sorted(Trip.objects.select_related("driver__user"), key=lambda trip: -trip.stops.count())
    stop = TripStop.objects.filter(trip=source).select_related("order").first()
    client = signed_in(manager)
    base = f"/delivery/stores/{placed_store.pk}/dispatch/"

    stale = client.post(
        base + "assign/",
        {
            "day": DAY.isoformat(),
            "order": stop.order_id,
            "version": source.version - 1,
            "to": f"{target.pk}:{target.version}",
        },
        follow=True,
    )
    assert "The board changed since you opened it" in stale.content.decode()
    assert TripStop.objects.get(order_id=stop.order_id).trip_id == source.pk

    moved = client.post(
        base + "assign/",
        {
            "day": DAY.isoformat(),
            "order": stop.order_id,
            "version": source.version,
            "to": f"{target.pk}:{target.version}",
        },
        follow=True,
    )
    assert (
        f"Order {stop.order.order_id} moved to Eli Driver" in moved.content.decode()
        or "moved to" in moved.content.decode()
    )
    assert TripStop.objects.get(order_id=stop.order_id).trip_id == target.pk

    target.refresh_from_db()
    client.post(base + f"trips/{target.pk}/lock/", {"day": DAY.isoformat(), "version": target.version})
    assert Trip.objects.get(pk=target.pk).status == "locked"
    removed = client.post(
        base + "remove/",
        {"day": DAY.isoformat(), "order": stop.order_id, "version": target.version + 1},
        follow=True,
    )
    assert "is locked: unlock it to change it." in removed.content.decode()
    assert TripStop.objects.filter(order_id=stop.order_id).exists()


@pytest.mark.parametrize("orders,drivers", [(2, 1), (12, 3)])
def test_the_board_reads_a_bounded_number_of_queries(
    now, placed_store, zones, manager, orders, drivers, django_assert_max_num_queries
):
    for number in range(drivers):
        driver_on_shift(placed_store, f"Driver{number}", f"8QQ{number:04d}", capacity=4)
    spread_orders(placed_store, zones, orders)
    dispatch_plan(store=placed_store, day=DAY, by=manager, seconds=0.5)
    spread_orders(placed_store, zones, orders)  # and as many waiting
    client = signed_in(manager)
    client.get(board(placed_store))  # warm the per-process caches (rules, navigation)
    with django_assert_max_num_queries(14):
        response = client.get(board(placed_store))
    assert response.status_code == 200


def test_a_waiting_order_is_put_on_a_driver_without_a_route(now, placed_store, zones, manager):
    shift = driver_on_shift(placed_store, "Dana", "8AAA001")
    waiting = order_at(
        placed_store,
        zones[0],
        latitude=37.78,
        longitude=-122.41,
        start=local(placed_store, 13),
        end=local(placed_store, 15),
    )
    client = signed_in(manager)
    html = client.get(board(placed_store)).content.decode()
    assert f'<option value="shift:{shift.pk}">Dana Driver (new route)</option>' in html
    response = client.post(
        f"/delivery/stores/{placed_store.pk}/dispatch/assign/",
        {"day": DAY.isoformat(), "order": waiting.pk, "to": f"shift:{shift.pk}"},
        follow=True,
    )
    assert f"Order {waiting.order_id} put on Dana Driver&#x27;s new route." in response.content.decode()
    assert TripStop.objects.get(order=waiting).trip.shift_id == shift.pk
