"""The manager PIN page (own PIN, password first) and the approval form other screens reuse."""

import pytest
from django.template.loader import render_to_string

from dispensary.models import AuditRecord
from pos.errors import ApprovalRequired
from pos.forms import ManagerApprovalForm
from pos.models import ManagerPin
from pos.services.pins import manager_pin_set, manager_pin_verify
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"  # tests.factories.UserFactory's


def login(client, user):
    client.force_login(user)
    return client


def test_a_manager_sets_then_changes_their_pin(client, store, manager):
    client = login(client, manager)
    page = client.get("/pos/pin/")
    assert page.status_code == 200 and "Set your manager PIN" in page.content.decode()
    response = client.post(
        "/pos/pin/", {"password": PASSWORD, "pin": "4821", "pin_again": "4821"}, follow=True
    )
    assert response.redirect_chain == [("/pos/pin/", 302)]
    assert "Your PIN is set." in response.content.decode()
    assert "Change your manager PIN" in response.content.decode()
    assert manager_pin_verify(store=store, manager_id=manager.pk, pin="4821") == manager
    client.post("/pos/pin/", {"password": PASSWORD, "pin": "135790", "pin_again": "135790"})
    assert manager_pin_verify(store=store, manager_id=manager.pk, pin="135790") == manager
    with pytest.raises(ApprovalRequired):
        manager_pin_verify(store=store, manager_id=manager.pk, pin="4821")
    assert AuditRecord.objects.filter(action="manager_pin.set", actor=manager).count() == 2


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"password": "wrong", "pin": "4821", "pin_again": "4821"}, "password", "That is not your password."),
        ({"password": PASSWORD, "pin": "4821", "pin_again": "4822"}, "pin_again", "The two PINs differ."),
        ({"password": PASSWORD, "pin": "12a4", "pin_again": "12a4"}, "pin", "4 to 8 digits."),
        ({"password": PASSWORD, "pin": "123", "pin_again": "123"}, "pin", "4 to 8 digits."),
        ({"password": PASSWORD, "pin": "", "pin_again": ""}, "pin", "This field is required."),
    ],
)
def test_bad_input_sets_no_pin(client, manager, data, field, message):
    response = login(client, manager).post("/pos/pin/", data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert not ManagerPin.objects.exists()


def test_only_approvers_have_the_page(client, budtender):
    assert login(client, budtender).get("/pos/pin/").status_code == 403
    assert (
        login(client, budtender).post("/pos/pin/", {"password": PASSWORD, "pin": "1234"}).status_code == 403
    )
    assert not ManagerPin.objects.exists()


def test_the_account_menu_links_to_it_for_approvers_only(client, manager, budtender):
    assert 'href="/pos/pin/"' in login(client, manager).get("/pos/sales/").content.decode()
    assert 'href="/pos/pin/"' not in login(client, budtender).get("/pos/sales/").content.decode()


# --- The approval form ------------------------------------------------------------------------------------


def test_a_budtender_is_approved_by_the_pin_alone(store, manager, budtender, organization):
    manager_pin_set(user=manager, pin="4821", actor=manager)
    elsewhere = UserFactory(
        organization=organization, roles=["manager"], stores=[StoreFactory(organization=organization)]
    )
    manager_pin_set(user=elsewhere, pin="1111", actor=elsewhere)
    form = ManagerApprovalForm(store=store, user=budtender)
    assert form.has_approvers and not form.self_approves
    assert list(form.fields) == ["manager_pin"]  # nobody picks a name from a list

    good = ManagerApprovalForm({"manager_pin": "4821"}, store=store, user=budtender)
    assert good.is_valid() and good.approver == manager

    wrong = ManagerApprovalForm({"manager_pin": "0000"}, store=store, user=budtender)
    assert not wrong.is_valid() and wrong.approver is None
    assert wrong.errors["manager_pin"] == ["A manager of this store must approve with their PIN."]

    # A manager of another store does not approve here.
    other = ManagerApprovalForm({"manager_pin": "1111"}, store=store, user=budtender)
    assert not other.is_valid() and other.approver is None

    empty = ManagerApprovalForm({}, store=store, user=budtender)
    assert not empty.is_valid()
    assert empty.errors == {"manager_pin": ["The manager types their PIN."]}


def test_a_signed_in_manager_approves_with_their_own_pin(store, manager, organization):
    manager_pin_set(user=manager, pin="4821", actor=manager)
    owner = UserFactory(organization=organization, roles=["owner"], stores=[store])
    manager_pin_set(user=owner, pin="1357", actor=owner)
    form = ManagerApprovalForm(store=store, user=manager)
    assert form.self_approves and form.fields["manager_pin"].label == "Your manager PIN"
    own = ManagerApprovalForm({"manager_pin": "4821"}, store=store, user=manager)
    assert own.is_valid() and own.approver == manager
    # Another manager's PIN does not approve in the manager's name.
    theirs = ManagerApprovalForm({"manager_pin": "1357"}, store=store, user=manager)
    assert not theirs.is_valid() and theirs.approver is None
    assert ManagerPin.objects.get(user=manager).failed_attempts == 1


def test_a_subclass_is_checked_only_once_its_own_fields_are_valid(store, manager, budtender):
    from django import forms

    manager_pin_set(user=manager, pin="4821", actor=manager)

    class OverrideForm(ManagerApprovalForm):
        price = forms.DecimalField(min_value=0)

    form = OverrideForm({"price": "-1", "manager_pin": "0000"}, store=store, user=manager)
    assert not form.is_valid() and "manager_pin" not in form.errors
    assert ManagerPin.objects.get(user=manager).failed_attempts == 0
    form = OverrideForm({"price": "5", "manager_pin": "4821"}, store=store, user=budtender)
    assert form.is_valid() and form.approver == manager


def test_the_partial_renders_the_pin_or_says_how_to_get_one(store, manager, budtender):
    html = render_to_string(
        "pos/_approval_fields.html", {"form": ManagerApprovalForm(store=store, user=budtender)}
    )
    assert "No manager of this store has a PIN yet" in html and 'href="/pos/pin/"' in html
    html = render_to_string(
        "pos/_approval_fields.html", {"form": ManagerApprovalForm(store=store, user=manager)}
    )
    assert "You have no PIN yet" in html
    manager_pin_set(user=manager, pin="4821", actor=manager)
    html = render_to_string(
        "pos/_approval_fields.html", {"form": ManagerApprovalForm(store=store, user=budtender, prefix="x")}
    )
    assert 'name="x-manager_pin"' in html and 'type="password"' in html and "<select" not in html


def test_the_demo_approvers_get_a_pin_once(store):
    from pos.demo import DEMO_PINS, _demo_pins

    manager = UserFactory(
        organization=store.organization, username="manager", roles=["manager"], stores=[store]
    )
    owner = UserFactory(organization=store.organization, username="owner", roles=["owner"], stores=[store])
    _demo_pins()
    assert manager_pin_verify(store=store, manager_id=manager.pk, pin=DEMO_PINS["manager"]) == manager
    assert manager_pin_verify(store=store, manager_id=owner.pk, pin=DEMO_PINS["owner"]) == owner
    manager_pin_set(user=manager, pin="97531", actor=manager)
    _demo_pins()  # a PIN changed on the PIN page is kept
    assert manager_pin_verify(store=store, manager_id=manager.pk, pin="97531") == manager
