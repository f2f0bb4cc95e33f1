"""Delivery rules as shipped (migrations 0009-0010) through the selector and compliance.rules.delivery: legal
hours per state with the driver's return, the days clocks change, vehicle value caps, and `check_delivery`."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from compliance.models import DeliveryRule
from compliance.rules import RulesInputError
from compliance.rules.delivery import (
    delivery_check,
    delivery_request_parse,
    legal_hours,
    vehicle_value_check,
    window_check,
)
from compliance.selectors import jurisdiction_rules_get

pytestmark = pytest.mark.django_db

T = dt.time
DAY = dt.date(2026, 3, 4)
SPRING_FORWARD = dt.date(2026, 3, 8)  # US clocks go from 02:00 to 03:00
FALL_BACK = dt.date(2026, 11, 1)  # US clocks go from 02:00 back to 01:00


def rules(state, on=DAY):
    return jurisdiction_rules_get(jurisdiction=state, on=on)


def window(state, start, end, *, on=DAY, back=0):
    found = rules(state, on)
    return window_check(found, day=on, start=start, end=end, time_zone=found.time_zone, return_minutes=back)


def check(data):
    return delivery_check(
        rules(data["jurisdiction"], dt.date.fromisoformat(data["date"])), delivery_request_parse(data)
    )


def run_command(data) -> dict:
    out = io.StringIO()
    call_command("check_delivery", "-", stdin=io.StringIO(json.dumps(data)), stdout=out)
    return json.loads(out.getvalue())


def test_every_seeded_state_has_a_cited_delivery_row_in_force():
    for state in ["US-CA", "US-CO", "US-MI", "US-MA", "US-NV", "US-IL", "US-OK"]:
        hours = legal_hours(rules(state), DAY)
        assert hours.on_file, state
        assert hours.citations, state
    assert not DeliveryRule.objects.filter(citation="").exists()


def test_california_six_to_ten_with_the_driver_back_by_ten():
    hours = legal_hours(rules("US-CA"), DAY)
    assert (hours.start, hours.end, hours.return_by, hours.permitted) == (T(6), T(22), T(22), True)
    assert window("US-CA", T(6), T(7)) == []
    assert window("US-CA", T(21, 15), T(22)) == []
    assert window("US-CA", T(5, 59), T(7)) == [
        "Deliveries in California may only happen between 6:00 AM and 10:00 PM local time (Cal. Code Regs., "
        "tit. 4, §§ 15403, 15415); this window runs from 5:59 AM to 7:00 AM."
    ]
    # The window ends in time but the drive back does not.
    assert window("US-CA", T(21), T(21, 50), back=10) == []
    assert window("US-CA", T(21), T(21, 50), back=11) == [
        "The driver must be back at the premises by 10:00 PM in California; this window ends at 9:50 PM plus "
        "11 minutes to drive back, back at 10:01 PM."
    ]
    assert window("US-CA", T(9), T(8)) == ["The window must end after it starts, on the same day."]


def test_states_without_stated_hours_say_so_and_illinois_allows_no_delivery():
    michigan = legal_hours(rules("US-MI"), DAY)
    assert (michigan.permitted, michigan.hours_stated, michigan.start, michigan.return_by) == (
        True,
        False,
        None,
        None,
    )
    assert michigan.label == "no statewide hours"
    assert window("US-MI", T(23), T(23, 45)) == []
    massachusetts = legal_hours(rules("US-MA"), DAY)
    assert (massachusetts.start, massachusetts.end) == (T(8), T(21))
    assert window("US-MA", T(20, 30), T(21, 15)) != []
    illinois = window("US-IL", T(12), T(13))
    assert illinois == [
        "Illinois does not allow retail delivery to customers (410 ILCS 705 (Cannabis Regulation and Tax Act))."
    ]


def test_a_local_time_skipped_by_the_clocks_is_refused_on_the_spring_forward_day_only():
    assert window("US-CA", T(2, 30), T(7), on=SPRING_FORWARD) == [
        "2:30 AM does not exist on 2026-03-08 in America/Los_Angeles: the clocks go forward that night."
    ]
    assert window("US-CA", T(6), T(7), on=SPRING_FORWARD) == []
    assert window("US-CA", T(21, 30), T(22), on=SPRING_FORWARD) == []
    # Michigan sets no hours, so 02:30 is refused only because it does not exist that night in Detroit.
    assert window("US-MI", T(2, 30), T(3, 30), on=SPRING_FORWARD) == [
        "2:30 AM does not exist on 2026-03-08 in America/Detroit: the clocks go forward that night."
    ]
    assert window("US-MI", T(2, 30), T(3, 30), on=DAY) == []


def test_the_drive_back_counts_real_minutes_when_the_clocks_go_back():
    # 01:30 to 01:50 (first pass) plus 30 real minutes is 01:20 on the wall clock: still before 22:00.
    assert window("US-MI", T(1, 30), T(1, 50), on=FALL_BACK, back=30) == []
    # California's evening limit is unchanged that day.
    assert window("US-CA", T(21, 30), T(22), on=FALL_BACK) == []
    assert window("US-CA", T(21, 30), T(22), on=FALL_BACK, back=1) != []


def test_california_vehicle_caps_by_date():
    today = rules("US-CA")
    assert vehicle_value_check(today, day=DAY, ordered_value=Decimal("10000.00")) == []
    assert vehicle_value_check(today, day=DAY, ordered_value=Decimal("10000.01")) == [
        "The vehicle would carry $10,000.01 of goods at retail value; California allows at most $10,000.00 in a "
        "vehicle at any time (Cal. Bus. & Prof. Code § 26090.1 (AB 1014); Cal. Code Regs., tit. 4, § 15418): "
        "$0.01 over."
    ]
    # Since 2023 any mix of ordered and not-yet-ordered goods counts toward the one cap.
    assert (
        vehicle_value_check(today, day=DAY, ordered_value=Decimal("0"), unordered_value=Decimal("9000")) == []
    )
    day_2021 = dt.date(2021, 6, 1)
    before = rules("US-CA", day_2021)
    assert (
        vehicle_value_check(
            before, day=day_2021, ordered_value=Decimal("2000"), unordered_value=Decimal("3000")
        )
        == []
    )
    assert vehicle_value_check(
        before, day=day_2021, ordered_value=Decimal("1000"), unordered_value=Decimal("3000.01")
    ) == [
        "$3,000.01 of the goods are not on a customer's order yet; California allows at most $3,000.00 of those "
        "(Cal. Code Regs., tit. 4, § 15418(a) (formerly tit. 16, § 5418(a)))."
    ]
    assert len(vehicle_value_check(before, day=day_2021, ordered_value=Decimal("5000.01"))) == 1
    # Michigan states no value cap.
    assert vehicle_value_check(rules("US-MI"), day=DAY, ordered_value=Decimal("50000")) == []


def test_check_delivery_the_issues_example_is_refused_with_every_reason():
    data = {
        "jurisdiction": "US-CA",
        "date": "2026-03-08",
        "window": {"start": "21:30", "end": "22:15"},
        "vehicle": {"goods_value": "9200.00", "unordered_value": "0.00"},
        "order_value": "950.00",
    }
    assert run_command(data) == {
        "allowed": False,
        "reasons": [
            "Deliveries in California may only happen between 6:00 AM and 10:00 PM local time (Cal. Code Regs., "
            "tit. 4, §§ 15403, 15415); this window runs from 9:30 PM to 10:15 PM.",
            "The driver must be back at the premises by 10:00 PM in California; this window ends at 10:15 PM, "
            "back at 10:15 PM.",
            "The vehicle would carry $10,150.00 of goods at retail value; California allows at most $10,000.00 in "
            "a vehicle at any time (Cal. Bus. & Prof. Code § 26090.1 (AB 1014); Cal. Code Regs., tit. 4, "
            "§ 15418): $150.00 over.",
        ],
    }


def test_check_delivery_allows_a_delivery_within_every_rule():
    data = {
        "jurisdiction": "US-CA",
        "date": "2026-03-08",
        "window": {"start": "20:30", "end": "21:15"},
        "vehicle": {"goods_value": "9050.00", "unordered_value": "500.00"},
        "order_value": "950.00",
        "return_minutes": 45,
    }
    assert run_command(data) == {"allowed": True, "reasons": []}
    assert check({**data, "return_minutes": 46}).allowed is False
    assert run_command({"jurisdiction": "US-IL", "date": "2026-03-08"}) == {
        "allowed": False,
        "reasons": [
            "Illinois does not allow retail delivery to customers (410 ILCS 705 (Cannabis Regulation and Tax Act))."
        ],
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"date": "2026-03-08"}, "jurisdiction"),
        ({"jurisdiction": "US-CA", "date": "March 8"}, "date"),
        (
            {"jurisdiction": "US-CA", "date": "2026-03-08", "window": {"start": "9pm", "end": "22:00"}},
            "window.start",
        ),
        ({"jurisdiction": "US-CA", "date": "2026-03-08", "window": {"start": "21:00"}}, "window"),
        (
            {"jurisdiction": "US-CA", "date": "2026-03-08", "vehicle": {"goods_value": "-1"}},
            "vehicle.goods_value",
        ),
        (
            {
                "jurisdiction": "US-CA",
                "date": "2026-03-08",
                "vehicle": {"goods_value": "10", "unordered_value": "20"},
            },
            "vehicle.unordered_value",
        ),
        ({"jurisdiction": "US-CA", "date": "2026-03-08", "order_value": "1.005"}, "order_value"),
        ({"jurisdiction": "US-CA", "date": "2026-03-08", "return_minutes": -5}, "return_minutes"),
        ({"jurisdiction": "US-CA", "date": "2026-03-08", "store": 1}, "non_field_errors"),
    ],
)
def test_bad_input_names_the_field(data, field):
    with pytest.raises(RulesInputError) as raised:
        delivery_request_parse(data)
    assert field in raised.value.details


def test_check_delivery_command_refuses_a_bad_file_and_an_unknown_state(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="is not valid JSON"):
        call_command("check_delivery", str(bad))
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"jurisdiction": "US-ZZ", "date": "2026-03-08"}), encoding="utf-8")
    with pytest.raises(CommandError, match="No rules for jurisdiction US-ZZ"):
        call_command("check_delivery", str(unknown))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("check_delivery", str(tmp_path / "missing.json"))


def test_midnight_end_is_accepted_and_judged():
    data = {"jurisdiction": "US-MI", "date": "2026-03-04", "window": {"start": "23:00", "end": "24:00"}}
    assert check(data).allowed is True
    assert check({**data, "jurisdiction": "US-CA"}).allowed is False
