"""Bad input on the pages: refused before any view with a page that says what was wrong (400, 413, 414),
ids beyond 64 bits are no URL (404), the login form survives an endless username (django-axes records the
attempt), and the store switcher only goes back to a path of this site."""

import pytest
from django.test import Client

from dispensary.models import AuditRecord, Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiet_client():
    return Client(raise_request_exception=False)


def test_a_nul_byte_in_a_query_is_a_400_page(staff, login):
    client = login(staff("manager"))

    response = client.get("/customers/", {"q": "ab\x00cd"})

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert "Nothing was saved" in response.content.decode()


def test_a_nul_byte_in_a_form_changes_nothing(staff, login, customer):
    client = login(staff("manager"))
    before = (Customer.objects.count(), AuditRecord.objects.count())

    response = client.post(
        "/customers/new/",
        {"phone": "4155550177", "first_name": "Ad\x00a", "last_name": "B", "customer_type": "adult_use"},
    )

    assert response.status_code == 400
    assert "first_name" in response.content.decode()
    assert (Customer.objects.count(), AuditRecord.objects.count()) == before


def test_a_control_character_is_refused_but_an_id_scan_separator_is_not(staff, login):
    client = login(staff("manager"))

    assert client.get("/customers/", {"q": "bell\x07"}).status_code == 400
    assert client.get("/customers/", {"q": "scan\x1e\r\n"}).status_code == 200


def test_a_100000_character_search_is_refused_everywhere(staff, login):
    client = login(staff("manager"))

    for url in ("/customers/", "/inventory/", "/compliance/audit/", "/pos/sales/"):
        response = client.get(url, {"q": "x" * 100_000})
        assert response.status_code == 414, url


def test_a_long_form_field_is_a_400(staff, login):
    client = login(staff("manager"))

    response = client.post("/customers/new/", {"notes": "x" * 10_001, "first_name": "A"})

    assert response.status_code == 400
    assert "longer than 10,000 characters" in response.content.decode()


def test_a_body_over_the_limit_is_a_413(staff, login):
    client = login(staff("manager"))

    response = client.post("/customers/new/", {"notes": "x" * 2_700_000})

    assert response.status_code == 413


def test_an_api_path_answers_in_the_error_body(staff, login):
    client = login(staff("manager"))

    response = client.get("/api/v1/customers", {"search": "ab\x00"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    "url", ["/customers/{}/", "/pos/sales/{}/", "/inventory/packages/{}/", "/pos/queue/{}/left/"]
)
@pytest.mark.parametrize("huge", [str(2**64), "9" * 5000])
def test_ids_beyond_64_bits_in_urls_are_404(staff, login, url, huge):
    client = login(staff("manager"))

    response = client.get(url.format(huge))

    assert response.status_code == 404


def test_a_5000_digit_queue_entry_is_not_found(staff, login):
    client = login(staff("budtender"))

    response = client.get("/pos/register/", {"queue_entry": "9" * 5000})

    assert response.status_code == 404


@pytest.mark.parametrize("username", ["x" * 100_000, "x" * 300, "ab\x00cd"])
def test_the_login_form_refuses_an_endless_username_without_an_error(quiet_client, username):
    response = quiet_client.post("/login/", {"username": username, "password": "wrong-password-1"})

    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert "username" in response.content.decode().lower()


@pytest.mark.parametrize(
    "target",
    ["ab\x00cd", "1e11", "9999-12-31", "landing", "//evil.example/", "https://evil.example/", "/ok\r\nX: y"],
)
def test_the_store_switcher_goes_back_only_to_a_path_of_this_site(staff, login, store, target, quiet_client):
    member = staff("manager")
    client = login(member)

    response = client.post("/stores/switch/", {"store": store.pk, "next": target})

    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response["Location"] == "/"


def test_the_store_switcher_keeps_a_path_of_this_site(staff, login, store):
    client = login(staff("manager"))

    response = client.post("/stores/switch/", {"store": store.pk, "next": "/pos/sales/?day=2026-01-02"})

    assert response["Location"] == "/pos/sales/?day=2026-01-02"
