"""The delivery demo: zones around both demo stores (a near zone inside the city one), excluded places, the
store itself inside its near zone; today's orders planned, sent, accepted by the state and on the road (the demo
driver's trip to drive, the other drivers' positions along their routes); trips of the last days ended with
everything accounted for; and loading again adds nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from delivery import demo as delivery_demo
from delivery.models import DeliveryExclusion, DeliveryZone
from delivery.selectors import delivery_place_check, delivery_quote_get, drivers_on_shift
from dispensary import demo as core_demo
from dispensary.models import Store

pytestmark = pytest.mark.django_db


def test_demo_zones_and_places_around_the_demo_stores(shipped_rules):
    core_demo.demo_load()
    assert delivery_demo.demo_load() == {
        "zones": 4,
        "excluded places": 3,
        "drivers": 3,
        "vehicles": 3,
        "shifts": 3,
        "delivery orders": 0,  # no stock without the inventory demo
        "trips on the road": 0,
        "positions": 0,
        "past trips": 0,
    }
    assert delivery_demo.demo_load() == {
        "zones": 0,
        "excluded places": 0,
        "drivers": 0,
        "vehicles": 0,
        "shifts": 0,
        "delivery orders": 0,
        "trips on the road": 0,
        "positions": 0,
        "past trips": 0,
    }
    mission = Store.objects.get(code="sf-mission")
    riverside = Store.objects.get(code="detroit-riverside")
    assert DeliveryZone.objects.filter(store=mission).count() == 2
    assert DeliveryExclusion.objects.filter(store=riverside).count() == 1
    for store, near in ((mission, "Mission & Noe Valley"), (riverside, "Corktown & Downtown")):
        quote = delivery_quote_get(
            store=store, latitude=store.latitude, longitude=store.longitude, order_value=Decimal("100")
        )
        assert quote.zone.name == near and quote.allowed, quote.reasons
    # Beside the demo school the address is refused, within the near zone all the same.
    school = delivery_place_check(store=mission, latitude="37.756500", longitude="-122.421000")
    assert school.zone.name == "Mission & Noe Valley"
    assert school.reasons == (
        "The address is within 150 m of Valencia Street Elementary (demo), a school (K-12), where the store may "
        "not deliver.",
    )
    # Out in the city zone only.
    assert (
        delivery_place_check(store=mission, latitude="37.79", longitude="-122.48").zone.name
        == "San Francisco"
    )


def test_demo_drivers_on_shift_now_with_their_vehicles(shipped_rules, clock):
    # Any hour of the day: the demo's shifts cover the moment it is loaded.
    clock.move_to(dt.datetime(2026, 3, 8, 23, 40, tzinfo=dt.UTC))  # the day the clocks go forward in the US
    core_demo.demo_load()
    delivery_demo.demo_load()
    mission = Store.objects.get(code="sf-mission")
    riverside = Store.objects.get(code="detroit-riverside")
    now = timezone.now()
    on_shift = drivers_on_shift(mission, now)
    assert [
        (entry.driver.user.username, entry.vehicle.plate, entry.capacity, entry.clocked_in)
        for entry in on_shift
    ] == [
        ("driver.sf2", "8DMO102", 10, False),
        ("driver", "8DMO101", 12, True),
    ]
    assert all(
        entry.zone_ids == set(DeliveryZone.objects.filter(store=mission).values_list("pk", flat=True))
        for entry in on_shift
    )
    assert [entry.driver.user.username for entry in drivers_on_shift(riverside, now)] == ["driver.mi"]
    # Two hours later, still on shift; loading again adds no shift.
    clock.advance(dt.timedelta(hours=2))
    assert delivery_demo.demo_load()["shifts"] == 0
    assert len(drivers_on_shift(mission, timezone.now())) == 2


NOW = dt.datetime(2026, 3, 10, 18, 30, tzinfo=dt.UTC)  # 11:30 in San Francisco, 14:30 in Detroit


@pytest.fixture
def loaded(transactional_db, shipped_rules, clock):
    """The demo as `make run` loads it: each step commits, so the state's answers (inline) come between them;
    the in-process state simulator starts empty."""
    from compliance.traceability.registry import reset_shared_simulator
    from inventory import demo as inventory_demo

    reset_shared_simulator()

    clock.move_to(NOW)
    core_demo.demo_load()
    inventory_demo.demo_load()
    yield delivery_demo.demo_load()
    reset_shared_simulator()


def test_demo_orders_planned_sent_and_on_the_road_the_demo_driver_signs_in_to_drive_them(loaded):
    """The demo driver sees a departed trip of today with stops to drive in the driver app, the other drivers
    are on the road with their positions, every record was accepted by the state, and loading again adds
    nothing (one demo load for these checks: it takes seconds)."""
    from compliance.models import SyncRecord
    from delivery.models import Trip
    from delivery.services_dispatch import waiting_orders
    from dispensary.clock import store_local_date

    assert {
        key: loaded[key] for key in ("delivery orders", "trips on the road", "positions", "past trips")
    } == {
        "delivery orders": 18,
        "trips on the road": 3,  # two in San Francisco, one in Detroit
        "positions": 40,  # 20 for each driver on the road but the demo driver
        "past trips": 2,
    }
    assert set(delivery_demo.demo_load().values()) == {0}
    mission = Store.objects.get(code="sf-mission")
    day = store_local_date(mission)
    today = Trip.objects.filter(store=mission, day=day)
    assert sorted(today.values_list("driver__user__username", "status", "state_status")) == [
        ("driver", "departed", "accepted"),
        ("driver.sf2", "departed", "accepted"),
    ]
    # Every order of today is on a route or still waiting for the board, never both nor lost.
    on_routes = sum(trip.stops.count() for trip in today)
    assert on_routes >= 10 and on_routes + len(list(waiting_orders(mission, day))) == 12
    # The state accepted every record the demo filed (the simulator and the store agree).
    assert not SyncRecord.objects.exclude(status="accepted").exists()
    demo_driver_signs_in_to_a_departed_trip_of_today_with_stops_to_drive()
    other_drivers_are_on_the_road_with_positions_along_their_route()


def demo_driver_signs_in_to_a_departed_trip_of_today_with_stops_to_drive():
    from django.test import Client

    from dispensary.models import User

    driver = User.objects.get(username="driver")
    assert driver.check_password("demo-password-2026")
    client = Client()
    client.force_login(driver)
    assert client.get("/delivery/driver/").status_code == 200
    data = client.get("/delivery/driver/today.json").json()
    [trip] = data["trips"]
    assert (trip["status"], trip["today"], trip["store"]) == (
        "departed",
        "2026-03-10",
        Store.objects.get(code="sf-mission").name,
    )
    assert len(trip["stops"]) >= 4
    assert {stop["status"] for stop in trip["stops"]} == {"pending"}
    assert [stop["sequence"] for stop in trip["stops"]] == list(range(1, len(trip["stops"]) + 1))
    assert all(stop["items"] and stop["minimum_age"] == 21 for stop in trip["stops"])


def other_drivers_are_on_the_road_with_positions_along_their_route():
    from delivery.geometry import distance_m
    from delivery.models import Trip, TripPosition
    from delivery.tracking import latest_positions

    now = timezone.now()
    on_the_road = Trip.objects.filter(status="departed").exclude(driver__user__username="driver")
    assert sorted(on_the_road.values_list("driver__user__username", flat=True)) == ["driver.mi", "driver.sf2"]
    latest = latest_positions([trip.pk for trip in on_the_road])
    for trip in on_the_road:
        positions = list(TripPosition.objects.filter(trip=trip).order_by("recorded_at"))
        assert len(positions) == 20
        assert positions[0].recorded_at == now - dt.timedelta(minutes=9, seconds=30)
        assert positions[-1].recorded_at == now == latest[trip.pk].recorded_at
        first = trip.stops.order_by("sequence").first().order
        store = trip.store
        to_stop = [
            distance_m(float(p.latitude), float(p.longitude), float(first.latitude), float(first.longitude))
            for p in positions
        ]
        # Getting closer to the first stop at each fix, 80% of the way from the store by now.
        assert to_stop == sorted(to_stop, reverse=True)
        leg = distance_m(
            float(store.latitude), float(store.longitude), float(first.latitude), float(first.longitude)
        )
        assert to_stop[-1] == pytest.approx(0.2 * leg, rel=0.02)
    # The demo driver has just left the store: their own phone sends their positions.
    assert not TripPosition.objects.filter(trip__driver__user__username="driver").exists()


def test_trips_of_the_last_days_are_back_with_everything_accounted_for(loaded):
    from delivery.models import DeliveryProof, StopVisit, Trip
    from delivery.services_closing import trip_balance
    from inventory.selectors import ledger_mismatch_list
    from pos.models import DrawerSession

    past = Trip.objects.filter(day__lt=dt.date(2026, 3, 10)).order_by("store__code", "day")
    assert [(trip.store.code, trip.day.isoformat(), trip.driver.user.username) for trip in past] == [
        ("detroit-riverside", "2026-03-08", "driver.mi"),
        ("sf-mission", "2026-03-09", "driver"),
    ]
    outcomes = []
    for trip in past:
        assert (trip.status, trip.state_status) == ("returned", "accepted")
        balance = trip_balance(trip)
        assert balance.problems == [] and balance.pending == []
        assert all(entry.left == entry.sold + entry.back for entry in balance.packages)
        drawer = DrawerSession.objects.get(register__name=f"Trip {trip.pk}")
        assert (drawer.status, drawer.over_short) == ("closed", 0)
        for stop in trip.stops.order_by("sequence"):
            visit = StopVisit.objects.get(stop=stop)
            if stop.status == "delivered":
                proof = DeliveryProof.objects.get(stop=stop)
                assert visit.sale_id and visit.id_passed
                outcomes.append(("delivered", "signed" if proof.signature else proof.no_signature_reason))
            else:
                assert stop.order.order.status == "cancelled"
                outcomes.append(("returned", visit.return_reason))
    assert sorted(outcomes) == [
        ("delivered", "Hands full, asked me to sign for them."),
        ("delivered", "signed"),
        ("delivered", "signed"),
        ("returned", "nobody_home"),
        ("returned", "refused"),
    ]
    for store in Store.objects.all():
        assert ledger_mismatch_list(store=store) == []


def test_no_demo_delivery_orders_late_at_night(shipped_rules, clock):
    from inventory import demo as inventory_demo

    clock.move_to(dt.datetime(2026, 3, 11, 6, 30, tzinfo=dt.UTC))  # 23:30 in San Francisco, 2:30 in Detroit
    core_demo.demo_load()
    inventory_demo.demo_load()
    added = delivery_demo.demo_load()
    assert (added["delivery orders"], added["trips on the road"], added["positions"]) == (0, 0, 0)
