"""The check-in queue under real concurrency on PostgreSQL: two budtenders pressing "next" at once get
different customers, and two doors checking in at once never share a ticket number or add a customer twice."""

import threading

import pytest
from django.db import connections

from dispensary.errors import ApplicationError
from pos.models import QueueEntry
from pos.services.queue import AlreadyInQueue, QueueEmpty, queue_call_next, queue_check_in
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def compete(work, threads=2):
    barrier = threading.Barrier(threads)
    results, errors, lock = [], [], threading.Lock()

    def run(index):
        try:
            barrier.wait()
            result = work(index)
            with lock:
                results.append(result)
        except ApplicationError as error:
            with lock:
                errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return results, errors


@pytest.fixture
def door():
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    staff = [UserFactory(organization=organization, roles=["budtender"], stores=[store]) for _ in range(4)]
    customers = [CustomerFactory(organization=organization) for _ in range(4)]
    return store, staff, customers


def test_two_budtenders_pressing_next_get_different_customers(door):
    store, staff, customers = door
    for customer in customers[:2]:
        queue_check_in(store=store, staff=staff[0], customer=customer, customer_type="adult_use")
    called, errors = compete(lambda i: queue_call_next(store=store, staff=staff[i]))
    assert errors == []
    assert len({entry.pk for entry in called}) == 2
    assert sorted(QueueEntry.objects.values_list("status", flat=True)) == ["serving", "serving"]
    assert {entry.served_by_id for entry in QueueEntry.objects.all()} == {staff[0].pk, staff[1].pk}


def test_one_waiting_customer_goes_to_one_budtender(door):
    store, staff, customers = door
    queue_check_in(store=store, staff=staff[0], customer=customers[0], customer_type="adult_use")
    called, errors = compete(lambda i: queue_call_next(store=store, staff=staff[i]), threads=3)
    assert len(called) == 1
    assert len(errors) == 2 and all(isinstance(error, QueueEmpty) for error in errors)
    entry = QueueEntry.objects.get()
    assert (entry.status, entry.served_by_id) == ("serving", called[0].served_by_id)


def test_doors_checking_in_at_once_never_share_a_number(door):
    store, staff, customers = door
    entries, errors = compete(
        lambda i: queue_check_in(
            store=store, staff=staff[i], customer=customers[i], customer_type="adult_use"
        ),
        threads=4,
    )
    assert errors == []
    assert sorted(entry.number for entry in entries) == [1, 2, 3, 4]
    assert sorted(QueueEntry.objects.values_list("number", flat=True)) == [1, 2, 3, 4]


def test_the_same_customer_at_two_doors_is_added_once(door):
    store, staff, customers = door
    entries, errors = compete(
        lambda i: queue_check_in(
            store=store, staff=staff[i], customer=customers[0], customer_type="adult_use"
        )
    )
    assert len(entries) == 1
    assert len(errors) == 1 and isinstance(errors[0], AlreadyInQueue)
    assert QueueEntry.objects.count() == 1
