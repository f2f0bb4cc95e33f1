"""Shifts: overlaps refused for a driver and for a vehicle, 21 or older and a valid licence on the day they
drive, clock-in and clock-out with their refusals in plain words, and drivers_on_shift for the dispatch board
and the planner in a fixed number of queries. The clock is frozen: "now" is always a chosen moment."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.fleet import (
    ClockRefused,
    DriverNotAllowed,
    ShiftOverlap,
    driver_shift_cancel,
    driver_shift_clock_in,
    driver_shift_clock_out,
    driver_shift_create,
    driver_shift_update,
)
from delivery.models import DriverShift
from delivery.selectors import drivers_on_shift
from delivery.services import delivery_zone_create
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import AuditRecord
from tests.delivery.fleet import local, make_driver, make_shift, make_vehicle
from tests.delivery.helpers import square
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 10)  # a Wednesday


@pytest.fixture
def crew(store):
    return make_driver(store, first_name="Dana", last_name="Cruz"), make_vehicle(store, plate="8ABC123")


def zone(store, name, south=37.74):
    return delivery_zone_create(
        store=store,
        actor=None,
        name=name,
        geometry=square(south, -122.43, south + 0.02, -122.40),
        minimum_order="0",
        fee="1",
        estimated_minutes=30,
    )


def test_shift_in_store_local_time(store, crew):
    driver, vehicle = crew
    shift = make_shift(store, driver, vehicle, DAY, 10, 18)
    assert shift.starts_at == dt.datetime(2026, 6, 10, 17, tzinfo=dt.UTC)  # 10:00 PDT
    assert (shift.day, shift.all_zones, shift.status) == (DAY, True, "planned")
    assert AuditRecord.objects.filter(action="shift.created", object_id=str(shift.pk)).count() == 1


def test_a_driver_cannot_have_two_overlapping_shifts(store, crew):
    driver, vehicle = crew
    make_shift(store, driver, vehicle, DAY, 10, 18)
    other_vehicle = make_vehicle(store, plate="8XYZ999")
    with pytest.raises(ShiftOverlap) as refused:
        make_shift(store, driver, other_vehicle, DAY, 17, 22)
    assert refused.value.message == (
        "Dana Cruz already has a shift from 10:00 AM to 6:00 PM on Wednesday 10 June 2026."
    )
    # Back to back is fine.
    make_shift(store, driver, other_vehicle, DAY, 18, 22)
    assert DriverShift.objects.count() == 2


def test_a_vehicle_cannot_be_on_two_overlapping_shifts(store, crew):
    driver, vehicle = crew
    make_shift(store, driver, vehicle, DAY, 10, 18)
    second = make_driver(store, first_name="Eli", last_name="Ford")
    with pytest.raises(ShiftOverlap) as refused:
        make_shift(store, second, vehicle, DAY, 12, 14)
    assert refused.value.message == (
        "The Silver Toyota Prius (8ABC123) is already assigned to Dana Cruz from 10:00 AM to 6:00 PM."
    )
    assert refused.value.details == {"vehicle": [refused.value.message]}
    assert DriverShift.objects.count() == 1
    # A cancelled shift frees the vehicle.
    driver_shift_cancel(shift=DriverShift.objects.get(), actor=None)
    assert make_shift(store, second, vehicle, DAY, 12, 14).vehicle == vehicle


def test_under_21_on_the_day_they_drive_is_refused(store):
    young = make_driver(store, born=dt.date(2005, 6, 11), first_name="Kim", last_name="Lee")
    with pytest.raises(DriverNotAllowed) as refused:
        make_shift(store, young, None, DAY)
    assert refused.value.message == (
        "Kim Lee is 20 on Wednesday 10 June 2026; drivers must be 21 or older (Kim Lee turns 21 on Thursday "
        "11 June 2026)."
    )
    assert not DriverShift.objects.exists()
    # On their 21st birthday they may drive.
    assert make_shift(store, young, None, DAY + dt.timedelta(days=1)).day == dt.date(2026, 6, 11)


def test_expired_licence_or_inactive_profile_is_refused(store):
    lapsed = make_driver(store, expires=dt.date(2026, 6, 9), first_name="Max", last_name="Ode")
    with pytest.raises(DriverNotAllowed, match="Max Ode's driver's licence expired on Tuesday 9 June 2026."):
        make_shift(store, lapsed, None, DAY)
    lapsed.is_active = False
    lapsed.save()
    with pytest.raises(DriverNotAllowed, match="driver profile is not active"):
        make_shift(store, lapsed, None, DAY - dt.timedelta(days=3))
    assert not DriverShift.objects.exists()


def test_other_stores_vehicles_zones_and_drivers_are_refused(organization, store, crew):
    driver, _ = crew
    elsewhere = StoreFactory(organization=organization)
    with pytest.raises(ValidationFailed, match="belongs to another store"):
        make_shift(store, driver, make_vehicle(elsewhere, plate="9OTHER1"), DAY)
    with pytest.raises(ValidationFailed, match="Choose zones of"):
        make_shift(store, driver, None, DAY, zones=[zone(elsewhere, "Far")])
    with pytest.raises(ValidationFailed, match="does not work at"):
        make_shift(elsewhere, driver, None, DAY)
    with pytest.raises(ValidationFailed, match="end after it starts"):
        make_shift(store, driver, None, DAY, 18, 10)
    with pytest.raises(ValidationFailed, match="at most 16 hours"):
        driver_shift_create(
            store=store,
            actor=None,
            driver=driver,
            vehicle=None,
            starts_at=local(store, DAY, 6),
            ends_at=local(store, DAY + dt.timedelta(days=1), 6),
        )
    assert not DriverShift.objects.exists()


def test_the_night_the_clocks_go_forward(store, crew):
    driver, vehicle = crew
    spring = dt.date(2026, 3, 8)
    shift = make_shift(store, driver, vehicle, spring, 0, 6)
    assert shift.ends_at - shift.starts_at == dt.timedelta(hours=5)


def test_clock_in_and_out(clock, store, crew, manager):
    driver, vehicle = crew
    shift = make_shift(store, driver, vehicle, DAY, 10, 18)
    clock.move_to(local(store, DAY, 9, 29))
    with pytest.raises(ClockRefused) as refused:
        driver_shift_clock_in(shift=shift, actor=driver.user)
    assert refused.value.message == (
        "The shift runs from 10:00 AM to 6:00 PM on Wednesday 10 June 2026; clock in from 9:30 AM."
    )
    clock.move_to(local(store, DAY, 9, 45))
    shift = driver_shift_clock_in(shift=shift, actor=driver.user)
    assert (shift.clocked_in_at, shift.clocked_in_by, shift.status) == (
        local(store, DAY, 9, 45),
        driver.user,
        "on_shift",
    )
    with pytest.raises(ClockRefused, match="Already clocked in at 9:45 AM."):
        driver_shift_clock_in(shift=shift, actor=driver.user)
    with pytest.raises(Conflict, match="clock them out instead"):
        driver_shift_cancel(shift=shift, actor=manager)
    clock.move_to(local(store, DAY, 18, 5))
    shift = driver_shift_clock_out(shift=shift, actor=manager)
    assert (shift.clocked_out_by, shift.status) == (manager, "finished")
    with pytest.raises(ClockRefused, match="Already clocked out at 6:05 PM."):
        driver_shift_clock_out(shift=shift, actor=manager)
    with pytest.raises(ClockRefused, match="You already clocked out of this shift at 6:05 PM"):
        driver_shift_clock_in(shift=shift, actor=driver.user)
    actions = list(
        AuditRecord.objects.filter(object_id=str(shift.pk), action__startswith="shift.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["shift.created", "shift.clocked_in", "shift.clocked_out"]


def test_clock_refusals_outside_the_shift(clock, store, crew):
    driver, vehicle = crew
    shift = make_shift(store, driver, vehicle, DAY, 10, 18)
    clock.move_to(local(store, DAY, 12))
    with pytest.raises(ClockRefused, match="Not clocked in yet"):
        driver_shift_clock_out(shift=shift, actor=driver.user)
    clock.move_to(local(store, DAY, 18))
    with pytest.raises(ClockRefused, match="it is over"):
        driver_shift_clock_in(shift=shift, actor=driver.user)
    cancelled = make_shift(store, driver, vehicle, DAY + dt.timedelta(days=1))
    driver_shift_cancel(shift=cancelled, actor=None)
    clock.move_to(local(store, DAY + dt.timedelta(days=1), 11))
    with pytest.raises(ClockRefused, match="This shift was cancelled"):
        driver_shift_clock_in(shift=cancelled, actor=driver.user)
    assert DriverShift.objects.filter(clocked_in_at__isnull=False).count() == 0


def test_update_keeps_the_overlap_rules(store, crew):
    driver, vehicle = crew
    first = make_shift(store, driver, vehicle, DAY, 10, 14)
    second = make_shift(store, make_driver(store), make_vehicle(store, plate="8XYZ999"), DAY, 15, 20)
    with pytest.raises(ShiftOverlap, match="already assigned to"):
        driver_shift_update(
            shift=second,
            actor=None,
            vehicle=vehicle,
            starts_at=local(store, DAY, 13),
            ends_at=local(store, DAY, 20),
        )
    moved = driver_shift_update(
        shift=first,
        actor=None,
        vehicle=vehicle,
        starts_at=local(store, DAY, 8),
        ends_at=local(store, DAY, 15),
    )
    assert (moved.starts_at, moved.ends_at) == (local(store, DAY, 8), local(store, DAY, 15))
    second.refresh_from_db()
    assert second.starts_at == local(store, DAY, 15)


def test_drivers_on_shift_with_vehicle_window_and_zones(store, crew):
    near, far = zone(store, "Near"), zone(store, "Far", south=37.70)
    driver, vehicle = crew
    everywhere = make_shift(store, driver, vehicle, DAY, 10, 18)
    other = make_driver(store, first_name="Eli", last_name="Ford")
    near_only = make_shift(
        store, other, make_vehicle(store, plate="8XYZ999", capacity=6), DAY, 12, 20, zones=[near]
    )
    make_shift(store, make_driver(store), None, DAY, 19, 23)  # not yet
    finished = make_shift(store, make_driver(store), make_vehicle(store, plate="5DONE55"), DAY, 9, 17)
    finished.clocked_in_at = local(store, DAY, 9)
    finished.clocked_out_at = local(store, DAY, 12)
    finished.save()
    cancelled = make_shift(store, make_driver(store), None, DAY, 9, 17)
    driver_shift_cancel(shift=cancelled, actor=None)

    on_shift = drivers_on_shift(store, local(store, DAY, 13))
    assert [
        (entry.shift_id, entry.driver.name, entry.vehicle.plate, entry.capacity) for entry in on_shift
    ] == [
        (everywhere.pk, "Dana Cruz", "8ABC123", 12),
        (near_only.pk, "Eli Ford", "8XYZ999", 6),
    ]
    assert on_shift[0].zone_ids == {near.pk, far.pk}
    assert on_shift[1].zone_ids == {near.pk}
    assert (on_shift[1].starts_at, on_shift[1].ends_at) == (local(store, DAY, 12), local(store, DAY, 20))
    assert drivers_on_shift(store, local(store, DAY, 18)) == [on_shift[1]]
    with pytest.raises(ValueError, match="aware"):
        drivers_on_shift(store, dt.datetime(2026, 6, 10, 12))  # noqa: DTZ001 - the refusal under test


def test_drivers_on_shift_reads_in_three_queries_however_many_drivers(store):
    chosen = zone(store, "Near")
    for index in range(6):
        make_shift(
            store,
            make_driver(store),
            make_vehicle(store, plate=f"8TST{index:03}"),
            DAY,
            zones=[chosen] if index % 2 else None,
        )
    with CaptureQueriesContext(connection) as queries:
        on_shift = drivers_on_shift(store, local(store, DAY, 12))
        names = [(entry.driver.name, entry.vehicle.capacity, sorted(entry.zone_ids)) for entry in on_shift]
    assert len(names) == 6
    assert len(queries) == 3
