"""The counter's customer lookup: any phone format finds the customer, the read is logged, or the customer
is created on the spot."""

import datetime as dt

import pytest

from dispensary.models import AuditRecord, Customer

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "lookup-result"}


def test_anonymous_is_sent_to_login(client, db):
    for url in ["/pos/", "/pos/lookup/", "/pos/customers/new/"]:
        response = client.get(url) if url == "/pos/" else client.post(url, {"phone": "4155550134"})
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("role", ["driver", "inventory_manager"])
def test_roles_without_the_customer_desk_get_403(client, login, staff, role):
    login(staff(role))
    assert client.get("/pos/").status_code == 403
    assert client.post("/pos/lookup/", {"phone": "4155550134"}).status_code == 403


def test_counter_screen_has_an_autofocused_phone_field(client, login, staff):
    response = login(staff("budtender")).get("/pos/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="lookup-phone"' in content
    assert "autofocus" in content
    assert 'hx-post="/pos/lookup/"' in content


@pytest.mark.parametrize("typed", ["(415) 555-0134", "415.555.0134", "4155550134", "+1 415 555 0134"])
def test_lookup_finds_the_customer_and_logs_the_read(client, login, staff, store, customer, typed):
    budtender = staff("budtender")
    login(budtender)
    response = client.post("/pos/lookup/", {"phone": typed}, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert "Ada Lovelace" in content
    assert "Adult use" in content
    assert "(415) 555-0134" in content
    assert store.name in content  # home store
    record = AuditRecord.objects.get(action="customer.viewed")
    assert (record.actor, record.store, record.after) == (budtender, store, {"via": "pos"})


def test_age_on_the_card_uses_the_stores_local_date(client, login, staff, customer, clock):
    customer.date_of_birth = dt.date(2005, 11, 22)
    customer.save()
    # 05:00 UTC on Nov 22 is the evening of Nov 21 in Los Angeles: still 20 there.
    clock.move_to(dt.datetime(2026, 11, 22, 5, 0, tzinfo=dt.UTC))
    login(staff("budtender"))
    response = client.post("/pos/lookup/", {"phone": "4155550134"}, **HTMX)
    assert response.context["age"] == 20
    assert "Age 20" in response.content.decode()


def test_another_organizations_customer_is_not_found(client, login, staff, other_store):
    from tests.factories import CustomerFactory

    CustomerFactory(organization=other_store.organization, phone="+14155550134", first_name="Hidden")
    login(staff("budtender"))
    response = client.post("/pos/lookup/", {"phone": "4155550134"}, **HTMX)
    assert b"Hidden" not in response.content
    assert b"No customer with (415) 555-0134" in response.content
    assert not AuditRecord.objects.filter(action="customer.viewed").exists()


def test_not_a_phone_number_is_said_inline(client, login, staff):
    login(staff("budtender"))
    response = client.post("/pos/lookup/", {"phone": "12ab"}, **HTMX)
    assert response.status_code == 200
    assert "is not a phone number" in response.content.decode()


def test_unknown_phone_offers_to_create_with_the_phone_prefilled(client, login, staff):
    login(staff("budtender"))
    response = client.post("/pos/lookup/", {"phone": "415-555-0199"}, **HTMX)
    content = response.content.decode()
    assert "No customer with (415) 555-0199" in content
    assert 'hx-post="/pos/customers/new/"' in content
    assert 'value="(415) 555-0199"' in content


def test_compliance_officer_is_not_offered_to_create(client, login, staff):
    login(staff("compliance_officer"))
    response = client.post("/pos/lookup/", {"phone": "415-555-0199"}, **HTMX)
    assert b"/pos/customers/new/" not in response.content
    assert client.post("/pos/customers/new/", {"phone": "4155550199"}).status_code == 403


def test_inline_create_shows_the_new_customers_card(client, login, staff, store):
    budtender = staff("budtender")
    login(budtender)
    response = client.post(
        "/pos/customers/new/",
        {
            "phone": "(415) 555-0199",
            "first_name": "Grace",
            "last_name": "Hopper",
            "customer_type": "adult_use",
            "date_of_birth": "1990-12-09",
            "home_store": store.pk,
        },
        **HTMX,
    )
    assert "Grace Hopper" in response.content.decode()
    assert "data-customer-card" in response.content.decode()
    customer = Customer.objects.get()
    assert customer.phone == "+14155550199"
    assert customer.home_store == store
    assert AuditRecord.objects.get(action="customer.created").actor == budtender


def test_inline_create_with_bad_input_writes_nothing(client, login, staff):
    login(staff("budtender"))
    response = client.post("/pos/customers/new/", {"phone": "(415) 555-0199", "first_name": ""}, **HTMX)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert Customer.objects.count() == 0


def test_without_javascript_the_whole_screen_is_rendered(client, login, staff, customer):
    login(staff("budtender"))
    response = client.post("/pos/lookup/", {"phone": "4155550134"})
    content = response.content.decode()
    assert "<html" in content
    assert "Ada Lovelace" in content


def test_lookup_query_count_is_bounded(client, login, staff, customer, django_assert_max_num_queries):
    login(staff("budtender"))
    with django_assert_max_num_queries(10):
        client.post("/pos/lookup/", {"phone": "4155550134"}, **HTMX)


def test_only_the_longest_matching_nav_link_is_active(client, login, staff):
    body = login(staff("budtender")).get("/pos/queue/").content.decode()
    assert body.count('aria-current="page"') == 1
    assert 'href="/pos/queue/" aria-current="page"' in body
