import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from dispensary.models import AuditRecord, StaffToken

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.UserFactory


@time_machine.travel(dt.datetime(2026, 3, 8, 9, 30, tzinfo=dt.UTC), tick=False)
def test_token_is_issued_once_and_works(anonymous, manager, store):
    response = anonymous.post(
        "/api/v1/auth/token", {"username": manager.username, "password": PASSWORD, "name": "CLI"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "CLI"
    assert body["expires_at"] == "2026-04-07T09:30:00Z"  # STAFF_TOKEN_LIFETIME_HOURS, 720 by default
    token = StaffToken.objects.get()
    assert (token.user, token.name) == (manager, "CLI")
    assert body["token"].startswith(f"dsp_s_{token.key_prefix}_")
    assert body["token"] not in token.secret_hash
    assert AuditRecord.objects.filter(action="staff_token.created", actor=manager).count() == 1

    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert [row["id"] for row in anonymous.get("/api/v1/stores").json()["results"]] == [store.pk]


def test_wrong_password_is_refused_and_issues_nothing(anonymous, manager):
    response = anonymous.post("/api/v1/auth/token", {"username": manager.username, "password": "wrong"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "Wrong username or password.",
        "details": {},
    }
    assert StaffToken.objects.count() == 0


def test_missing_fields_are_invalid(anonymous):
    response = anonymous.post("/api/v1/auth/token", {})

    assert response.status_code == 400
    assert response.json()["details"] == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


def test_inactive_staff_get_no_token(anonymous, manager):
    manager.is_active = False
    manager.save()

    response = anonymous.post("/api/v1/auth/token", {"username": manager.username, "password": PASSWORD})

    assert response.status_code == 400
    assert StaffToken.objects.count() == 0


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_account_through_axes(anonymous, manager):
    answers = [
        anonymous.post("/api/v1/auth/token", {"username": manager.username, "password": "wrong"})
        for _ in range(3)
    ]
    locked = anonymous.post("/api/v1/auth/token", {"username": manager.username, "password": PASSWORD})

    assert [answer.status_code for answer in answers] == [400, 400, 429]
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert locked.json() == {
        "code": "locked_out",
        "message": "Too many failed attempts: this account is locked for a while.",
        "details": {},
    }
    assert StaffToken.objects.count() == 0
    # The attempt made while locked counts too.
    assert AccessAttempt.objects.get().failures_since_start == 4


def test_a_token_revokes_itself(manager, staff_caller):
    caller = staff_caller(manager)
    other = staff_caller(manager)

    response = caller.delete("/api/v1/auth/token")

    assert response.status_code == 204
    assert StaffToken.objects.count() == 1
    assert AuditRecord.objects.filter(action="staff_token.revoked", actor=manager).count() == 1
    after = caller.get("/api/v1/stores")
    assert after.status_code == 401
    assert after.json() == {"code": "authentication_failed", "message": "Invalid API key.", "details": {}}
    assert other.get("/api/v1/stores").status_code == 200


def test_an_api_client_cannot_use_token_revocation(make_api_client):
    client, caller = make_api_client()

    response = caller.delete("/api/v1/auth/token")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    client.refresh_from_db()
    assert client.is_active is True


def test_revocation_needs_a_caller(anonymous):
    assert anonymous.delete("/api/v1/auth/token").status_code == 401


def test_expired_staff_token_is_unauthorized(manager, staff_caller):
    caller = staff_caller(manager, expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = caller.get("/api/v1/stores")

    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "message": "This token has expired.",
        "details": {},
    }


def test_disabled_staff_tokens_stop_working(manager, staff_caller):
    caller = staff_caller(manager)
    manager.is_active = False
    manager.save()

    assert caller.get("/api/v1/stores").status_code == 401


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer nonsense", "Malformed API key."),
        ("Bearer dsp_c_000000000000_secret", "Invalid API key."),
        ("Bearer dsp_x_a_b", "Malformed API key."),
    ],
)
def test_bad_keys_are_unauthorized(header, message, anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION=header)

    response = anonymous.get("/api/v1/stores")

    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "message": message, "details": {}}


def test_a_wrong_secret_for_a_known_prefix_is_unauthorized(make_api_client, anonymous):
    client, _ = make_api_client()
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer dsp_c_{client.key_prefix}_wrong")

    assert anonymous.get("/api/v1/stores").status_code == 401


def test_a_token_stops_working_when_its_lifetime_is_over(manager, store, settings):
    settings.STAFF_TOKEN_LIFETIME_HOURS = 2
    issued = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(issued, tick=False):
        caller = staff_caller_for(manager)
        assert caller.get("/api/v1/stores").status_code == 200
    with time_machine.travel(issued + dt.timedelta(hours=1, minutes=59), tick=False):
        assert caller.get("/api/v1/stores").status_code == 200
    with time_machine.travel(issued + dt.timedelta(hours=2), tick=False):
        response = caller.get("/api/v1/stores")
    assert response.status_code == 401
    assert response.json()["message"] == "This token has expired."


def staff_caller_for(user):
    from dispensary.services import staff_token_create
    from tests.dispensary.api.conftest import bearer

    return bearer(staff_token_create(user=user, name="CLI")[1])


def test_rotation_gives_a_new_key_and_kills_the_old_one(manager, store, settings):
    settings.STAFF_TOKEN_LIFETIME_HOURS = 24
    with time_machine.travel(dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC), tick=False):
        old = staff_caller_for(manager)
    old_token = StaffToken.objects.get()

    with time_machine.travel(dt.datetime(2026, 11, 1, 20, 0, tzinfo=dt.UTC), tick=False):
        response = old.post("/api/v1/auth/token/rotate")

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "CLI"
    assert body["expires_at"] == "2026-11-02T20:00:00Z"
    new_token = StaffToken.objects.get()
    assert new_token.pk != old_token.pk
    assert body["token"].startswith(f"dsp_s_{new_token.key_prefix}_")
    record = AuditRecord.objects.get(action="staff_token.rotated")
    assert record.before == {"key_prefix": old_token.key_prefix}
    assert record.actor == manager

    assert old.get("/api/v1/stores").status_code == 401
    assert old.post("/api/v1/auth/token/rotate").status_code == 401
    new = APIClient()
    new.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    with time_machine.travel(dt.datetime(2026, 11, 2, 19, 59, tzinfo=dt.UTC), tick=False):
        assert new.get("/api/v1/stores").status_code == 200


def test_an_expired_token_cannot_rotate_itself_alive(manager, staff_caller):
    caller = staff_caller(manager, expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert caller.post("/api/v1/auth/token/rotate").status_code == 401
    assert StaffToken.objects.count() == 1


def test_only_staff_tokens_rotate(make_api_client, manager, client):
    _, api_caller = make_api_client()
    assert api_caller.post("/api/v1/auth/token/rotate").json()["code"] == "permission_denied"

    client.force_login(manager)
    response = client.post("/api/v1/auth/token/rotate")
    assert response.status_code == 403
    assert StaffToken.objects.count() == 0


def test_a_revoked_token_is_refused(manager, staff_caller):
    caller = staff_caller(manager)
    StaffToken.objects.get().delete()

    assert caller.post("/api/v1/auth/token/rotate").status_code == 401


def test_a_token_issued_without_an_expiry_lives_the_standard_lifetime(manager, settings):
    settings.STAFF_TOKEN_LIFETIME_HOURS = 24
    issued = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(issued, tick=False):
        caller = staff_caller_for(manager)
    StaffToken.objects.update(expires_at=None)  # as tokens were before they expired

    with time_machine.travel(issued + dt.timedelta(hours=23), tick=False):
        assert caller.get("/api/v1/stores").status_code == 200
    with time_machine.travel(issued + dt.timedelta(hours=24), tick=False):
        assert caller.get("/api/v1/stores").status_code == 401
