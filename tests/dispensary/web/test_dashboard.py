"""The manager home: who may open it, what it shows, and a bounded number of queries."""

import datetime as dt

import pytest

from dispensary.audit import audit_record
from dispensary.models import Customer, EventDelivery, OutboxEvent
from tests.factories import CustomerFactory


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/dashboard/"


@pytest.mark.parametrize("role", ["budtender", "driver"])
def test_counter_and_driver_roles_get_403(client, login, staff, role):
    login(staff(role))
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert b"not part of your role" in response.content


@pytest.mark.parametrize("role", ["owner", "manager", "compliance_officer", "inventory_manager"])
def test_management_roles_see_it(client, login, staff, role):
    login(staff(role))
    assert client.get("/dashboard/").status_code == 200


def test_shows_the_store_counts_outbox_and_recent_audit(
    client, login, staff, organization, store, other_store, dead_letter
):
    store.license_medical = "M10-0000999-LIC"
    store.save()
    CustomerFactory.create_batch(2, organization=organization, customer_type=Customer.Type.MEDICAL)
    CustomerFactory.create_batch(3, organization=organization)
    CustomerFactory(organization=other_store.organization)  # another organization's: not counted
    dead_letter(organization)
    dead_letter(other_store.organization)
    pending = OutboxEvent.objects.create(name="x.happened", organization=organization, payload={})
    EventDelivery.objects.create(event=pending, handler="h")
    manager = staff("manager")
    for number in range(12):
        audit_record(actor=manager, action=f"test.action_{number}", instance=store, organization=organization)
    audit_record(
        actor=None, action="test.elsewhere", instance=other_store, organization=other_store.organization
    )

    response = login(manager).get("/dashboard/")

    context = response.context
    assert context["customers"] == {"total": 5, "medical": 2, "adult_use": 3}
    assert context["outbox"] == {"pending": 1, "dead": 1}
    actions = [record.action for record in context["audit_records"]]
    assert actions == [f"test.action_{number}" for number in range(11, 1, -1)]
    content = response.content.decode()
    assert store.name in content
    assert "C10-" in content and "M10-0000999-LIC" in content
    assert "US-CA" in content
    assert 'href="/outbox/dead-letters/"' in content


def test_local_time_and_hours_are_the_stores(client, login, staff, store, clock):
    store.opening_hours = {"sat": [["09:00", "21:00"]]}
    store.save()
    # 2026-11-22 04:30 UTC is Saturday 2026-11-21 20:30 in Los Angeles: open, on Saturday's hours.
    moment = dt.datetime(2026, 11, 22, 4, 30, tzinfo=dt.UTC)
    clock.move_to(moment)
    response = login(staff("manager")).get("/dashboard/")
    today = response.context["today"]
    assert today.local_now.strftime("%Y-%m-%d %H:%M") == "2026-11-21 20:30"
    assert today.is_open is True
    assert today.hours_label == "9:00 AM – 9:00 PM"
    assert "8:30 PM" in response.content.decode()


def test_inventory_manager_sees_no_customer_or_audit_sections(client, login, staff):
    response = login(staff("inventory_manager")).get("/dashboard/")
    assert "customers" not in response.context
    assert "audit_records" not in response.context


def test_query_count_is_bounded(
    client, login, staff, organization, store, dead_letter, django_assert_max_num_queries
):
    manager = staff("manager")
    for _ in range(15):
        audit_record(
            actor=manager, action="test.something", instance=store, organization=organization, store=store
        )
        dead_letter(organization)
    CustomerFactory.create_batch(10, organization=organization)
    login(manager)
    # 11, live tracking's alerts of the trips on the road, and messaging's open deliverability alerts
    with django_assert_max_num_queries(13):
        response = client.get("/dashboard/")
    assert response.status_code == 200
