"""Two managers assigning the same vehicle (or the same driver) to overlapping shifts at the same moment, on
PostgreSQL with real connections: one wins, the other is refused. Each thread is held just after its overlap
check, until the other has checked too or a second has passed: without the locks both would pass the check and
both shifts would be written; with them the second thread waits for the first to commit, then sees its shift."""

import datetime as dt
import threading

import pytest
from django.db import connections

from delivery import fleet
from delivery.fleet import ShiftOverlap
from delivery.models import DriverShift
from dispensary.errors import ApplicationError
from tests.delivery.fleet import local, make_driver, make_shift, make_vehicle
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DAY = dt.date(2026, 6, 10)


@pytest.fixture
def held_after_check(monkeypatch):
    both_checked = threading.Barrier(2, timeout=1.5)
    check = fleet._overlap_problems

    def checked_then_held(**kwargs):
        check(**kwargs)
        try:
            both_checked.wait()
        except threading.BrokenBarrierError:
            pass  # the other thread is waiting on a lock (or already refused): go on

    monkeypatch.setattr(fleet, "_overlap_problems", checked_then_held)


def compete(*works):
    start = threading.Barrier(len(works))
    results, errors, lock = [], [], threading.Lock()

    def run(work):
        try:
            start.wait()
            result = work()
            with lock:
                results.append(result)
        except ApplicationError as error:
            with lock:
                errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.fixture
def store():
    organization = OrganizationFactory()
    return StoreFactory(organization=organization)


def test_two_managers_assigning_one_vehicle_at_once(store, held_after_check):
    UserFactory(organization=store.organization, roles=["manager"], stores=[store])
    vehicle = make_vehicle(store)
    first, second = make_driver(store), make_driver(store)
    results, errors = compete(
        lambda: make_shift(store, first, vehicle, DAY, 10, 18),
        lambda: make_shift(store, second, vehicle, DAY, 12, 20),
    )
    assert len(results) == 1
    assert len(errors) == 1 and isinstance(errors[0], ShiftOverlap)
    assert "is already assigned to" in errors[0].message
    assert DriverShift.objects.filter(vehicle=vehicle).count() == 1


def test_one_driver_given_two_overlapping_shifts_at_once(store, held_after_check):
    driver = make_driver(store)
    results, errors = compete(
        lambda: make_shift(store, driver, make_vehicle(store, plate="1AAA111"), DAY, 10, 18),
        lambda: make_shift(store, driver, None, DAY, 17, 21),
    )
    assert len(results) == 1 and len(errors) == 1 and isinstance(errors[0], ShiftOverlap)
    assert DriverShift.objects.filter(driver=driver).count() == 1
    assert DriverShift.objects.get().starts_at in (local(store, DAY, 10), local(store, DAY, 17))
