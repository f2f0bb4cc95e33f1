import pytest

from dispensary.errors import ValidationFailed
from pos.errors import ApprovalRequired
from pos.models import ManagerPin
from pos.services.pins import manager_pin_identify, manager_pin_set, manager_pin_verify, store_approvers
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


def test_the_pin_alone_says_which_manager_approves(store, manager, budtender, organization):
    owner = UserFactory(organization=organization, roles=["owner"], stores=[store])
    manager_pin_set(user=manager, pin="4821", actor=manager)
    manager_pin_set(user=owner, pin="1357", actor=owner)
    assert manager_pin_identify(store=store, pin="4821", actor=budtender) == manager
    assert manager_pin_identify(store=store, pin=" 1357 ", actor=budtender) == owner
    # A signed-in manager approves with their own PIN only.
    assert manager_pin_identify(store=store, pin="4821", actor=manager) == manager
    with pytest.raises(ApprovalRequired):
        manager_pin_identify(store=store, pin="1357", actor=manager)


def test_two_approvers_of_an_organization_cannot_share_a_pin(store, manager, organization):
    owner = UserFactory(organization=organization, roles=["owner"], stores=[store])
    manager_pin_set(user=manager, pin="4821", actor=manager)
    with pytest.raises(ValidationFailed, match="Choose another PIN"):
        manager_pin_set(user=owner, pin="4821", actor=owner)
    assert not ManagerPin.objects.filter(user=owner).exists()
    manager_pin_set(user=manager, pin="4821", actor=manager)  # setting one's own PIN again is fine
    elsewhere = UserFactory(roles=["manager"])  # another organization may use the same digits
    manager_pin_set(user=elsewhere, pin="4821", actor=elsewhere)


def test_five_wrong_pins_from_one_person_stop_them_for_a_while(store, manager, budtender, staff_member):
    manager_pin_set(user=manager, pin="4821", actor=manager)
    for wrong in ["0000", "1111", "2222", "3333", "12"]:
        with pytest.raises(ApprovalRequired, match="must approve with their PIN"):
            manager_pin_identify(store=store, pin=wrong, actor=budtender)
    with pytest.raises(ApprovalRequired, match="Too many wrong PINs"):
        manager_pin_identify(store=store, pin="4821", actor=budtender)
    # Someone else at the store still gets their manager's approval; the manager's own PIN is not locked.
    assert manager_pin_identify(store=store, pin="4821", actor=staff_member) == manager
    assert ManagerPin.objects.get(user=manager).failed_attempts == 0


def test_a_locked_managers_pin_does_not_approve_for_others(store, manager, budtender):
    manager_pin_set(user=manager, pin="4821", actor=manager)
    for _ in range(5):
        with pytest.raises(ApprovalRequired):
            manager_pin_verify(store=store, manager_id=manager.pk, pin="1111")
    with pytest.raises(ApprovalRequired):
        manager_pin_identify(store=store, pin="4821", actor=budtender)


@pytest.fixture
def staff_member(store):
    return UserFactory(organization=store.organization, roles=["budtender"], stores=[store])
