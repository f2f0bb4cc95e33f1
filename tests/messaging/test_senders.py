"""The senders pages: a manager adds and edits the numbers and addresses of their organization (for every store
or a store they work at) with the registration and what each may carry; bad input gets a clear message and
writes nothing; another organization's or store's sender is out of reach."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispensary.models import AuditRecord
from messaging.models import Sender
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/messaging/senders/"
GOOD = {
    "channel": "sms",
    "address": "(415) 555-0101",
    "display_name": "Green Leaf",
    "store": "",
    "registration": "10dlc",
    "use_case": "marketing",
    "brand_id": "BXXXX1",
    "campaign_id": "CXXXX1",
    "rate_per_second": "4.5",
    "active": "on",
}


def sender(store, address="+14155550001", **fields):
    defaults = {
        "organization": store.organization,
        "store": store,
        "channel": "sms",
        "address": address,
        "registration": "toll_free",
        "use_case": "notifications",
        "rate_per_second": 3,
    }
    return Sender.objects.create(**{**defaults, **fields})


def test_a_manager_adds_a_sender_for_every_store(client, manager, store):
    client.force_login(manager)
    response = client.post(URL, GOOD)
    assert response.status_code == 302
    added = Sender.objects.get()
    assert (
        added.organization_id,
        added.store_id,
        added.address,
        added.registration,
        added.use_case,
        added.brand_id,
        added.campaign_id,
        str(added.rate_per_second),
        added.active,
    ) == (store.organization_id, None, "+14155550101", "10dlc", "marketing", "BXXXX1", "CXXXX1", "4.50", True)
    page = client.get(URL).content.decode()
    assert "+14155550101" in page and "Marketing and notifications" in page
    record = AuditRecord.objects.get(action="sender.added")
    assert (record.actor_id, record.object_id, record.before, record.after["use_case"]) == (
        manager.pk,
        str(added.pk),
        None,
        "marketing",
    )


def test_a_store_sender_and_an_email_sender(client, manager, store):
    client.force_login(manager)
    assert (
        client.post(
            URL, {**GOOD, "store": store.pk, "address": "800-555-0199", "registration": "toll_free"}
        ).status_code
        == 302
    )
    email = {
        **GOOD,
        "channel": "email",
        "address": "News@Example.com",
        "registration": "email",
        "brand_id": "",
    }
    assert client.post(URL, email).status_code == 302
    assert sorted(Sender.objects.values_list("address", "store_id")) == [
        ("+18005550199", store.pk),
        ("news@example.com", None),
    ]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"address": "not a number"}, "address", "Enter a phone number (or a 5 or 6 digit short code)."),
        ({"channel": "email", "address": "nobody"}, "address", "Enter an email address."),
        ({"registration": "email"}, "registration", "An email sender has an email sending domain"),
        ({"brand_id": ""}, "brand_id", "A 10DLC number needs its brand and campaign."),
        ({"rate_per_second": "0"}, "rate_per_second", "Enter a rate above zero."),
        ({"rate_per_second": "5000"}, "rate_per_second", "At most 1,000 messages per second."),
        ({"rate_per_second": "fast"}, "rate_per_second", "Enter a number."),
        ({"use_case": "anything"}, "use_case", "Select a valid choice."),
        ({"channel": "fax"}, "channel", "Select a valid choice."),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(client, manager, changes, field, message):
    client.force_login(manager)
    response = client.post(URL, {**GOOD, **changes})
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert Sender.objects.count() == 0


def test_a_number_twice_is_refused(client, manager, store):
    sender(store, address="+14155550101")
    client.force_login(manager)
    response = client.post(URL, GOOD)
    assert response.status_code == 400
    assert response.context["form"].errors["address"] == [
        "This organization already has a sender with this number or address."
    ]
    assert Sender.objects.count() == 1


def test_a_store_the_manager_does_not_work_at_cannot_be_chosen(client, manager, store):
    other_store = StoreFactory(organization=store.organization)
    client.force_login(manager)
    response = client.post(URL, {**GOOD, "store": other_store.pk})
    assert response.status_code == 400 and "store" in response.context["form"].errors
    assert Sender.objects.count() == 0


def test_a_manager_edits_a_sender_to_notifications_only(client, manager, store):
    mine = sender(store, use_case="marketing", address="+14155550101")
    client.force_login(manager)
    url = f"{URL}{mine.pk}/"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {**GOOD, "store": store.pk, "use_case": "notifications", "rate_per_second": "1", "active": ""}
    )
    assert response.status_code == 302
    record = AuditRecord.objects.get(action="sender.changed")
    assert (record.before["use_case"], record.after["use_case"], record.after["rate_per_second"]) == (
        "marketing",
        "notifications",
        "1.00",
    )
    mine.refresh_from_db()
    assert (mine.use_case, str(mine.rate_per_second), mine.active, mine.store_id) == (
        "notifications",
        "1.00",
        False,
        store.pk,
    )


def test_another_store_or_organization_sender_is_out_of_reach(client, manager, store):
    other_store = StoreFactory(organization=store.organization)
    theirs = sender(other_store, address="+14155550102")
    foreign_store = StoreFactory(organization=OrganizationFactory())
    foreign = sender(foreign_store, address="+14155550103")
    client.force_login(manager)
    for hidden in (theirs, foreign):
        assert client.get(f"{URL}{hidden.pk}/").status_code == 404
        assert client.post(f"{URL}{hidden.pk}/", {**GOOD, "address": "+14155550109"}).status_code == 404
    assert client.get(f"{URL}{2**70}/").status_code == 404
    page = client.get(URL).content.decode()
    assert "+14155550102" not in page and "+14155550103" not in page
    assert set(Sender.objects.values_list("address", flat=True)) == {"+14155550102", "+14155550103"}


@pytest.mark.parametrize("role", ["budtender", "driver"])
def test_other_roles_are_refused(client, organization, store, role):
    member = UserFactory(organization=organization, roles=[role], stores=[store])
    client.force_login(member)
    assert client.get(URL).status_code == 403
    assert client.post(URL, GOOD).status_code == 403
    assert Sender.objects.count() == 0


def test_the_list_reads_a_fixed_number_of_rows(client, manager, store):
    client.force_login(manager)
    client.get(URL)
    sender(store)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for number in range(30):
        sender(store, address=f"+1415555{2000 + number:04d}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)
    assert len(response.context["senders"]) == 31
    assert len(many) == len(few)
