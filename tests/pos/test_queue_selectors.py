"""Reads of the check-in queue: the board with wait times, the pickups due today, the door's minimum age."""

import datetime as dt

import pytest

from dispensary.errors import ValidationFailed
from pos.errors import SaleNotAllowed
from pos.models import PickupOrder, PickupOrderLine, Register
from pos.selectors.checks import minimum_age_get
from pos.selectors.queue import (
    pickup_arrival_list,
    queue_board,
    queue_entry_get,
    queue_entry_live_for,
    queue_register_list,
)
from pos.services.queue import queue_call_next, queue_check_in, queue_entry_finish, queue_entry_leave
from tests.factories import CustomerFactory, StoreFactory
from tests.inventory.factories import ProductFactory, receive

MORNING = dt.datetime(2026, 11, 19, 18, 0, tzinfo=dt.UTC)  # 10:00 in Los Angeles


def minutes(n):
    return MORNING + dt.timedelta(minutes=n)


def walk_in(store, staff, name, at):
    return queue_check_in(store=store, staff=staff, display_name=name, customer_type="adult_use", now=at)


def test_board_lists_waiting_and_serving_with_wait_times(store, budtender, django_assert_num_queries):
    register = Register.objects.create(store=store, name="Register 1")
    first = walk_in(store, budtender, "A", minutes(0))
    second = walk_in(store, budtender, "B", minutes(4))
    walk_in(store, budtender, "C", minutes(10))
    walk_in(store, budtender, "D", minutes(12))
    queue_call_next(store=store, staff=budtender, register=register, now=minutes(6))  # A waited 6
    queue_call_next(store=store, staff=budtender, now=minutes(14))  # B waited 10
    queue_entry_finish(entry=first, staff=budtender, now=minutes(15))
    walk_in(store, budtender, "Yesterday", MORNING - dt.timedelta(days=1))

    with django_assert_num_queries(2):
        board = queue_board(store=store, now=minutes(20))
    assert board.local_date == dt.date(2026, 11, 19)
    assert board.average_wait_minutes == 8 and board.called_today == 2
    assert [
        (row.entry.display_name, row.position, row.waited_minutes, row.estimated_minutes)
        for row in board.waiting
    ] == [
        ("C", 1, 10, 1),
        ("D", 2, 8, 1),
    ]
    assert [(row.entry.pk, row.waited_minutes, row.serving_minutes) for row in board.serving] == [
        (second.pk, 10, 6)
    ]
    assert board.next_entry.display_name == "C"


def test_estimates_are_what_is_left_of_the_average(store, budtender):
    walk_in(store, budtender, "A", minutes(0))
    queue_call_next(store=store, staff=budtender, now=minutes(20))
    walk_in(store, budtender, "B", minutes(21))
    walk_in(store, budtender, "C", minutes(25))
    board = queue_board(store=store, now=minutes(26))
    assert [row.estimated_minutes for row in board.waiting] == [15, 19]


def test_before_anyone_is_served_there_is_no_estimate(store, budtender):
    walk_in(store, budtender, "A", minutes(0))
    board = queue_board(store=store, now=minutes(3))
    assert board.average_wait_minutes is None
    assert [(row.waited_minutes, row.estimated_minutes) for row in board.waiting] == [(3, None)]
    assert board.serving == []


def test_left_entries_leave_the_board(store, budtender):
    entry = walk_in(store, budtender, "A", minutes(0))
    queue_entry_leave(entry=entry, staff=budtender)
    board = queue_board(store=store, now=minutes(1))
    assert (board.waiting, board.serving, board.next_entry) == ([], [], None)


def test_entries_and_registers_are_read_within_the_store(store, budtender, organization):
    other = StoreFactory(organization=organization)
    entry = walk_in(other, budtender, "A", MORNING)
    assert queue_entry_get(store=store, entry_id=entry.pk) is None
    assert queue_entry_get(store=other, entry_id=entry.pk) == entry
    Register.objects.create(store=other, name="Elsewhere")
    Register.objects.create(store=store, name="Old", active=False)
    two = Register.objects.create(store=store, name="Register 2")
    one = Register.objects.create(store=store, name="Register 1")
    assert queue_register_list(store=store) == [one, two]


def test_live_entry_of_a_customer_today(store, budtender, organization):
    customer = CustomerFactory(organization=organization)
    assert queue_entry_live_for(store=store, customer=customer) is None
    entry = queue_check_in(store=store, staff=budtender, customer=customer, customer_type="adult_use")
    assert queue_entry_live_for(store=store, customer=customer) == entry


def _order(store, customer, key, *, pickup_after=None, expires=dt.timedelta(hours=8), status="reserved"):
    return PickupOrder.objects.create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        status=status,
        placed_at=MORNING - dt.timedelta(hours=3),
        pickup_after=pickup_after,
        expires_at=MORNING + expires,
        idempotency_key=key,
    )


def test_pickups_due_today(store, organization, django_assert_num_queries):
    customer = CustomerFactory(organization=organization)
    product = ProductFactory(organization=organization)
    package = receive(store, product, 5)
    noon = _order(store, customer, "noon", pickup_after=minutes(120))
    any_time = _order(store, customer, "any")
    overdue = _order(store, customer, "overdue", pickup_after=minutes(-60))
    PickupOrderLine.objects.create(order=noon, product=product, package=package, quantity=1, unit_price=10)
    PickupOrderLine.objects.create(order=noon, product=product, package=package, quantity=2, unit_price=10)
    _order(store, customer, "tomorrow", pickup_after=minutes(60 * 15), expires=dt.timedelta(days=2))
    _order(store, customer, "expired", expires=dt.timedelta(minutes=-1))
    _order(store, customer, "cancelled", status="cancelled")
    _order(StoreFactory(organization=organization), customer, "elsewhere")
    with django_assert_num_queries(1):
        orders = pickup_arrival_list(store=store, now=MORNING)
        assert [order.pk for order in orders] == [overdue.pk, noon.pk, any_time.pk]
        assert [order.line_count for order in orders] == [0, 2, 0]
        assert orders[0].customer == customer


def test_minimum_age_comes_from_the_jurisdictions_rules(store):
    today = dt.date(2026, 11, 19)
    assert minimum_age_get(store=store, customer_type="adult_use", on=today) == 21
    assert minimum_age_get(store=store, customer_type="medical", on=today) == 18


def test_no_adult_use_sales_in_a_medical_only_state(organization):
    oklahoma = StoreFactory(organization=organization, jurisdiction="US-OK", time_zone="America/Chicago")
    with pytest.raises(SaleNotAllowed, match="has no adult-use sales"):
        minimum_age_get(store=oklahoma, customer_type="adult_use", on=dt.date(2026, 11, 19))
    assert minimum_age_get(store=oklahoma, customer_type="medical", on=dt.date(2026, 11, 19)) == 18


def test_a_missing_age_rule_is_said_plainly(store):
    from compliance.models import AgeRule

    AgeRule.objects.filter(jurisdiction__code="US-CA", customer_type="medical").delete()
    with pytest.raises(ValidationFailed, match="give no minimum age for medical customers"):
        minimum_age_get(store=store, customer_type="medical", on=dt.date(2026, 11, 19))
