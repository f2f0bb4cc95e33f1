"""Login throttling: per account whatever the address, per address whatever the account, and the address
taken from X-Forwarded-For only when the connection comes from a trusted proxy."""

import pytest
from django.test import RequestFactory, override_settings

from dispensary.client_address import client_address
from tests.factories import UserFactory

PASSWORD = "correct horse battery"
PROXY = "10.0.0.2"


def sign_in(client, user, password, *, remote="192.0.2.10", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    client.logout()
    return client.post("/login/", {"username": user.username, "password": password}, **extra)


def signed_in(response) -> bool:
    return response.status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3, AXES_ADDRESS_FAILURE_LIMIT=6)
def test_an_account_is_locked_whatever_the_address(client, staff):
    member = staff("manager")
    for number in range(3):
        sign_in(client, member, "wrong password!", remote=f"198.51.100.{number}")

    response = sign_in(client, member, PASSWORD, remote="203.0.113.7")

    assert response.status_code == 429
    assert b"Too many attempts" in response.content


@override_settings(AXES_FAILURE_LIMIT=3, AXES_ADDRESS_FAILURE_LIMIT=6)
def test_an_address_is_locked_whatever_the_accounts_a_password_spray(client, organization, store):
    sprayed = [UserFactory(organization=organization, roles=["budtender"], stores=[store]) for _ in range(6)]
    answers = [
        sign_in(client, member, "Summer2026!", remote="198.51.100.66").status_code for member in sprayed
    ]
    # One guess per account, so no account reaches its limit; the sixth guess from the address locks it.
    assert answers == [200, 200, 200, 200, 200, 429]

    untouched = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    assert sign_in(client, untouched, PASSWORD, remote="198.51.100.66").status_code == 429
    # The accounts themselves are not locked: their owners sign in from their own address.
    assert signed_in(sign_in(client, sprayed[0], PASSWORD, remote="198.51.100.1"))
    assert signed_in(sign_in(client, untouched, PASSWORD, remote="198.51.100.1"))


@override_settings(AXES_FAILURE_LIMIT=3, AXES_ADDRESS_FAILURE_LIMIT=6)
def test_a_few_typos_at_a_shared_address_lock_nobody_else(client, organization, store):
    colleagues = [
        UserFactory(organization=organization, roles=["budtender"], stores=[store]) for _ in range(3)
    ]
    for member in colleagues:
        sign_in(client, member, "typo", remote="198.51.100.5")

    assert signed_in(sign_in(client, colleagues[0], PASSWORD, remote="198.51.100.5"))


@override_settings(AXES_FAILURE_LIMIT=3, AXES_ADDRESS_FAILURE_LIMIT=4, TRUSTED_PROXIES=[PROXY])
def test_behind_a_trusted_proxy_one_client_cannot_lock_out_everyone(client, organization, store):
    members = [UserFactory(organization=organization, roles=["budtender"], stores=[store]) for _ in range(4)]
    for member in members:
        sign_in(client, member, "guess", remote=PROXY, forwarded="203.0.113.99")
    assert sign_in(client, members[0], PASSWORD, remote=PROXY, forwarded="203.0.113.99").status_code == 429

    # Everyone else comes through the same proxy and still signs in.
    assert signed_in(sign_in(client, members[1], PASSWORD, remote=PROXY, forwarded="198.51.100.20"))


@override_settings(AXES_FAILURE_LIMIT=3, AXES_ADDRESS_FAILURE_LIMIT=4, TRUSTED_PROXIES=[])
def test_a_forged_forwarded_header_does_not_escape_the_address_limit(client, organization, store):
    members = [UserFactory(organization=organization, roles=["budtender"], stores=[store]) for _ in range(4)]
    for number, member in enumerate(members):
        sign_in(client, member, "guess", remote="203.0.113.99", forwarded=f"198.51.100.{number}")

    fresh = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    assert (
        sign_in(client, fresh, PASSWORD, remote="203.0.113.99", forwarded="198.51.100.200").status_code == 429
    )


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ([], "192.0.2.1", "203.0.113.5", "192.0.2.1"),  # no trusted proxy: the header is ignored
        (["10.0.0.0/8"], "192.0.2.1", "203.0.113.5", "192.0.2.1"),  # not from the proxy: ignored
        (["10.0.0.0/8"], "10.0.0.2", "203.0.113.5", "203.0.113.5"),
        (["10.0.0.0/8"], "10.0.0.2", "1.1.1.1, 203.0.113.5", "203.0.113.5"),  # the left part is the client's
        (["10.0.0.0/8"], "10.0.0.2", "203.0.113.5, 10.0.0.9", "203.0.113.5"),  # a chain of trusted proxies
        (["10.0.0.0/8"], "10.0.0.2", "203.0.113.5:4711", "203.0.113.5"),
        (["10.0.0.0/8"], "10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        (["10.0.0.0/8"], "10.0.0.2", "not-an-address", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", "", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", "10.0.0.3", "10.0.0.2"),  # only proxies: the nearest one
    ],
)
def test_client_address(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
