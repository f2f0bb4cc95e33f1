import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from dispensary.clock import age_on, store_local_date, store_local_day_bounds
from dispensary.demo import DEMO_PASSWORD, STAFF
from dispensary.models import AuditRecord, Customer, Organization, Store, User
from dispensary.roles import ROLE_PERMISSIONS, Role
from dispensary.selectors import store_list_for_user
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_demo_load_is_idempotent_and_complete(capsys):
    call_command("load_demo")
    first = capsys.readouterr().out
    counts = (
        Organization.objects.count(),
        Store.objects.count(),
        User.objects.count(),
        Customer.objects.count(),
    )
    audits = AuditRecord.objects.count()
    call_command("load_demo")
    second = capsys.readouterr().out
    assert counts == (1, 2, len(STAFF), 200)
    assert (
        Organization.objects.count(),
        Store.objects.count(),
        User.objects.count(),
        Customer.objects.count(),
    ) == counts
    assert AuditRecord.objects.count() == audits
    assert "added: 0 organizations, 0 stores, 0 staff, 0 customers" in second
    assert "added: 1 organizations, 2 stores, 9 staff, 200 customers" in first
    for role in Role:
        assert any(member.role == role for member in STAFF)
    for member in STAFF:
        assert member.username in first
        user = User.objects.get(username=member.username)
        assert user.check_password(DEMO_PASSWORD)
        assert user.primary_role == member.role
        assert sorted(store.code for store in store_list_for_user(user)) == sorted(member.stores)
    assert {store.jurisdiction for store in Store.objects.all()} == {"US-CA", "US-MI"}
    assert Customer.objects.filter(customer_type="medical").count() > 10
    assert all(
        phone.startswith("+1") and len(phone) == 12
        for phone in Customer.objects.values_list("phone", flat=True)
    )


def test_roles_are_groups_with_their_permissions():
    call_command("load_demo")
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role.value)
        held = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert held == set(perms)
    budtender = User.objects.get(username="budtender")
    assert budtender.has_perm("dispensary.add_customer")
    assert not budtender.has_perm("dispensary.retry_eventdelivery")


def test_staff_reach_only_their_granted_stores(organization, store, budtender):
    other_store_same_org = StoreFactory(organization=organization)
    foreign = StoreFactory()
    reachable = list(store_list_for_user(budtender))
    assert reachable == [store]
    assert other_store_same_org not in reachable and foreign not in reachable


def test_role_precedence_decides_landing():
    assert Role.primary(["driver", "manager"]) == Role.MANAGER
    assert Role.primary(["budtender", "driver"]) == Role.BUDTENDER
    assert Role.primary([]) is None


def test_store_local_day_follows_the_store_time_zone(store):
    # 2026-03-01 07:30 UTC is still 2026-02-28 in Los Angeles.
    at = dt.datetime(2026, 3, 1, 7, 30, tzinfo=dt.UTC)
    assert store_local_date(store, at=at) == dt.date(2026, 2, 28)
    # The local day of the spring-forward change is 23 hours long.
    start, end = store_local_day_bounds(store, dt.date(2026, 3, 8))
    assert (end - start) == dt.timedelta(hours=23)
    assert start == dt.datetime(2026, 3, 8, 8, 0, tzinfo=dt.UTC)


def test_age_on_counts_birthdays():
    assert age_on(dt.date(2005, 3, 1), dt.date(2026, 2, 28)) == 20
    assert age_on(dt.date(2005, 3, 1), dt.date(2026, 3, 1)) == 21
    assert age_on(dt.date(2004, 2, 29), dt.date(2025, 2, 28)) == 20


def test_the_demo_prints_the_address_make_run_serves_on(capsys):
    """`make run PORT=8001` passes its address: the printed one is the one served, never a fixed 8000."""
    call_command("load_demo", url="http://127.0.0.1:8001/")
    out = capsys.readouterr().out
    assert "Open http://127.0.0.1:8001/ and sign in" in out and ":8000" not in out
    call_command("load_demo")
    assert "http://" not in capsys.readouterr().out
