# ruff: noqa: F811 - the fixtures imported from dispatch_fixtures are parameters of the tests
"""The dispatch board's services: plan a day (locked routes left alone, every planned route re-checked here by an
independent evaluator of windows, capacity, the value cap, shifts, zones and the store's hours), put an order on a
route by hand (refused with the reason), move, remove, lock, cancel, stale versions, late orders, and the
RoutePlanned event's facts."""

import datetime as dt
import math
from decimal import Decimal as D

import pytest

from delivery.models import DeliveryOrder, Trip, TripStop
from delivery.services_dispatch import (
    NO_OPEN_ROUTE,
    BoardChanged,
    DispatchRefused,
    dispatch_assign,
    dispatch_insert,
    dispatch_move,
    dispatch_plan,
    dispatch_remove,
    trip_cancel,
    trip_lock,
    trip_unlock,
)
from dispensary.models import AuditRecord, OutboxEvent
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

pytestmark = pytest.mark.django_db
SECONDS = 0.5


# --- An evaluator written for these tests (not the planner's own check) -----------------------------------------


def _metres(a, b) -> float:
    """Great-circle metres between (latitude, longitude) pairs."""
    lat1, lon1, lat2, lon2 = (math.radians(float(x)) for x in (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def _drive(a, b) -> dt.timedelta:
    """The default travel model (1.3 road factor, 30 km/h), rounded down a second for safety."""
    return dt.timedelta(seconds=max(0, _metres(a, b) * 1.3 / (30_000 / 3600) - 1))


def broken_promises(trip: Trip, *, now: dt.datetime, cap=D("10000.00")) -> list[str]:
    store, shift = trip.store, trip.shift
    opens = dt.datetime.combine(trip.day, dt.time(9), tzinfo=store.tz)
    closes = dt.datetime.combine(trip.day, dt.time(21), tzinfo=store.tz)
    stops = list(trip.stops.exclude(status="returned").select_related("order__order").order_by("sequence"))
    problems = []
    if [stop.sequence for stop in stops] != list(range(1, len(stops) + 1)):
        problems.append("sequence has gaps")
    if len(stops) > trip.vehicle.capacity:
        problems.append("over capacity")
    value = sum((stop.order.order.estimated_total for stop in stops), D("0"))
    if value != trip.goods_value:
        problems.append(f"goods value {trip.goods_value} is not the orders' {value}")
    if value > cap:
        problems.append("over the value cap")
    if trip.planned_start < max(shift.starts_at, opens, now) - dt.timedelta(seconds=1):
        problems.append("leaves before the shift, the hours or now")
    if trip.planned_end > min(shift.ends_at, closes):
        problems.append("back after the shift or the store's hours")
    allowed_zones = None if shift.all_zones else {zone.pk for zone in shift.zones.all()}
    here, leave = (store.latitude, store.longitude), trip.planned_start
    for stop in stops:
        delivery = stop.order
        point = (delivery.latitude, delivery.longitude)
        if not delivery.window_start <= stop.planned_arrival <= delivery.window_end:
            problems.append(f"order {delivery.order_id} outside its window")
        if stop.planned_arrival < leave + _drive(here, point):
            problems.append(f"order {delivery.order_id} reached faster than the car drives")
        if stop.planned_departure < stop.planned_arrival + dt.timedelta(minutes=5):
            problems.append(f"order {delivery.order_id} served in less than 5 minutes")
        if allowed_zones is not None and delivery.zone_id not in allowed_zones:
            problems.append(f"order {delivery.order_id} outside the driver's zones")
        here, leave = point, stop.planned_departure
    if stops and trip.planned_end < leave + _drive(here, (store.latitude, store.longitude)):
        problems.append("back at the store faster than the car drives")
    return problems


# --- Plan ---------------------------------------------------------------------------------------------------


def test_plan_places_the_days_orders_and_every_route_keeps_every_promise(now, placed_store, zones, manager):
    north, south = zones
    driver_on_shift(placed_store, "Dana", "8AAA001", capacity=6)
    driver_on_shift(placed_store, "Eli", "8AAA002", capacity=6, zones=[south])
    orders = spread_orders(placed_store, zones, 10)
    result = dispatch_plan(store=placed_store, day=DAY, by=manager, seconds=SECONDS)

    assert result.planned == 10 and result.unplaced == []
    trips = list(Trip.objects.filter(store=placed_store, day=DAY).select_related("store", "shift", "vehicle"))
    assert len(trips) == 2
    for trip in trips:
        assert broken_promises(trip, now=now) == [], trip
        assert trip.status == "planned" and trip.version >= 1
    on_stops = sorted(TripStop.objects.values_list("order_id", flat=True))
    assert on_stops == sorted(order.pk for order in orders)
    assert AuditRecord.objects.filter(action="trip.planned").count() == 2
    plan_audit = AuditRecord.objects.get(action="dispatch.planned")
    assert plan_audit.after["summary"].startswith("Plan of 2026-03-10: 10 orders planned on 2 routes")


def test_plan_reports_what_it_cannot_place_with_the_planners_reason(now, placed_store, zones, manager):
    north, south = zones
    driver_on_shift(placed_store, "Dana", "8AAA001", zones=[north])
    lonely = order_at(
        placed_store,
        south,
        latitude=37.75,
        longitude=-122.42,
        start=local(placed_store, 13),
        end=local(placed_store, 14),
    )
    result = dispatch_plan(store=placed_store, day=DAY, by=manager, seconds=SECONDS)
    assert [(item.pk, reason) for item, reason in result.unplaced] == [
        (lonely.pk, "No driver on shift serves this order's zone.")
    ]
    lonely.refresh_from_db()
    assert lonely.unplanned_reason == "No driver on shift serves this order's zone."
    assert not TripStop.objects.exists()


def test_the_value_cap_keeps_a_vehicle_under_10000_dollars(now, placed_store, zones, manager):
    driver_on_shift(placed_store, "Dana", "8AAA001", capacity=10)
    orders = [
        order_at(
            placed_store,
            zones[0],
            latitude=37.775 + n * 0.002,
            longitude=-122.42,
            start=local(placed_store, 12),
            end=local(placed_store, 17),
            value="3000.00",
        )
        for n in range(4)
    ]
    result = dispatch_plan(store=placed_store, day=DAY, by=manager, seconds=SECONDS)
    trip = Trip.objects.select_related("store", "shift", "vehicle").get()
    assert trip.goods_value == D("9000.00")
    assert broken_promises(trip, now=now) == []
    assert result.planned == 3 and len(result.unplaced) == 1
    assert {item.pk for item, _ in result.unplaced} <= {order.pk for order in orders}


def test_plan_leaves_locked_routes_and_their_vehicles_alone_and_replaces_planned_ones(
    now, placed_store, zones, manager
):
    driver_on_shift(placed_store, "Dana", "8AAA001", capacity=4)
    driver_on_shift(placed_store, "Eli", "8AAA002", capacity=4)
    spread_orders(placed_store, zones, 6)
    dispatch_plan(store=placed_store, day=DAY, by=manager, seconds=SECONDS)
    # Lock the fuller route: the other has room for one more.
    first, second = sorted(Trip.objects.order_by("pk"), key=lambda trip: -trip.stops.count())
    trip_lock(trip=first, by=manager, expected_version=first.version)
    first.refresh_from_db()
    locked_stops = list(first.stops.values_list("order_id", "sequence", "planned_arrival"))
    late = spread_orders(placed_store, zones, 1)

    result = dispatch_plan(store=placed_store, day=DAY, by=manager, seconds=SECONDS)

    first.refresh_from_db()
    assert first.status == "locked"
    assert list(first.stops.values_list("order_id", "sequence", "planned_arrival")) == locked_stops
    assert result.kept == 1 and [trip.pk for trip in result.trips] == [second.pk]
    assert set(TripStop.objects.filter(trip=second).values_list("order_id", flat=True)) >= {
        o.pk for o in late
    }
    second.refresh_from_db()
    assert (
        broken_promises(Trip.objects.select_related("store", "shift", "vehicle").get(pk=second.pk), now=now)
        == []
    )


def test_plan_refuses_a_day_that_has_passed_and_writes_nothing(now, placed_store, zones, manager):
    with pytest.raises(DispatchRefused, match="That day has passed"):
        dispatch_plan(store=placed_store, day=DAY - dt.timedelta(days=1), by=manager)
    assert not Trip.objects.exists() and not AuditRecord.objects.filter(action="dispatch.planned").exists()


def test_plan_refuses_a_store_not_on_the_map(now, store, manager):
    with pytest.raises(DispatchRefused, match="on the map"):
        dispatch_plan(store=store, day=DAY, by=manager)


# --- By hand --------------------------------------------------------------------------------------------------


@pytest.fixture
def planned(now, placed_store, zones, manager):
    driver_on_shift(placed_store, "Dana", "8AAA001", capacity=3)
    driver_on_shift(placed_store, "Eli", "8AAA002", capacity=3)
    spread_orders(placed_store, zones, 4)
    dispatch_plan(store=placed_store, day=DAY, by=manager, seconds=SECONDS)
    # The emptier route first: it has room for one more order.
    trips = Trip.objects.order_by("pk").select_related("driver__user")
    return sorted(trips, key=lambda trip: trip.stops.count())


def test_assign_puts_a_waiting_order_on_a_route_where_it_keeps_every_promise(
    planned, placed_store, zones, manager, now
):
    trip = planned[0]
    waiting = order_at(
        placed_store,
        zones[0],
        latitude=37.78,
        longitude=-122.41,
        start=local(placed_store, 15),
        end=local(placed_store, 17),
    )
    version = trip.version
    dispatch_assign(order=waiting, trip=trip, by=manager, expected_version=version)
    trip.refresh_from_db()
    assert trip.version == version + 1
    assert TripStop.objects.filter(trip=trip, order=waiting).exists()
    assert (
        broken_promises(Trip.objects.select_related("store", "shift", "vehicle").get(pk=trip.pk), now=now)
        == []
    )
    audit = AuditRecord.objects.filter(action="trip.order_added").get()
    assert audit.after["summary"].startswith(
        f"Order {waiting.order_id} put on Dana Driver's route by hand as stop"
    )


def test_assign_is_refused_with_the_reason_when_the_route_would_break_a_promise(
    planned, placed_store, zones, manager
):
    trip = planned[0]
    too_far = order_at(  # 10 km by road (20 minutes), due by 11:10: no car gets there in time
        placed_store,
        zones[0],
        latitude=37.815,
        longitude=-122.355,
        start=local(placed_store, 11),
        end=local(placed_store, 11, 10),
    )
    before = list(TripStop.objects.filter(trip=trip).values_list("order_id", "sequence", "planned_arrival"))
    with pytest.raises(DispatchRefused) as refused:
        dispatch_assign(order=too_far, trip=trip, by=manager, expected_version=trip.version)
    assert "No vehicle that serves its zone can reach it within its window" in refused.value.message
    assert any("would be reached after its window" in reason for reason in refused.value.details["reasons"])
    assert (
        list(TripStop.objects.filter(trip=trip).values_list("order_id", "sequence", "planned_arrival"))
        == before
    )
    trip_version = Trip.objects.get(pk=trip.pk).version
    assert trip_version == trip.version


def test_assign_over_the_value_cap_is_refused(planned, placed_store, zones, manager):
    trip = planned[0]
    big = order_at(
        placed_store,
        zones[0],
        latitude=37.78,
        longitude=-122.41,
        start=local(placed_store, 12),
        end=local(placed_store, 17),
        value="9990.00",
    )
    with pytest.raises(DispatchRefused) as refused:
        dispatch_assign(order=big, trip=trip, by=manager, expected_version=trip.version)
    assert "value" in " ".join(refused.value.details["reasons"])
    assert not TripStop.objects.filter(order=big).exists()


def test_a_stale_version_changes_nothing(planned, placed_store, zones, manager):
    trip = planned[0]
    waiting = order_at(
        placed_store,
        zones[0],
        latitude=37.78,
        longitude=-122.41,
        start=local(placed_store, 15),
        end=local(placed_store, 17),
    )
    with pytest.raises(BoardChanged, match="The board changed"):
        dispatch_assign(order=waiting, trip=trip, by=manager, expected_version=trip.version - 1)
    with pytest.raises(BoardChanged):
        trip_lock(trip=trip, by=manager, expected_version=trip.version + 5)
    trip.refresh_from_db()
    assert trip.status == "planned" and not TripStop.objects.filter(order=waiting).exists()


def test_move_takes_an_order_from_one_route_to_the_other(planned, manager, now):
    source, target = planned
    stop = TripStop.objects.filter(trip=source).order_by("sequence").first()
    moved = stop.order
    dispatch_move(
        order=moved,
        to_trip=target,
        by=manager,
        expected_version=source.version,
        to_expected_version=target.version,
    )
    assert TripStop.objects.get(order=moved).trip_id == target.pk
    for trip in Trip.objects.select_related("store", "shift", "vehicle"):
        assert broken_promises(trip, now=now) == []
    source_after, target_after = Trip.objects.get(pk=source.pk), Trip.objects.get(pk=target.pk)
    assert (source_after.version, target_after.version) == (source.version + 1, target.version + 1)
    assert AuditRecord.objects.filter(action="trip.order_moved").count() == 2


def test_remove_puts_the_order_back_to_waiting(planned, manager):
    trip = planned[0]
    stop = TripStop.objects.filter(trip=trip).first()
    dispatch_remove(order=stop.order, by=manager, expected_version=trip.version)
    assert not TripStop.objects.filter(order=stop.order).exists()
    assert list(TripStop.objects.filter(trip=trip).values_list("sequence", flat=True)) == list(
        range(1, TripStop.objects.filter(trip=trip).count() + 1)
    )


def test_lock_unlock_and_cancel(planned, manager):
    trip = planned[0]
    trip = trip_lock(trip=trip, by=manager, expected_version=trip.version)
    with pytest.raises(DispatchRefused, match="locked: unlock it"):
        dispatch_remove(order=TripStop.objects.filter(trip=trip).first().order, by=manager)
    trip = trip_unlock(trip=trip, by=manager, expected_version=trip.version)
    orders = set(TripStop.objects.filter(trip=trip).values_list("order_id", flat=True))
    trip = trip_cancel(trip=trip, by=manager, expected_version=trip.version)
    assert trip.status == "cancelled" and not TripStop.objects.filter(trip=trip).exists()
    assert orders and all(not TripStop.objects.filter(order_id=pk).exists() for pk in orders)
    assert [a.action for a in AuditRecord.objects.filter(object_id=str(trip.pk)).order_by("pk")][-3:] == [
        "trip.locked",
        "trip.unlocked",
        "trip.cancelled",
    ]


def test_a_sent_trip_cannot_be_cancelled(planned, manager):
    trip = planned[0]
    Trip.objects.filter(pk=trip.pk).update(status="sent")
    with pytest.raises(DispatchRefused, match="only a route not yet sent can be cancelled"):
        trip_cancel(trip=trip, by=manager)
    assert Trip.objects.get(pk=trip.pk).status == "sent"


# --- Late orders -------------------------------------------------------------------------------------------------


def test_a_late_order_is_inserted_into_an_open_route(planned, placed_store, zones, now):
    late = order_at(
        placed_store,
        zones[1],
        latitude=37.758,
        longitude=-122.425,
        start=local(placed_store, 14),
        end=local(placed_store, 16),
    )
    assert dispatch_insert(late) == ""
    stop = TripStop.objects.select_related("trip__store", "trip__shift", "trip__vehicle").get(order=late)
    assert broken_promises(stop.trip, now=now) == []
    assert AuditRecord.objects.filter(action="trip.order_inserted").exists()


def test_a_late_order_that_fits_nowhere_waits_with_the_reason(planned, placed_store, zones):
    for trip in planned:
        trip_lock(trip=trip, by=None)
    late = order_at(
        placed_store,
        zones[1],
        latitude=37.758,
        longitude=-122.425,
        start=local(placed_store, 14),
        end=local(placed_store, 16),
    )
    reason = dispatch_insert(late)
    assert reason == NO_OPEN_ROUTE
    assert reason.startswith("Every route of its day is locked or sent")
    late.refresh_from_db()
    assert late.unplanned_reason == reason and not TripStop.objects.filter(order=late).exists()


def test_a_day_without_routes_leaves_a_new_order_for_the_plan(now, placed_store, zones):
    waiting = order_at(
        placed_store,
        zones[1],
        latitude=37.758,
        longitude=-122.425,
        start=local(placed_store, 14),
        end=local(placed_store, 16),
    )
    assert dispatch_insert(waiting) is None
    waiting.refresh_from_db()
    assert waiting.unplanned_reason == ""


# --- The event ----------------------------------------------------------------------------------------------------


def test_route_planned_carries_the_facts_a_consumer_needs(planned):
    trip = planned[0]
    event = OutboxEvent.objects.filter(name="delivery.route_planned", payload__trip_id=trip.pk).latest("pk")
    payload = event.payload
    stops = list(TripStop.objects.filter(trip=trip).select_related("order__order").order_by("sequence"))
    assert event.version == 1
    assert payload["store_id"] == trip.store_id and payload["organization_id"] == trip.organization_id
    assert payload["driver_id"] == trip.driver_id and payload["driver_first_name"] == "Dana"
    assert payload["vehicle_id"] == trip.vehicle_id and payload["vehicle_plate"] == "8AAA001"
    assert (
        payload["day"] == "2026-03-10"
        and payload["status"] == "planned"
        and payload["trip_version"] == trip.version
    )
    assert payload["planned_start"] == trip.planned_start.astimezone(dt.UTC).isoformat()
    assert payload["planned_end"] == trip.planned_end.astimezone(dt.UTC).isoformat()
    assert payload["goods_value"] == str(trip.goods_value)
    assert [
        (s["sequence"], s["order_id"], s["delivery_order_id"], s["customer_id"], s["planned_arrival"])
        for s in payload["stops"]
    ] == [
        (
            stop.sequence,
            stop.order.order_id,
            stop.order_id,
            stop.order.order.customer_id,
            stop.planned_arrival.astimezone(dt.UTC).isoformat(),
        )
        for stop in stops
    ]
    assert set(DeliveryOrder.objects.values_list("unplanned_reason", flat=True)) == {""}


def test_a_waiting_order_starts_an_idle_drivers_route_by_hand(now, placed_store, zones, manager):
    from delivery.services_dispatch import dispatch_start_route

    shift = driver_on_shift(placed_store, "Dana", "8AAA001")
    waiting = order_at(
        placed_store,
        zones[0],
        latitude=37.78,
        longitude=-122.41,
        start=local(placed_store, 13),
        end=local(placed_store, 15),
    )
    trip = dispatch_start_route(order=waiting, shift=shift, by=manager)
    assert trip.shift_id == shift.pk and trip.status == "planned"
    assert list(trip.stops.values_list("order_id", "sequence")) == [(waiting.pk, 1)]
    assert (
        broken_promises(Trip.objects.select_related("store", "shift", "vehicle").get(pk=trip.pk), now=now)
        == []
    )
    other = order_at(
        placed_store,
        zones[0],
        latitude=37.78,
        longitude=-122.41,
        start=local(placed_store, 13),
        end=local(placed_store, 15),
    )
    with pytest.raises(BoardChanged):  # the driver has a route now: the board showed an old state
        dispatch_start_route(order=other, shift=shift, by=manager)
    assert Trip.objects.count() == 1 and not TripStop.objects.filter(order=other).exists()
