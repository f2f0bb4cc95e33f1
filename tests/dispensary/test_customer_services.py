import datetime as dt

import pytest

from dispensary.errors import DuplicateCustomer, InvalidPhoneNumber, ValidationFailed
from dispensary.models import AuditRecord, Customer, EventDelivery, OutboxEvent
from dispensary.phones import phone_display, phone_normalize
from dispensary.selectors import customer_get_by_phone, customer_list, customer_record_viewed
from dispensary.services import customer_create, customer_update
from tests.factories import OrganizationFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "raw",
    ["(415) 555-0134", "415-555-0134", "415.555.0134", "+1 415 555 0134", "+14155550134", "1 (415) 5550134"],
)
def test_phone_spellings_normalise_to_e164(raw):
    assert phone_normalize(raw) == "+14155550134"


@pytest.mark.parametrize("raw", ["", "   ", "12", "not a phone", "(415) 555-013", "+1 000 555 0134"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidPhoneNumber):
        phone_normalize(raw)


def test_phone_display_is_national():
    assert phone_display("+14155550134") == "(415) 555-0134"


def create(organization, budtender, **overrides):
    fields = {
        "phone": "(415) 555-0134",
        "first_name": " Ana ",
        "last_name": "Lima",
        "date_of_birth": dt.date(1991, 2, 3),
        "email": "Ana.Lima@Example.com ",
    }
    fields.update(overrides)
    return customer_create(organization=organization, actor=budtender, **fields)


def test_customer_create_normalises_audits_and_publishes(organization, budtender, store):
    customer = create(organization, budtender, store=store, home_store=store)
    assert customer.phone == "+14155550134"
    assert (customer.first_name, customer.email) == ("Ana", "ana.lima@example.com")
    record = AuditRecord.objects.get(action="customer.created")
    assert record.actor == budtender
    assert record.store == store
    assert record.object_id == str(customer.pk)
    assert record.after["phone"] == "+14155550134"
    event = OutboxEvent.objects.get(name="customer.created")
    assert event.payload == {
        "customer_id": customer.pk,
        "organization_id": organization.pk,
        "customer_type": "adult_use",
        "home_store_id": store.pk,
    }
    assert event.organization_id == organization.pk


def test_any_spelling_finds_the_same_customer(organization, budtender):
    customer = create(organization, budtender)
    assert customer_get_by_phone(organization=organization, phone="+14155550134") == customer
    assert customer_get_by_phone(organization=organization, phone="(415) 555-0134") == customer
    assert customer_get_by_phone(organization=organization, phone="(415) 555-0199") is None
    assert list(customer_list(organization=organization, search="415.555.0134")) == [customer]
    assert list(customer_list(organization=organization, search="lim")) == [customer]


def test_phone_is_unique_per_organization_only(organization, budtender):
    first = create(organization, budtender)
    with pytest.raises(DuplicateCustomer) as error:
        create(organization, budtender, phone="+1 415 555 0134", first_name="Other")
    assert error.value.details == {"phone": "+14155550134", "customer_id": first.pk}
    assert Customer.objects.count() == 1
    assert AuditRecord.objects.filter(action="customer.created").count() == 1
    assert OutboxEvent.objects.count() == 1
    other_org = OrganizationFactory()
    create(other_org, None)
    assert Customer.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "nope"}, "phone"),
        ({"first_name": ""}, "first_name"),
        ({"email": "not-an-email"}, "email"),
        ({"customer_type": "recreational"}, "customer_type"),
    ],
)
def test_bad_input_writes_nothing(organization, budtender, overrides, field):
    with pytest.raises(ValidationFailed) as error:
        create(organization, budtender, **overrides)
    assert field in error.value.details
    assert Customer.objects.count() == 0
    assert AuditRecord.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_home_store_of_another_organization_is_refused(organization, budtender):
    foreign = StoreFactory()
    with pytest.raises(ValidationFailed):
        create(organization, budtender, home_store=foreign)
    assert Customer.objects.count() == 0


def test_customer_update_records_only_changed_fields(organization, budtender, store):
    customer = create(organization, budtender)
    updated = customer_update(
        customer=customer,
        actor=budtender,
        store=store,
        phone="415 555 0199",
        first_name="Ana",
        last_name="Silva",
    )
    assert updated.phone == "+14155550199"
    record = AuditRecord.objects.get(action="customer.updated")
    assert record.before == {"last_name": "Lima", "phone": "+14155550134"}
    assert record.after == {"last_name": "Silva", "phone": "+14155550199"}
    event = OutboxEvent.objects.get(name="customer.updated")
    assert event.payload["changed_fields"] == ["last_name", "phone"]


def test_customer_update_without_change_writes_nothing(organization, budtender):
    customer = create(organization, budtender)
    customer_update(customer=customer, actor=budtender, first_name="Ana")
    assert AuditRecord.objects.filter(action="customer.updated").count() == 0
    assert OutboxEvent.objects.filter(name="customer.updated").count() == 0


def test_customer_update_to_a_taken_phone_is_a_conflict(organization, budtender):
    first = create(organization, budtender)
    second = create(organization, budtender, phone="(415) 555-0177")
    with pytest.raises(DuplicateCustomer) as error:
        customer_update(customer=second, actor=budtender, phone="4155550134")
    assert error.value.details["customer_id"] == first.pk
    second.refresh_from_db()
    assert second.phone == "+14155550177"


def test_customer_update_refuses_unknown_fields(organization, budtender):
    customer = create(organization, budtender)
    with pytest.raises(ValidationFailed):
        customer_update(customer=customer, actor=budtender, organization_id=999)
    customer.refresh_from_db()
    assert customer.organization_id == organization.pk


def test_reading_a_customer_is_logged(organization, budtender, store):
    customer = create(organization, budtender)
    customer_record_viewed(customer=customer, actor=budtender, store=store, via="pos")
    record = AuditRecord.objects.get(action="customer.viewed")
    assert (record.actor, record.store, record.after) == (budtender, store, {"via": "pos"})


def test_audit_records_are_append_only(organization, budtender):
    create(organization, budtender)
    record = AuditRecord.objects.get()
    record.action = "tampered"
    with pytest.raises(Exception, match="append-only"):
        record.save()
    with pytest.raises(Exception, match="append-only"):
        record.delete()
    assert AuditRecord.objects.get().action == "customer.created"


def test_one_delivery_per_registered_handler(organization, budtender):
    from dispensary import events
    from dispensary.event_types import CustomerCreated

    create(organization, budtender)
    # Messaging's segments keep each new customer's metrics, webhooks tell subscribed third parties, ...
    handlers = events.handlers_for(CustomerCreated.name)
    assert sorted(EventDelivery.objects.values_list("handler", flat=True)) == sorted(handlers)
