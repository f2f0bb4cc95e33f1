"""The customer desk: permissions, organization scope, search, create and edit through the services, logged reads."""

import pytest

from dispensary.models import AuditRecord, Customer, OutboxEvent
from tests.factories import CustomerFactory

VALID = {
    "phone": "(415) 555-0199",
    "first_name": "Grace",
    "last_name": "Hopper",
    "date_of_birth": "1990-12-09",
    "email": "Grace@Example.com",
    "customer_type": "medical",
    "address_line1": "1 Navy Way",
    "city": "Arlington",
    "region": "VA",
    "postal_code": "22202",
}


@pytest.mark.parametrize("url", ["/customers/", "/customers/new/", "/customers/1/", "/customers/1/edit/"])
def test_anonymous_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("role", ["driver", "inventory_manager"])
def test_roles_without_customer_permissions_get_403(client, login, staff, customer, role):
    login(staff(role))
    for url in [
        "/customers/",
        "/customers/new/",
        f"/customers/{customer.pk}/",
        f"/customers/{customer.pk}/edit/",
    ]:
        assert client.get(url).status_code == 403, url


def test_compliance_officer_reads_but_does_not_write(client, login, staff, customer):
    login(staff("compliance_officer"))
    assert client.get("/customers/").status_code == 200
    assert client.get(f"/customers/{customer.pk}/").status_code == 200
    assert client.get("/customers/new/").status_code == 403
    assert client.post(f"/customers/{customer.pk}/edit/", VALID).status_code == 403


def test_another_organizations_customer_is_404(client, login, staff, other_store):
    theirs = CustomerFactory(organization=other_store.organization)
    login(staff("manager"))
    assert client.get(f"/customers/{theirs.pk}/").status_code == 404
    assert client.get(f"/customers/{theirs.pk}/edit/").status_code == 404
    assert client.post(f"/customers/{theirs.pk}/edit/", VALID).status_code == 404
    assert not AuditRecord.objects.filter(action="customer.viewed").exists()


def test_search_by_phone_in_any_format_and_by_name(client, login, staff, organization, customer, other_store):
    CustomerFactory(organization=organization, first_name="Alan", last_name="Turing", phone="+14155550188")
    CustomerFactory(organization=other_store.organization, phone="+14155550134", last_name="Lovelace")
    login(staff("budtender"))
    for search in ["415.555.0134", "(415) 555-0134", "+1 415 555 0134", "Lovel"]:
        response = client.get("/customers/", {"q": search})
        assert list(response.context["page"].object_list) == [customer], search
    assert len(client.get("/customers/").context["page"].object_list) == 2


def test_a_list_or_search_logs_a_read_of_each_customer_shown(
    client, login, staff, organization, store, customer
):
    alan = CustomerFactory(
        organization=organization, first_name="Alan", last_name="Turing", phone="+14155550188"
    )
    budtender = staff("budtender")
    login(budtender)

    client.get("/customers/", {"q": "Lovel"})
    client.get("/customers/", {"q": "Lovel"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-results")
    client.get("/customers/")

    reads = AuditRecord.objects.filter(action="customer.viewed").order_by("id")
    assert [(read.object_id, read.after) for read in reads] == [
        (str(customer.pk), {"via": "web:list", "search": "Lovel"}),
        (str(customer.pk), {"via": "web:list", "search": "Lovel"}),
        (str(customer.pk), {"via": "web:list"}),
        (str(alan.pk), {"via": "web:list"}),
    ]
    assert {(read.actor, read.store, read.organization) for read in reads} == {
        (budtender, store, organization)
    }


def test_opening_the_edit_form_logs_the_read(client, login, staff, store, customer):
    manager = staff("manager")
    login(manager)

    response = client.get(f"/customers/{customer.pk}/edit/")

    assert response.status_code == 200
    assert b"Lovelace" in response.content
    record = AuditRecord.objects.get(action="customer.viewed")
    assert (record.actor, record.store, record.object_id, record.after) == (
        manager,
        store,
        str(customer.pk),
        {"via": "web:edit"},
    )


def test_live_search_returns_only_the_results(client, login, staff, customer):
    login(staff("budtender"))
    response = client.get(
        "/customers/", {"q": "Ada"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-results"
    )
    content = response.content.decode()
    assert "<html" not in content
    assert "Lovelace, Ada" in content
    assert "(415) 555-0134" in content


def test_no_match_offers_to_create(client, login, staff, customer):
    login(staff("budtender"))
    response = client.get("/customers/", {"q": "Nobody"})
    assert b"No customer matches" in response.content
    assert b'href="/customers/new/"' in response.content


def test_list_is_paginated(client, login, staff, organization):
    CustomerFactory.create_batch(30, organization=organization)
    login(staff("manager"))
    first = client.get("/customers/")
    assert len(first.context["page"].object_list) == 25
    assert len(client.get("/customers/", {"page": 2}).context["page"].object_list) == 5


def test_list_query_count_is_bounded(
    client, login, staff, organization, store, django_assert_max_num_queries
):
    CustomerFactory.create_batch(25, organization=organization, home_store=store)
    login(staff("manager"))
    with django_assert_max_num_queries(10):
        response = client.get("/customers/", {"q": "a"})
    assert response.status_code == 200


def test_create_writes_the_customer_audit_and_event(client, login, staff, organization, store):
    manager = staff("manager")
    login(manager)
    response = client.post("/customers/new/", {**VALID, "home_store": store.pk})
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
    assert customer.organization == organization
    assert customer.phone == "+14155550199"
    assert customer.email == "grace@example.com"
    assert customer.customer_type == Customer.Type.MEDICAL
    assert customer.home_store == store
    record = AuditRecord.objects.get(action="customer.created")
    assert (record.actor, record.store) == (manager, store)
    assert OutboxEvent.objects.filter(name="customer.created").count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phone": "12"}, "phone", "not a valid phone number"),
        ({"phone": ""}, "phone", "This field is required."),
        ({"first_name": ""}, "first_name", "This field is required."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"date_of_birth": "31/31/1990"}, "date_of_birth", "Enter a valid date."),
        ({"customer_type": "tourist"}, "customer_type", "Select a valid choice."),
    ],
)
def test_bad_input_writes_nothing_and_shows_the_error_inline(client, login, staff, changes, field, message):
    login(staff("manager"))
    response = client.post("/customers/new/", {**VALID, **changes})
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Customer.objects.count() == 0
    assert AuditRecord.objects.filter(action="customer.created").count() == 0
    assert OutboxEvent.objects.count() == 0


def test_home_store_of_another_organization_is_refused(client, login, staff, other_store):
    login(staff("manager"))
    response = client.post("/customers/new/", {**VALID, "home_store": other_store.pk})
    assert "home_store" in response.context["form"].errors
    assert Customer.objects.count() == 0


def test_duplicate_phone_links_to_the_existing_customer(client, login, staff, customer):
    login(staff("budtender"))
    response = client.post("/customers/new/", {**VALID, "phone": "415.555.0134"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "already exists" in content
    assert f'<a href="/customers/{customer.pk}/">open their record</a>' in content
    assert Customer.objects.count() == 1
    assert OutboxEvent.objects.count() == 0


def test_new_form_prefills_the_phone(client, login, staff):
    login(staff("budtender"))
    response = client.get("/customers/new/", {"phone": "(415) 555-0199"})
    assert 'value="(415) 555-0199"' in response.content.decode()


def test_detail_logs_the_read(client, login, staff, store, customer):
    budtender = staff("budtender")
    login(budtender)
    response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    assert b"Ada Lovelace" in response.content
    assert b"(415) 555-0134" in response.content
    record = AuditRecord.objects.get(action="customer.viewed")
    assert (record.actor, record.store, record.object_id) == (budtender, store, str(customer.pk))
    assert record.after == {"via": "web"}


def test_age_is_computed_on_the_stores_local_day(client, login, staff, customer, clock):
    import datetime as dt

    customer.date_of_birth = dt.date(2005, 11, 22)
    customer.save()
    # 2026-11-22 05:00 UTC is still November 21 in Los Angeles: the birthday has not come yet there.
    clock.move_to(dt.datetime(2026, 11, 22, 5, 0, tzinfo=dt.UTC))
    login(staff("manager"))
    assert client.get(f"/customers/{customer.pk}/").context["age"] == 20


def test_edit_goes_through_the_service(client, login, staff, customer):
    manager = staff("manager")
    login(manager)
    form = client.get(f"/customers/{customer.pk}/edit/")
    assert 'value="(415) 555-0134"' in form.content.decode()
    response = client.post(
        f"/customers/{customer.pk}/edit/", {**VALID, "phone": "415 555 0134", "first_name": "Augusta Ada"}
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.first_name == "Augusta Ada"
    assert customer.phone == "+14155550134"
    record = AuditRecord.objects.get(action="customer.updated")
    assert record.before["first_name"] == "Ada"
    assert record.after["first_name"] == "Augusta Ada"
    assert record.actor == manager


def test_edit_to_a_taken_phone_writes_nothing(client, login, staff, organization, customer):
    other = CustomerFactory(organization=organization, phone="+14155550177")
    login(staff("manager"))
    response = client.post(f"/customers/{customer.pk}/edit/", {**VALID, "phone": "(415) 555-0177"})
    assert response.status_code == 200
    assert f'href="/customers/{other.pk}/"' in response.content.decode()
    customer.refresh_from_db()
    assert customer.phone == "+14155550134"
    assert customer.first_name == "Ada"
    assert not AuditRecord.objects.filter(action="customer.updated").exists()


def test_detail_query_count_is_bounded(client, login, staff, customer, django_assert_max_num_queries):
    manager = staff("manager")
    for number in range(5):
        from dispensary.services import customer_update

        customer_update(customer=customer, actor=manager, first_name=f"Ada {number}")
    login(manager)
    with django_assert_max_num_queries(11):
        response = client.get(f"/customers/{customer.pk}/")
    assert len(response.context["history"]) == 5
