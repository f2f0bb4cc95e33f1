"""The check-in queue's services: ticket numbers per store and local day, no customer twice, pickups that
arrive, taking the next customer or a chosen one, and the ways an entry ends."""

import datetime as dt

import pytest
from django.db import IntegrityError

from compliance.identity import IdRefused, id_verify
from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord
from pos.models import PickupOrder, QueueEntry, Register
from pos.services import queue as queue_services
from pos.services.queue import (
    AlreadyInQueue,
    PickupNotReserved,
    QueueEmpty,
    QueueEntryClosed,
    queue_call_next,
    queue_check_in,
    queue_entry_call,
    queue_entry_finish,
    queue_entry_leave,
)
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory

# 10:00 in Los Angeles (PST) on Nov 19, 2026.
MORNING = dt.datetime(2026, 11, 19, 18, 0, tzinfo=dt.UTC)


def minutes(n):
    return MORNING + dt.timedelta(minutes=n)


@pytest.fixture
def ada(organization):
    return CustomerFactory(organization=organization, first_name="Ada", last_name="lovelace")


@pytest.fixture
def grace(organization):
    return CustomerFactory(organization=organization, first_name="Grace", last_name="Hopper")


def pickup(store, customer, *, status=PickupOrder.Status.RESERVED, key="order-1", customer_type="adult_use"):
    return PickupOrder.objects.create(
        store=store,
        customer=customer,
        customer_type=customer_type,
        status=status,
        placed_at=MORNING - dt.timedelta(hours=2),
        expires_at=MORNING + dt.timedelta(hours=10),
        idempotency_key=key,
    )


def check_in(store, staff, customer=None, at=MORNING, **kwargs):
    kwargs.setdefault("customer_type", "adult_use")
    return queue_check_in(store=store, staff=staff, customer=customer, now=at, **kwargs)


# --- Checking in -------------------------------------------------------------------------------------------


def test_check_in_numbers_tickets_per_store_and_local_day(store, budtender, ada, grace, organization):
    first = check_in(store, budtender, ada)
    second = check_in(store, budtender, grace, at=minutes(1))
    other_store = StoreFactory(organization=organization)
    elsewhere = check_in(other_store, budtender, display_name="Walk In", at=minutes(2))
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert first.local_date == second.local_date == dt.date(2026, 11, 19)


def test_the_local_day_decides_the_numbering(store, budtender, ada, grace):
    # 23:30 on Nov 19 in Los Angeles, then 00:30 on Nov 20 (08:30 UTC).
    late = check_in(store, budtender, ada, at=dt.datetime(2026, 11, 20, 7, 30, tzinfo=dt.UTC))
    early = check_in(store, budtender, grace, at=dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC))
    assert (late.local_date, late.number) == (dt.date(2026, 11, 19), 1)
    assert (early.local_date, early.number) == (dt.date(2026, 11, 20), 1)


def test_check_in_shows_first_name_and_initial_and_records_who(store, budtender, ada):
    entry = check_in(store, budtender, ada, display_name="ignored for customers")
    assert entry.display_name == "Ada L."
    assert (entry.status, entry.source, entry.customer_type) == ("waiting", "walk_in", "adult_use")
    assert (entry.checked_in_at, entry.checked_in_by, entry.customer) == (MORNING, budtender, ada)
    record = AuditRecord.objects.get(action="queue.checked_in")
    assert (record.actor, record.store, record.object_id) == (budtender, store, str(entry.pk))
    assert record.after == {
        "number": 1,
        "local_date": "2026-11-19",
        "source": "walk_in",
        "customer_type": "adult_use",
        "customer": ada.pk,
        "pickup_order": None,
        "id_verification": None,
    }


def test_anonymous_check_in_uses_the_given_name_or_guest(store, budtender):
    named = check_in(store, budtender, display_name="  Tall   guy ")
    unnamed = check_in(store, budtender, at=minutes(1))
    assert (named.display_name, unnamed.display_name) == ("Tall guy", "Guest")
    assert named.customer is None


def test_a_customer_waiting_or_being_served_is_not_added_twice(store, budtender, ada):
    entry = check_in(store, budtender, ada)
    with pytest.raises(AlreadyInQueue) as waiting:
        check_in(store, budtender, ada, at=minutes(1))
    assert waiting.value.message == "Ada L. is already waiting as #1."
    assert waiting.value.details == {"queue_entry": entry.pk, "number": 1, "status": "waiting"}
    queue_call_next(store=store, staff=budtender, now=minutes(2))
    with pytest.raises(AlreadyInQueue, match="already being served as #1"):
        check_in(store, budtender, ada, at=minutes(3))
    assert QueueEntry.objects.count() == 1
    assert AuditRecord.objects.filter(action="queue.checked_in").count() == 1


def test_a_served_customer_may_check_in_again(store, budtender, ada):
    entry = check_in(store, budtender, ada)
    queue_call_next(store=store, staff=budtender, now=minutes(1))
    queue_entry_finish(entry=entry, staff=budtender, now=minutes(5))
    again = check_in(store, budtender, ada, at=minutes(30))
    assert again.number == 2


def test_yesterdays_forgotten_entry_does_not_block_today(store, budtender, ada):
    check_in(store, budtender, ada, at=MORNING - dt.timedelta(days=1))
    assert check_in(store, budtender, ada).number == 1


def test_a_number_taken_meanwhile_is_retried(store, budtender, ada, grace, monkeypatch):
    check_in(store, budtender, ada)
    real = queue_services._next_number
    calls = []

    def stale_then_real(store, today):
        calls.append(today)
        return 1 if len(calls) == 1 else real(store, today)

    monkeypatch.setattr(queue_services, "_next_number", stale_then_real)
    entry = check_in(store, budtender, grace, at=minutes(1))
    assert entry.number == 2
    assert len(calls) == 2
    assert list(QueueEntry.objects.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_numbering_gives_up_after_repeated_collisions(store, budtender, ada, grace, monkeypatch):
    check_in(store, budtender, ada)
    monkeypatch.setattr(queue_services, "_next_number", lambda store, today: 1)
    with pytest.raises(IntegrityError):
        check_in(store, budtender, grace, at=minutes(1))
    assert QueueEntry.objects.count() == 1


def test_check_in_refuses_bad_input_and_writes_nothing(store, budtender, ada):
    stranger = CustomerFactory(organization=OrganizationFactory())
    with pytest.raises(ValidationFailed, match="Unknown customer type"):
        check_in(store, budtender, ada, customer_type="tourist")
    with pytest.raises(ValidationFailed, match="Unknown customer"):
        check_in(store, budtender, stranger)
    assert QueueEntry.objects.count() == 0
    assert not AuditRecord.objects.filter(action__startswith="queue.").exists()


def test_check_in_keeps_the_door_id_check(store, budtender, ada):
    verification = id_verify(
        store=store,
        staff=budtender,
        minimum_age=21,
        date_of_birth=dt.date(1990, 1, 1),
        customer=ada,
        at=MORNING,
    ).verification
    entry = check_in(store, budtender, ada, id_verification=verification)
    assert entry.id_verification == verification


def test_a_refused_or_foreign_id_check_is_not_queued(store, budtender, ada, grace, organization):
    under_age = id_verify(
        store=store, staff=budtender, minimum_age=21, date_of_birth=dt.date(2010, 1, 1), at=MORNING
    ).verification
    with pytest.raises(IdRefused, match="Under age"):
        check_in(store, budtender, ada, id_verification=under_age)
    other = id_verify(
        store=StoreFactory(organization=organization),
        staff=budtender,
        minimum_age=21,
        date_of_birth=dt.date(1990, 1, 1),
        at=MORNING,
    ).verification
    with pytest.raises(IdRefused, match="not from this visit"):
        check_in(store, budtender, ada, id_verification=other)
    graces = id_verify(
        store=store,
        staff=budtender,
        minimum_age=21,
        date_of_birth=dt.date(1990, 1, 1),
        customer=grace,
        at=MORNING,
    ).verification
    with pytest.raises(IdRefused, match="another customer"):
        check_in(store, budtender, ada, id_verification=graces)
    assert QueueEntry.objects.count() == 0


# --- Pickup orders -----------------------------------------------------------------------------------------


def test_an_arriving_pickup_order_is_checked_in(store, budtender, ada):
    order = pickup(store, ada)
    entry = check_in(store, budtender, pickup_order=order)
    order.refresh_from_db()
    assert order.status == "checked_in"
    assert (entry.source, entry.customer, entry.pickup_order, entry.display_name) == (
        "pickup",
        ada,
        order,
        "Ada L.",
    )
    assert AuditRecord.objects.get(action="queue.checked_in").after["pickup_order"] == order.pk


def test_a_pickup_order_checks_in_once(store, budtender, ada):
    order = pickup(store, ada)
    check_in(store, budtender, pickup_order=order)
    stale = PickupOrder.objects.get(pk=order.pk)
    stale.status = PickupOrder.Status.RESERVED  # a page loaded before the first check-in
    with pytest.raises(PickupNotReserved, match=f"Pickup order {order.pk} is checked in, not reserved."):
        check_in(store, budtender, pickup_order=stale, at=minutes(1))
    assert QueueEntry.objects.count() == 1


def test_pickup_orders_of_other_stores_customers_or_types_are_refused(
    store, budtender, ada, grace, organization
):
    elsewhere = pickup(StoreFactory(organization=organization), ada, key="elsewhere")
    with pytest.raises(ValidationFailed, match="Unknown pickup order"):
        check_in(store, budtender, pickup_order=elsewhere)
    order = pickup(store, ada)
    with pytest.raises(ValidationFailed, match="another customer"):
        check_in(store, budtender, grace, pickup_order=order)
    with pytest.raises(ValidationFailed, match="placed as adult use"):
        check_in(store, budtender, pickup_order=order, customer_type="medical")
    cancelled = pickup(store, grace, status=PickupOrder.Status.CANCELLED, key="cancelled")
    with pytest.raises(PickupNotReserved, match="is cancelled"):
        check_in(store, budtender, pickup_order=cancelled)
    assert QueueEntry.objects.count() == 0
    assert set(PickupOrder.objects.values_list("status", flat=True)) == {"reserved", "cancelled"}


# --- Taking customers --------------------------------------------------------------------------------------


def test_call_next_takes_the_longest_waiting(store, budtender, manager, ada, grace):
    register = Register.objects.create(store=store, name="Register 2")
    first = check_in(store, budtender, ada)
    check_in(store, budtender, grace, at=minutes(2))
    called = queue_call_next(store=store, staff=manager, register=register, now=minutes(7))
    assert called.pk == first.pk
    called.refresh_from_db()
    assert (called.status, called.called_at, called.served_by, called.register) == (
        "serving",
        minutes(7),
        manager,
        register,
    )
    record = AuditRecord.objects.get(action="queue.called")
    assert (record.actor, record.before, record.after) == (
        manager,
        {"status": "waiting"},
        {"status": "serving", "register": register.pk},
    )
    assert queue_call_next(store=store, staff=budtender, now=minutes(8)).display_name == "Grace H."
    with pytest.raises(QueueEmpty, match="Nobody is waiting."):
        queue_call_next(store=store, staff=budtender, now=minutes(9))


def test_call_next_ignores_other_stores_and_other_days(store, budtender, ada, grace, organization):
    check_in(StoreFactory(organization=organization), budtender, ada)
    check_in(store, budtender, grace, at=MORNING - dt.timedelta(days=1))
    with pytest.raises(QueueEmpty):
        queue_call_next(store=store, staff=budtender, now=MORNING)


def test_call_next_refuses_another_stores_or_a_closed_register(store, budtender, ada, organization):
    entry = check_in(store, budtender, ada)
    foreign = Register.objects.create(store=StoreFactory(organization=organization), name="R1")
    closed = Register.objects.create(store=store, name="Old", active=False)
    for register in (foreign, closed):
        with pytest.raises(ValidationFailed, match="Unknown register"):
            queue_call_next(store=store, staff=budtender, register=register, now=minutes(1))
    entry.refresh_from_db()
    assert (entry.status, entry.called_at, entry.served_by) == ("waiting", None, None)


def test_serving_a_chosen_customer_out_of_turn(store, budtender, manager, ada, grace):
    check_in(store, budtender, ada)
    chosen = check_in(store, budtender, grace, at=minutes(1))
    served = queue_entry_call(entry=chosen, staff=manager, now=minutes(4))
    assert (served.status, served.served_by, served.called_at) == ("serving", manager, minutes(4))
    with pytest.raises(QueueEntryClosed, match="#2 Grace H. is already being served by Sam Staff."):
        queue_entry_call(entry=chosen, staff=budtender, now=minutes(5))
    assert queue_call_next(store=store, staff=budtender, now=minutes(6)).display_name == "Ada L."


def test_finish_and_leave(store, budtender, ada, grace):
    served = check_in(store, budtender, ada)
    gone = check_in(store, budtender, grace, at=minutes(1))
    queue_call_next(store=store, staff=budtender, now=minutes(2))
    with pytest.raises(QueueEntryClosed, match="#2 Grace H. is waiting."):
        queue_entry_finish(entry=gone, staff=budtender, now=minutes(3))
    done = queue_entry_finish(entry=served, staff=budtender, now=minutes(12))
    left = queue_entry_leave(entry=gone, staff=budtender, note="  Could not   wait ", now=minutes(13))
    assert (done.status, done.finished_at, done.note) == ("done", minutes(12), "")
    assert (left.status, left.finished_at, left.note) == ("left", minutes(13), "Could not wait")
    assert AuditRecord.objects.get(action="queue.left").after == {"status": "left", "note": "Could not wait"}
    assert AuditRecord.objects.get(action="queue.finished").before == {"status": "serving"}
    for ended in (done, left):
        with pytest.raises(QueueEntryClosed):
            queue_entry_leave(entry=ended, staff=budtender)
        with pytest.raises(QueueEntryClosed):
            queue_entry_finish(entry=ended, staff=budtender)
    assert AuditRecord.objects.filter(action__in=["queue.left", "queue.finished"]).count() == 2


def test_a_long_leave_note_is_refused(store, budtender, ada):
    entry = check_in(store, budtender, ada)
    with pytest.raises(ValidationFailed, match="under 300"):
        queue_entry_leave(entry=entry, staff=budtender, note="x" * 301)
    entry.refresh_from_db()
    assert entry.status == "waiting"


def test_a_pickup_customer_who_leaves_keeps_the_reservation(store, budtender, ada):
    order = pickup(store, ada)
    entry = check_in(store, budtender, pickup_order=order)
    queue_entry_leave(entry=entry, staff=budtender, note="Back later")
    order.refresh_from_db()
    assert order.status == "reserved"
    assert check_in(store, budtender, pickup_order=order, at=minutes(30)).number == 2


def test_a_pickup_finished_without_its_sale_stays_reserved_and_a_completed_one_stays_completed(
    store, budtender, ada
):
    order = pickup(store, ada)
    entry = check_in(store, budtender, pickup_order=order)
    queue_entry_call(entry=entry, staff=budtender, now=minutes(1))
    queue_entry_finish(entry=entry, staff=budtender, now=minutes(2))
    order.refresh_from_db()
    assert order.status == "reserved"
    again = check_in(store, budtender, pickup_order=order, at=minutes(3))
    queue_entry_call(entry=again, staff=budtender, now=minutes(4))
    PickupOrder.objects.filter(pk=order.pk).update(
        status=PickupOrder.Status.COMPLETED
    )  # as the checkout does
    queue_entry_finish(entry=again, staff=budtender, now=minutes(5))
    order.refresh_from_db()
    assert order.status == "completed"
