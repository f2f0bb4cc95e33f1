"""A store's delivery hours: the state's legal hours intersected with the store's opening hours, a window
outside either refused, right on the days the clocks change; and the vehicle value check the planner calls."""

import datetime as dt
from decimal import Decimal

import pytest

from delivery.selectors import (
    delivery_hours_for_day,
    delivery_week_hours,
    delivery_window_problems,
    local_window,
    vehicle_value_problems,
)
from dispensary.clock import store_local_date
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STATE_HOURS = (
    "Deliveries in California may only happen between 6:00 AM and 10:00 PM local time (Cal. Code Regs., tit. 4, "
    "§§ 15403, 15415); this window runs from {} to {}."
)


@pytest.fixture
def early_store(shipped_rules):
    """A California store open 05:00 to 23:00: the state's hours are the narrower ones."""
    return StoreFactory(name="Early Bird", opening_hours={day: [["05:00", "23:00"]] for day in WEEK})


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def test_delivery_hours_are_the_intersection_of_state_and_store(shipped_rules, early_store):
    day = dt.date(2026, 3, 4)
    assert delivery_hours_for_day(early_store, day).label == "6:00 AM – 10:00 PM"
    nine_to_nine = StoreFactory()  # 09:00-21:00
    assert delivery_hours_for_day(nine_to_nine, day).label == "9:00 AM – 9:00 PM"
    split = StoreFactory(opening_hours={"wed": [["05:00", "07:00"], ["12:00", "24:00"]]})
    hours = delivery_hours_for_day(split, day)
    assert (hours.label, hours.store_label) == (
        "6:00 AM – 7:00 AM, 12:00 PM – 10:00 PM",
        "5:00 AM – 7:00 AM, 12:00 PM – midnight",
    )
    assert (
        delivery_hours_for_day(split, day + dt.timedelta(days=1)).label == "no deliveries"
    )  # closed Thursdays
    michigan = StoreFactory(
        jurisdiction="US-MI", time_zone="America/Detroit", opening_hours={"wed": [["00:00", "24:00"]]}
    )
    assert delivery_hours_for_day(michigan, day).label == "12:00 AM – midnight"
    illinois = StoreFactory(jurisdiction="US-IL", time_zone="America/Chicago")
    assert delivery_hours_for_day(illinois, day).label == "no deliveries"


def test_a_window_outside_the_store_hours_is_refused(shipped_rules):
    store = StoreFactory(name="Nine to Nine")  # 09:00-21:00 daily
    start, end = local_window(store, dt.date(2026, 3, 4), dt.time(8), dt.time(9))
    assert delivery_window_problems(store=store, start=start, end=end) == [
        "Nine to Nine is open 9:00 AM – 9:00 PM on Wednesdays; this window runs from 8:00 AM to 9:00 AM."
    ]
    start, end = local_window(store, dt.date(2026, 3, 4), dt.time(9), dt.time(10))
    assert delivery_window_problems(store=store, start=start, end=end) == []
    over_midnight = (utc(2026, 3, 5, 7, 30), utc(2026, 3, 5, 8, 30))  # 23:30 to 00:30 local
    assert delivery_window_problems(store=store, start=over_midnight[0], end=over_midnight[1]) == [
        "A delivery window must start and end on the same local day."
    ]


def test_spring_forward_the_same_utc_instants_are_legal_after_the_change_only(early_store):
    # 13:00-14:00 UTC is 05:00-06:00 PST on Saturday and 06:00-07:00 PDT on Sunday 8 March 2026.
    assert delivery_window_problems(
        store=early_store, start=utc(2026, 3, 7, 13), end=utc(2026, 3, 7, 14)
    ) == [STATE_HOURS.format("5:00 AM", "6:00 AM")]
    assert (
        delivery_window_problems(store=early_store, start=utc(2026, 3, 8, 13), end=utc(2026, 3, 8, 14)) == []
    )
    # The evening limit is 22:00 PDT, 05:00 UTC the next day.
    assert (
        delivery_window_problems(store=early_store, start=utc(2026, 3, 9, 4, 15), end=utc(2026, 3, 9, 5))
        == []
    )
    assert delivery_window_problems(
        store=early_store, start=utc(2026, 3, 9, 4, 30), end=utc(2026, 3, 9, 5, 15)
    ) == [
        STATE_HOURS.format("9:30 PM", "10:15 PM"),
        "The driver must be back at the premises by 10:00 PM in California; this window ends at 10:15 PM, back at "
        "10:15 PM.",
    ]


def test_fall_back_the_same_utc_instants_move_an_hour_earlier(early_store):
    # 13:30-14:30 UTC is 06:30-07:30 PDT on Saturday 31 October and 05:30-06:30 PST on Sunday 1 November 2026.
    assert (
        delivery_window_problems(
            store=early_store, start=utc(2026, 10, 31, 13, 30), end=utc(2026, 10, 31, 14, 30)
        )
        == []
    )
    assert delivery_window_problems(
        store=early_store, start=utc(2026, 11, 1, 13, 30), end=utc(2026, 11, 1, 14, 30)
    ) == [STATE_HOURS.format("5:30 AM", "6:30 AM")]
    # 22:00 PST is 06:00 UTC: a window ending then with 10 minutes to drive back is refused.
    assert (
        delivery_window_problems(store=early_store, start=utc(2026, 11, 2, 5), end=utc(2026, 11, 2, 6)) == []
    )
    assert delivery_window_problems(
        store=early_store, start=utc(2026, 11, 2, 5), end=utc(2026, 11, 2, 5, 55), return_minutes=10
    ) == [
        "The driver must be back at the premises by 10:00 PM in California; this window ends at 9:55 PM plus 10 "
        "minutes to drive back, back at 10:05 PM."
    ]


def test_week_hours_start_on_the_stores_local_day_on_a_change_day(clock, early_store):
    # 07:30 UTC on 8 March is still 7 March in Los Angeles (23:30 PST).
    clock.move_to(utc(2026, 3, 8, 7, 30))
    week = delivery_week_hours(early_store, store_local_date(early_store))
    assert [day.day for day in week[:2]] == [dt.date(2026, 3, 7), dt.date(2026, 3, 8)]
    assert {day.label for day in week} == {"6:00 AM – 10:00 PM"}


def test_local_window_refuses_a_time_the_clocks_skip(early_store):
    with pytest.raises(ValueError, match="does not exist"):
        local_window(early_store, dt.date(2026, 3, 8), dt.time(2, 30), dt.time(3, 30))


def test_vehicle_value_check_for_the_planner(shipped_rules, early_store):
    day = dt.date(2026, 3, 4)
    assert (
        vehicle_value_problems(
            store=early_store, day=day, ordered_value=Decimal("8500"), unordered_value=Decimal("1500")
        )
        == []
    )
    assert vehicle_value_problems(
        store=early_store, day=day, ordered_value=Decimal("8500"), unordered_value=Decimal("1500.01")
    ) == [
        "The vehicle would carry $10,000.01 of goods at retail value; California allows at most $10,000.00 in a "
        "vehicle at any time (Cal. Bus. & Prof. Code § 26090.1 (AB 1014); Cal. Code Regs., tit. 4, § 15418): "
        "$0.01 over."
    ]
    massachusetts = StoreFactory(jurisdiction="US-MA", time_zone="America/New_York")
    assert len(vehicle_value_problems(store=massachusetts, day=day, ordered_value=Decimal("10000.01"))) == 1
    michigan = StoreFactory(jurisdiction="US-MI", time_zone="America/Detroit")
    assert vehicle_value_problems(store=michigan, day=day, ordered_value=Decimal("90000")) == []
