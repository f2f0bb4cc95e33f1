"""Sign-in, sign-out, the lockout page and the landing page by role."""

import pytest
from django.test import override_settings

from tests.factories import UserFactory

PASSWORD = "correct horse battery"


def test_login_page_renders_the_form(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'autocomplete="current-password"' in response.content


def test_login_then_lands_by_role(client, staff):
    budtender = staff("budtender")
    response = client.post("/login/", {"username": budtender.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain == [("/", 302), ("/pos/register/", 302)]
    assert response.status_code == 200


def test_wrong_password_shows_an_error_and_no_session(client, staff):
    member = staff("manager")
    response = client.post("/login/", {"username": member.username, "password": "wrong password!"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


@override_settings(AXES_FAILURE_LIMIT=2)
def test_repeated_failures_show_the_lockout_page(client, staff):
    member = staff("manager")
    for _ in range(2):
        client.post("/login/", {"username": member.username, "password": "wrong password!"})
    response = client.post("/login/", {"username": member.username, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_needs_post(client, login, staff):
    login(staff("manager"))
    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_anonymous_landing_goes_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


@pytest.mark.parametrize(
    ("roles", "target"),
    [
        (["budtender"], "/pos/register/"),
        (["driver"], "/delivery/"),
        (["manager"], "/dashboard/"),
        (["owner"], "/dashboard/"),
        (["compliance_officer"], "/dashboard/"),
        (["inventory_manager"], "/dashboard/"),
        (["budtender", "manager"], "/dashboard/"),
        (["driver", "budtender"], "/pos/register/"),
    ],
)
def test_landing_by_primary_role(client, login, staff, roles, target):
    login(staff(*roles))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == target


def test_superuser_lands_on_the_dashboard(client, login, store):
    login(UserFactory(organization=None, is_superuser=True, is_staff=True))
    response = client.get("/")
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_member_without_a_role_gets_a_clear_page(client, login, staff):
    login(staff())
    response = client.get("/")
    assert response.status_code == 200
    assert b"Ask an owner" in response.content
    assert b"no role yet" in response.content


def test_member_without_a_store_gets_a_clear_page(client, login, staff):
    login(staff("budtender", stores=[]))
    response = client.get("/")
    assert response.status_code == 200
    assert b"Ask an owner" in response.content
    assert b"not been given access to any store" in response.content
    # Pages that need a store say the same instead of failing.
    response = client.get("/pos/")
    assert response.status_code == 403
    assert b"Ask an owner" in response.content
