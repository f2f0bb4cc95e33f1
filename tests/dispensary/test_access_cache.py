"""The signed-in member kept per process (dispensary.access_cache): requests read no member, permission, role or
store row, and every change that takes access away takes effect on the very next request."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dispensary.access_cache import member_get
from dispensary.roles import Role
from dispensary.services import staff_revoke_store
from dispensary.versioned import _changed_in_transaction

pytestmark = pytest.mark.django_db

PAGE = "/pos/register/"  # needs pos.add_sale and dispensary.view_customer, and a store


@pytest.fixture(autouse=True)
def served_with_redis(settings):
    """As served with CACHE_URL (Redis), before any client logs in: one process here, so a local-memory cache
    sees every bump."""
    settings.ACCESS_CACHE = True
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


def _as_committed():
    """The fixtures' rows as if committed (the test's transaction never commits): reads are kept from here on,
    as between requests in production."""
    _changed_in_transaction().clear()


@pytest.fixture
def signed_in(client, budtender):
    client.force_login(budtender)
    _as_committed()
    assert client.get(PAGE).status_code == 200  # reads the member once
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    read = " ".join(query["sql"] for query in queries.captured_queries)
    for table in ("dispensary_user", "auth_permission", "auth_group", "dispensary_store", "django_session"):
        assert f'FROM "{table}"' not in read, f"{table} read again"
    return client


def _logged_out(answer) -> bool:
    return answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_a_deactivated_member_is_out_at_once(signed_in, budtender):
    budtender.is_active = False
    budtender.save(update_fields=["is_active"])
    assert _logged_out(signed_in.get(PAGE))


def test_a_changed_password_ends_other_sessions_at_once(signed_in, budtender):
    budtender.set_password("another-long-password-2026")
    budtender.save(update_fields=["password"])
    assert _logged_out(signed_in.get(PAGE))


def test_a_deleted_member_is_out_at_once(signed_in, budtender):
    budtender.delete()
    assert _logged_out(signed_in.get(PAGE))


def test_a_role_taken_away_takes_effect_at_once(signed_in, budtender):
    budtender.groups.remove(Group.objects.get(name=Role.BUDTENDER.value))
    assert signed_in.get(PAGE).status_code == 403


def test_a_permission_taken_from_the_role_takes_effect_at_once(signed_in):
    group = Group.objects.get(name=Role.BUDTENDER.value)
    group.permissions.remove(Permission.objects.get(codename="add_sale", content_type__app_label="pos"))
    assert signed_in.get(PAGE).status_code == 403


def test_a_revoked_store_takes_effect_at_once(signed_in, budtender, store, manager):
    staff_revoke_store(user=budtender, store=store, actor=manager)
    assert signed_in.get(PAGE).status_code == 403


def test_a_closed_store_takes_effect_at_once(signed_in, store):
    store.is_active = False
    store.save(update_fields=["is_active"])
    assert signed_in.get(PAGE).status_code == 403


def test_a_granted_permission_takes_effect_at_once(client, organization, store):
    from tests.factories import UserFactory

    member = UserFactory(organization=organization, roles=[], stores=[store])
    client.force_login(member)
    _as_committed()
    assert client.get(PAGE).status_code == 403
    member.groups.add(Group.objects.get(name=Role.BUDTENDER.value))
    assert client.get(PAGE).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_deactivation_committed_meanwhile_is_seen(client):
    """Committed for real: the version moves when the change commits, and the next request reads it."""
    from tests.factories import OrganizationFactory, StoreFactory, UserFactory

    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    member = UserFactory(organization=organization, roles=["budtender"], stores=[store])
    client.force_login(member)
    assert client.get(PAGE).status_code == 200
    with transaction.atomic():
        member.is_active = False
        member.save(update_fields=["is_active"])
    assert _logged_out(client.get(PAGE))


def test_each_request_gets_its_own_member(budtender):
    _as_committed()
    first, second = member_get(budtender.pk), member_get(budtender.pk)
    assert first is not second and first == second
    first.first_name = "Changed in one request"
    assert member_get(budtender.pk).first_name == budtender.first_name
    assert first.has_perm("pos.add_sale") and not member_get(999_999_999)


def test_without_the_access_cache_every_request_reads_the_member(client, budtender, settings):
    settings.ACCESS_CACHE = False
    client.force_login(budtender)
    _as_committed()
    client.get(PAGE)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    assert any('FROM "dispensary_user"' in query["sql"] for query in queries.captured_queries)
