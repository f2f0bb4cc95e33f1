"""The door page, the budtenders' buttons and the lobby display: permissions, the check-in steps (lookup,
create, ID), 404 for other stores' entries, no personal data on the display, and bounded queries."""

import datetime as dt

import pytest
from django.utils import timezone

from compliance.models import IdVerification
from dispensary.models import AuditRecord, Customer
from pos.models import PickupOrder, QueueEntry, Register
from pos.services.queue import queue_call_next, queue_check_in
from tests.factories import CustomerFactory, StoreFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "lookup-result"}


@pytest.fixture
def login(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def staff(organization, store):
    def make(*roles, stores=None):
        return UserFactory(
            organization=organization, roles=list(roles), stores=[store] if stores is None else stores
        )

    return make


@pytest.fixture
def ada(organization, store):
    return CustomerFactory(
        organization=organization,
        phone="+14155550134",
        first_name="Ada",
        last_name="Lovelace",
        date_of_birth=dt.date(1990, 5, 17),
        home_store=store,
    )


@pytest.fixture
def other_customer(db):
    return CustomerFactory()


def enter(store, staff, customer=None, name="", **kwargs):
    return queue_check_in(
        store=store, staff=staff, customer=customer, display_name=name, customer_type="adult_use", **kwargs
    )


def pickup_order(store, customer, key="web-1"):
    now = timezone.now()
    return PickupOrder.objects.create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        placed_at=now - dt.timedelta(hours=1),
        expires_at=now + dt.timedelta(hours=6),
        idempotency_key=key,
    )


# --- Permissions -------------------------------------------------------------------------------------------

PAGES = ["/pos/queue/", "/pos/queue/live/", "/pos/queue/display/", "/pos/queue/display/board/"]
ACTIONS = [
    "/pos/queue/lookup/",
    "/pos/queue/check-in/",
    "/pos/queue/next/",
    "/pos/queue/1/serve/",
    "/pos/queue/1/done/",
    "/pos/queue/1/left/",
    "/pos/queue/pickups/1/arrived/",
    "/pos/queue/customers/new/",
]


def test_anonymous_is_sent_to_login(client, db):
    for url in PAGES:
        assert client.get(url)["Location"].startswith("/login/?next=")
    for url in ACTIONS:
        assert client.post(url)["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("role", ["driver", "inventory_manager"])
def test_roles_without_the_customer_desk_get_403(client, login, staff, role):
    login(staff(role))
    for url in PAGES:
        assert client.get(url).status_code == 403
    for url in ACTIONS:
        assert client.post(url).status_code == 403


def test_a_viewer_who_does_not_sell_checks_in_but_does_not_serve(client, login, staff, store, budtender):
    entry = enter(store, budtender, name="Walk In")
    login(staff("compliance_officer"))
    content = client.get("/pos/queue/").content.decode()
    assert "Take next" not in content and "/serve/" not in content
    assert "/left/" in content
    for url in ["/pos/queue/next/", f"/pos/queue/{entry.pk}/serve/", f"/pos/queue/{entry.pk}/done/"]:
        assert client.post(url).status_code == 403
    entry.refresh_from_db()
    assert entry.status == "waiting"


def test_member_without_a_store_gets_the_no_access_page(client, login, staff):
    login(staff("budtender", stores=[]))
    assert client.get("/pos/queue/").status_code == 403


def test_get_only_and_post_only(client, login, budtender):
    login(budtender)
    assert client.post("/pos/queue/").status_code == 405
    assert client.get("/pos/queue/next/").status_code == 405


# --- The door page -----------------------------------------------------------------------------------------


def test_door_page_shows_the_queue_and_polls(client, login, budtender, store):
    Register.objects.create(store=store, name="Register 2")
    enter(store, budtender, name="Walk In")
    response = login(budtender).get("/pos/queue/")
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="lookup-phone"' in content and "autofocus" in content
    assert (
        'hx-get="/pos/queue/live/"' in content
        and 'hx-trigger="queue-poll, queue-changed from:body" data-poll-seconds="5"' in content
    )
    assert "Walk In" in content and "Take next" in content and "Register 2" in content
    assert 'href="/pos/queue/"' in content  # the nav link


def test_lookup_in_any_format_offers_check_in_and_logs_the_read(client, login, budtender, store, ada):
    response = login(budtender).post("/pos/queue/lookup/", {"phone": "415.555.0134"}, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content
    assert "Ada Lovelace" in content and "data-checkin-form" in content
    assert f'name="customer" value="{ada.pk}"' in content
    record = AuditRecord.objects.get(action="customer.viewed")
    assert (record.actor, record.store, record.after) == (budtender, store, {"via": "queue"})


def test_lookup_says_when_the_customer_is_already_in_the_queue(client, login, budtender, store, ada):
    enter(store, budtender, ada)
    content = login(budtender).post("/pos/queue/lookup/", {"phone": "4155550134"}, **HTMX).content.decode()
    assert "Ada L. is already waiting as #1." in content
    assert "data-checkin-form" not in content


def test_lookup_of_a_bad_number_or_an_unknown_one(client, login, budtender, staff):
    login(budtender)
    assert (
        "is not a phone number"
        in client.post("/pos/queue/lookup/", {"phone": "12ab"}, **HTMX).content.decode()
    )
    content = client.post("/pos/queue/lookup/", {"phone": "(415) 555-0199"}, **HTMX).content.decode()
    assert "No customer with (415) 555-0199" in content
    assert 'hx-post="/pos/queue/customers/new/"' in content and 'value="(415) 555-0199"' in content
    login(staff("compliance_officer"))
    content = client.post("/pos/queue/lookup/", {"phone": "(415) 555-0199"}, **HTMX).content.decode()
    assert "/pos/queue/customers/new/" not in content


def test_lookup_without_javascript_renders_the_whole_page(client, login, budtender, ada):
    response = login(budtender).post("/pos/queue/lookup/", {"phone": "4155550134"})
    content = response.content.decode()
    assert "<html" in content and "Ada Lovelace" in content and 'id="queue-live"' in content


def test_creating_the_customer_leads_to_check_in(client, login, budtender, store):
    login(budtender)
    response = client.post(
        "/pos/queue/customers/new/",
        {
            "phone": "(415) 555-0199",
            "first_name": "Grace",
            "last_name": "Hopper",
            "customer_type": "medical",
            "home_store": store.pk,
        },
        **HTMX,
    )
    content = response.content.decode()
    grace = Customer.objects.get(phone="+14155550199")
    assert "data-checkin-form" in content and f'name="customer" value="{grace.pk}"' in content
    assert '<option value="medical" selected>' in content
    bad = client.post("/pos/queue/customers/new/", {"phone": "nope", "first_name": "X"}, **HTMX)
    assert bad.status_code == 200 and "Create customer" in bad.content.decode()
    assert Customer.objects.count() == 1


def test_check_in_without_an_id(client, login, budtender, store, ada):
    response = login(budtender).post(
        "/pos/queue/check-in/", {"customer": ada.pk, "customer_type": "adult_use"}, **HTMX
    )
    content = response.content.decode()
    entry = QueueEntry.objects.get()
    assert (entry.number, entry.customer, entry.id_verification, entry.checked_in_by) == (
        1,
        ada,
        None,
        budtender,
    )
    assert "#1" in content and "Ada L." in content and "data-checked-in" in content
    assert response["HX-Trigger"] == "queue-changed"


def test_check_in_with_a_typed_date_of_birth(client, login, budtender, store, ada):
    login(budtender).post(
        "/pos/queue/check-in/",
        {
            "customer": ada.pk,
            "customer_type": "adult_use",
            "date_of_birth": "1990-05-17",
            "expires_on": "2030-01-01",
        },
        **HTMX,
    )
    entry = QueueEntry.objects.get()
    verification = entry.id_verification
    assert (verification.passed, verification.method, verification.customer, verification.store) == (
        True,
        "manual",
        ada,
        store,
    )


def test_a_refused_id_is_shown_and_the_customer_is_not_queued(client, login, budtender, store, ada):
    response = login(budtender).post(
        "/pos/queue/check-in/",
        {"customer": ada.pk, "customer_type": "adult_use", "date_of_birth": "2010-01-01"},
        **HTMX,
    )
    content = response.content.decode()
    assert "ID refused: not checked in." in content and "Under age" in content
    assert "data-checkin-form" in content  # the door may check again
    assert QueueEntry.objects.count() == 0
    assert IdVerification.objects.get().passed is False  # the refusal is on record


def test_an_expired_scanned_id_is_refused(client, login, budtender, ada):
    michigan_expired = (
        "@\n\x1e\rANSI 636032100102ID00410250ZM02910012IDDAQS 123 456 789 012\nDCSKOWALSKI\nDACPIOTR\nDADNONE\n"
        "DBD03152014\nDBB11301980\nDBA11302018\nDBC1\nDAG1 MAIN ST\nDAIDETROIT\nDAJMI\nDAK482160000\nDCGUSA\r"
    )
    response = login(budtender).post(
        "/pos/queue/check-in/",
        {"customer": ada.pk, "customer_type": "adult_use", "scan": michigan_expired},
        **HTMX,
    )
    assert "ID refused" in response.content.decode()
    assert QueueEntry.objects.count() == 0


def test_an_unreadable_scan_or_a_second_check_in_is_said_on_the_form(client, login, budtender, store, ada):
    login(budtender)
    response = client.post(
        "/pos/queue/check-in/", {"customer": ada.pk, "customer_type": "adult_use", "scan": "garbage"}, **HTMX
    )
    assert response.status_code == 200 and "data-checkin-form" in response.content.decode()
    enter(store, budtender, ada)
    response = client.post("/pos/queue/check-in/", {"customer": ada.pk, "customer_type": "adult_use"}, **HTMX)
    assert "Ada L. is already waiting as #1." in response.content.decode()
    assert QueueEntry.objects.count() == 1


def test_adult_use_check_in_where_the_state_has_none(client, login, organization, ada):
    oklahoma = StoreFactory(organization=organization, jurisdiction="US-OK", time_zone="America/Chicago")
    budtender = UserFactory(organization=organization, roles=["budtender"], stores=[oklahoma])
    response = login(budtender).post(
        "/pos/queue/check-in/",
        {"customer": ada.pk, "customer_type": "adult_use", "date_of_birth": "1990-01-01"},
        **HTMX,
    )
    assert "has no adult-use sales" in response.content.decode()
    assert QueueEntry.objects.count() == 0 and IdVerification.objects.count() == 0


def test_check_in_of_another_organizations_customer_is_404(client, login, budtender, other_customer):
    response = login(budtender).post(
        "/pos/queue/check-in/", {"customer": other_customer.pk, "customer_type": "adult_use"}
    )
    assert response.status_code == 404
    assert login(budtender).post("/pos/queue/check-in/", {"customer_type": "adult_use"}).status_code == 404
    assert QueueEntry.objects.count() == 0


def test_check_in_without_javascript_redirects_with_the_ticket(client, login, budtender, ada):
    response = login(budtender).post(
        "/pos/queue/check-in/", {"customer": ada.pk, "customer_type": "adult_use"}, follow=True
    )
    assert response.redirect_chain == [("/pos/queue/", 302)]
    assert "Ada L. is checked in as #1." in response.content.decode()


# --- Pickups -----------------------------------------------------------------------------------------------


def test_a_pickup_arrives(client, login, budtender, store, ada):
    order = pickup_order(store, ada)
    login(budtender)
    assert f"/pos/queue/pickups/{order.pk}/arrived/" in client.get("/pos/queue/").content.decode()
    response = client.post(f"/pos/queue/pickups/{order.pk}/arrived/", follow=True)
    assert f"Pickup {order.pk}: Ada L. is checked in as #1." in response.content.decode()
    order.refresh_from_db()
    assert order.status == "checked_in"
    assert QueueEntry.objects.get().source == "pickup"
    again = client.post(f"/pos/queue/pickups/{order.pk}/arrived/", follow=True)
    assert "is checked in, not reserved" in again.content.decode()
    assert QueueEntry.objects.count() == 1


def test_another_stores_pickup_is_404(client, login, budtender, organization, ada):
    order = pickup_order(StoreFactory(organization=organization), ada)
    assert login(budtender).post(f"/pos/queue/pickups/{order.pk}/arrived/").status_code == 404
    order.refresh_from_db()
    assert order.status == "reserved"


# --- Budtenders --------------------------------------------------------------------------------------------


def test_take_next_opens_the_checkout_and_remembers_the_register(client, login, budtender, store, ada):
    register = Register.objects.create(store=store, name="Register 2")
    first = enter(store, budtender, ada)
    enter(store, budtender, name="Walk In")
    login(budtender)
    response = client.post("/pos/queue/next/", {"register": register.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/pos/register/?queue_entry={first.pk}"
    first.refresh_from_db()
    assert (first.status, first.served_by, first.register) == ("serving", budtender, register)
    assert f'<option value="{register.pk}" selected>' in client.get("/pos/queue/").content.decode()


def test_take_next_with_nobody_waiting_says_so(client, login, budtender):
    response = login(budtender).post("/pos/queue/next/", follow=True)
    assert "Nobody is waiting." in response.content.decode()


def test_take_next_with_another_stores_register_is_404(client, login, budtender, store, organization):
    enter(store, budtender, name="Walk In")
    foreign = Register.objects.create(store=StoreFactory(organization=organization), name="R")
    assert login(budtender).post("/pos/queue/next/", {"register": foreign.pk}).status_code == 404
    assert QueueEntry.objects.get().status == "waiting"


def test_serve_a_chosen_customer_then_done(client, login, budtender, store, ada):
    enter(store, budtender, name="Walk In")
    chosen = enter(store, budtender, ada)
    login(budtender)
    response = client.post(f"/pos/queue/{chosen.pk}/serve/", {"register": ""})
    assert response["Location"] == f"/pos/register/?queue_entry={chosen.pk}"
    again = client.post(f"/pos/queue/{chosen.pk}/serve/", follow=True)
    assert "is already being served by Sam Staff" in again.content.decode()
    client.post(f"/pos/queue/{chosen.pk}/done/")
    chosen.refresh_from_db()
    assert chosen.status == "done"


def test_left_with_a_note(client, login, budtender, store, ada):
    entry = enter(store, budtender, ada)
    response = login(budtender).post(f"/pos/queue/{entry.pk}/left/", {"note": "Could not wait"}, follow=True)
    assert "#1 Ada L. left the queue." in response.content.decode()
    entry.refresh_from_db()
    assert (entry.status, entry.note) == ("left", "Could not wait")
    too_long = client.post(f"/pos/queue/{entry.pk}/left/", {"note": "x" * 301}, follow=True)
    assert "Keep the note under 300 characters." in too_long.content.decode()


def test_other_stores_entries_are_404(client, login, budtender, organization):
    other = StoreFactory(organization=organization)
    entry = enter(other, budtender, name="Elsewhere")
    login(budtender)
    for action in ["serve", "done", "left"]:
        assert client.post(f"/pos/queue/{entry.pk}/{action}/").status_code == 404
    entry.refresh_from_db()
    assert entry.status == "waiting"


# --- The lobby display -------------------------------------------------------------------------------------


def test_display_shows_numbers_and_first_names_only(client, login, budtender, store, ada):
    register = Register.objects.create(store=store, name="Register 3")
    enter(store, budtender, ada)
    grace = CustomerFactory(
        organization=store.organization, first_name="Grace", last_name="Hopper", phone="+14155550188"
    )
    enter(store, budtender, grace)
    queue_call_next(store=store, staff=budtender, register=register)
    login(budtender)
    for url in ["/pos/queue/display/", "/pos/queue/display/board/"]:
        content = client.get(url).content.decode()
        assert "Now serving" in content and "Waiting" in content
        assert "Ada L." in content and "Register 3" in content and "Grace H." in content
        for private in ["Lovelace", "Hopper", "555", "+1415", "Adult use", "Medical"]:
            assert private not in content
    page = client.get("/pos/queue/display/").content.decode()
    assert 'hx-get="/pos/queue/display/board/"' in page and "every 4s" in page
    assert 'class="topbar"' not in page


# --- Query counts ------------------------------------------------------------------------------------------


def _fill(store, staff, organization, n):
    register = Register.objects.create(store=store, name=f"R{n}")
    for i in range(n):
        customer = CustomerFactory(organization=organization)
        enter(store, staff, customer)
        pickup_order(store, customer, key=f"web-{n}-{i}")
    queue_call_next(store=store, staff=staff, register=register)


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        ("/pos/queue/", 10),
        ("/pos/queue/live/", 9),
        ("/pos/queue/display/", 7),
        ("/pos/queue/display/board/", 7),
    ],
)
def test_queue_pages_query_count_does_not_grow(
    client, login, budtender, store, organization, url, queries, django_assert_num_queries
):
    # Session, user, permissions, store, then registers (door), the live entries, today's waits, pickups (door);
    # the member's roles once, where the navigation shows them (the shell's role is read only when shown).
    login(budtender)
    _fill(store, budtender, organization, 2)
    client.get(url)  # warm the session and the permission caches
    with django_assert_num_queries(queries):
        client.get(url)
    _fill(store, budtender, organization, 10)
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200


def test_check_in_with_a_scanned_id_as_the_browser_sends_it(client, login, budtender, store, ada):
    california = (
        "@\n\x1e\rANSI 636014080102DL00410278ZC03190008DLDAQD1234562\nDCSSAMPLE\nDDEN\nDACJANE\nDDFN\nDADMARIE\n"
        "DDGN\nDCAC\nDCBNONE\nDCDNONE\nDBD08312023\nDBB08311977\nDBA08312099\nDBC2\nDAU064 IN\nDAYBRO\n"
        "DAG2570 24TH STREET\nDAIANYTOWN\nDAJCA\nDAK958220000  \nDCF00/00/0000NNNAN/ANFD\nDCGUSA\nDDAF\nDDB08292017\r"
    )
    # A textarea is submitted with CRLF line breaks.
    as_sent = california.replace("\r", "").replace("\n", "\r\n")
    response = login(budtender).post(
        "/pos/queue/check-in/", {"customer": ada.pk, "customer_type": "adult_use", "scan": as_sent}, **HTMX
    )
    assert "data-checked-in" in response.content.decode()
    verification = QueueEntry.objects.get().id_verification
    assert (verification.method, verification.passed, verification.issuing_state) == ("scan", True, "CA")
    assert verification.date_of_birth == dt.date(1977, 8, 31)


def test_the_queue_and_the_register_share_the_budtenders_register(client, login, budtender, store, ada):
    """Chosen at the register, the queue offers it; chosen at the queue, the register opens on it."""
    front, back = (Register.objects.create(store=store, name=name) for name in ("Front", "Back"))
    login(budtender)
    client.post("/pos/register/choose/", {"register": back.pk})
    assert f'<option value="{back.pk}" selected>' in client.get("/pos/queue/").content.decode()

    entry = enter(store, budtender, ada)
    response = client.post("/pos/queue/next/", {"register": front.pk})
    assert response["Location"] == f"/pos/register/?queue_entry={entry.pk}"
    start = client.get(response["Location"])
    assert start.templates[0].name == "pos/register/start.html"
    assert start.context["register"] == front
    assert f"Serve #{entry.number} Ada L." in start.content.decode()
