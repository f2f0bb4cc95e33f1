import pytest

from dispensary.errors import ValidationFailed
from pos.errors import ApprovalRequired
from pos.models import ManagerPin
from pos.services.pins import manager_pin_set, manager_pin_verify, store_approvers
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(store):
    return UserFactory(organization=store.organization, roles=["manager"], stores=[store])


def test_pin_is_hashed_and_verifies_the_manager(store, manager):
    manager_pin_set(user=manager, pin="4821", actor=manager)
    assert "4821" not in ManagerPin.objects.get(user=manager).pin_hash
    assert manager_pin_verify(store=store, manager_id=manager.pk, pin="4821") == manager
    assert store_approvers(store) == [manager]


def test_bad_pins_and_budtenders_are_refused(store, manager, budtender):
    with pytest.raises(ValidationFailed):
        manager_pin_set(user=manager, pin="12a4", actor=manager)
    with pytest.raises(ValidationFailed):
        manager_pin_set(user=budtender, pin="1234", actor=manager)
    manager_pin_set(user=manager, pin="4821", actor=manager)
    with pytest.raises(ApprovalRequired):
        manager_pin_verify(store=store, manager_id=manager.pk, pin="0000")
    with pytest.raises(ApprovalRequired):
        manager_pin_verify(store=store, manager_id=budtender.pk, pin="4821")
    other_store = StoreFactory(organization=store.organization)
    with pytest.raises(ApprovalRequired):
        manager_pin_verify(store=other_store, manager_id=manager.pk, pin="4821")


def test_five_wrong_pins_lock_it_even_the_right_one(store, manager):
    manager_pin_set(user=manager, pin="4821", actor=manager)
    for _ in range(5):
        with pytest.raises(ApprovalRequired):
            manager_pin_verify(store=store, manager_id=manager.pk, pin="1111")
    with pytest.raises(ApprovalRequired, match="locked"):
        manager_pin_verify(store=store, manager_id=manager.pk, pin="4821")
