"""The store switcher: only stores the member was granted, only safe redirects, shown to multi-store staff."""

from dispensary.middleware import SESSION_KEY
from tests.factories import StoreFactory


def test_switches_to_a_granted_store_and_goes_back(client, login, staff, organization, store):
    second = StoreFactory(organization=organization, name="Uptown")
    login(staff("manager", stores=[store, second]))
    response = client.post("/stores/switch/", {"store": second.pk, "next": "/customers/"})
    assert response.status_code == 302
    assert response["Location"] == "/customers/"
    assert client.session[SESSION_KEY] == second.pk
    page = client.get("/dashboard/")
    assert page.context["current_store"] == second
    assert b"You are now working at Uptown." in page.content


def test_cannot_switch_to_a_store_not_granted(client, login, staff, organization, store, other_store):
    not_granted = StoreFactory(organization=organization, name="Not mine")
    login(staff("manager", stores=[store]))
    for target in (not_granted, other_store):
        response = client.post("/stores/switch/", {"store": target.pk, "next": "/dashboard/"})
        assert response.status_code == 403
        assert b"not part of your role" in response.content
        assert SESSION_KEY not in client.session


def test_garbage_store_id_is_refused(client, login, staff):
    login(staff("manager"))
    assert client.post("/stores/switch/", {"store": "abc"}).status_code == 403


def test_unsafe_next_falls_back_to_landing(client, login, staff, organization, store):
    second = StoreFactory(organization=organization)
    login(staff("manager", stores=[store, second]))
    response = client.post("/stores/switch/", {"store": second.pk, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_switch_needs_post_and_login(client, login, staff):
    response = client.post("/stores/switch/", {"store": 1})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    login(staff("manager"))
    assert client.get("/stores/switch/").status_code == 405


def test_switcher_is_shown_only_to_staff_of_several_stores(client, login, staff, organization, store):
    login(staff("manager", stores=[store]))
    assert b'action="/stores/switch/"' not in client.get("/dashboard/").content
    second = StoreFactory(organization=organization)
    login(staff("manager", stores=[store, second]))
    content = client.get("/dashboard/").content
    assert b'action="/stores/switch/"' in content
    assert f'value="{second.pk}"'.encode() in content
