"""Looping alerts: the organization's open alerts with both visits, acknowledged with a note."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.identity import id_verify
from compliance.models import LoopingAlert
from dispensary.models import AuditRecord
from tests.compliance.test_idcards import CALIFORNIA_V8
from tests.compliance.web.conftest import HTMX
from tests.factories import CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db
ALERTS = reverse("compliance:alert_index")


@pytest.fixture
def alert(organization, store, sister_store, budtender):
    customer = CustomerFactory(organization=organization, first_name="Lena", last_name="Loop")
    id_verify(store=sister_store, staff=None, minimum_age=21, scan_text=CALIFORNIA_V8)
    result = id_verify(
        store=store, staff=budtender, minimum_age=21, scan_text=CALIFORNIA_V8, customer=customer
    )
    (alert,) = result.looping
    return alert


def acknowledge_url(alert):
    return reverse("compliance:alert_acknowledge", args=[alert.pk])


def test_anonymous_is_sent_to_login(client):
    assert client.get(ALERTS).url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["budtender", "driver"])
def test_roles_without_the_permission_are_refused(role, staff, login, alert):
    client = login(staff(role))
    assert client.get(ALERTS).status_code == 403
    assert client.post(acknowledge_url(alert), {"note": "ok"}).status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_open_alert_shows_both_visits_and_the_customer(staff, login, alert, store, sister_store, budtender):
    response = login(staff("compliance_officer")).get(ALERTS)
    body = response.content.decode()
    assert response.status_code == 200
    assert [a.pk for a in response.context["open_alerts"]] == [alert.pk]
    assert store.name in body and sister_store.name in body
    assert "Lena Loop" in body and "Sam Staff" in body and "unknown staff" in body
    assert "Acknowledge" in body


def test_acknowledge_with_a_note(staff, login, alert):
    user = staff("manager")
    response = login(user).post(acknowledge_url(alert), {"note": "Within limits at both stores."}, **HTMX)
    assert response.status_code == 200
    assert response.context["open_alerts"] == [] and [a.pk for a in response.context["acknowledged"]] == [
        alert.pk
    ]
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.note) == (user, "Within limits at both stores.")
    assert AuditRecord.objects.filter(action="looping_alert.acknowledged").count() == 1


def test_acknowledge_without_a_note_writes_nothing(staff, login, alert):
    response = login(staff("manager")).post(acknowledge_url(alert), {"note": "  "}, **HTMX)
    assert "This field is required." in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert not AuditRecord.objects.filter(action="looping_alert.acknowledged").exists()


def test_acknowledging_twice_is_refused(staff, login, alert):
    client = login(staff("manager"))
    client.post(acknowledge_url(alert), {"note": "first"})
    response = client.post(acknowledge_url(alert), {"note": "second"}, **HTMX)
    assert "already acknowledged" in response.content.decode()
    alert.refresh_from_db()
    assert alert.note == "first"


def test_another_organizations_alert_is_neither_listed_nor_found(staff, login, alert, other_organization):
    first, second = (StoreFactory(organization=other_organization) for _ in range(2))
    id_verify(store=first, staff=None, minimum_age=21, scan_text=CALIFORNIA_V8)
    (foreign,) = id_verify(store=second, staff=None, minimum_age=21, scan_text=CALIFORNIA_V8).looping
    client = login(staff("manager"))
    assert [a.pk for a in client.get(ALERTS).context["open_alerts"]] == [alert.pk]
    assert client.post(acknowledge_url(foreign), {"note": "mine?"}).status_code == 404
    assert LoopingAlert.objects.get(pk=foreign.pk).acknowledged_at is None


def test_dashboard_card_counts_open_alerts_and_failed_reports(staff, login, alert, store, queue):
    queue(store, mode="reject")
    body = login(staff("manager")).get(reverse("dashboard")).content.decode()
    assert "Compliance" in body and "1 looping alert" in body
    assert reverse("compliance:sync_index") in body


def test_dashboard_card_is_not_shown_without_the_permission(staff, login):
    body = login(staff("inventory_manager")).get(reverse("dashboard")).content.decode()
    assert 'id="stat-compliance"' not in body


def test_nav_shows_compliance_only_to_those_who_may_open_it(staff, login):
    assert (
        reverse("compliance:sync_index")
        in login(staff("compliance_officer")).get(reverse("dashboard")).content.decode()
    )
    assert (
        reverse("compliance:sync_index")
        not in login(staff("budtender")).get(reverse("customer_index")).content.decode()
    )


def test_alerts_page_query_count_does_not_grow(staff, login, alert, store, sister_store):
    client = login(staff("manager"))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ALERTS).status_code == 200
        return len(queries)

    few = count()
    for _ in range(4):
        id_verify(store=sister_store, staff=None, minimum_age=21, scan_text=CALIFORNIA_V8)
        id_verify(store=store, staff=None, minimum_age=21, scan_text=CALIFORNIA_V8)
    LoopingAlert.objects.filter(pk__in=list(LoopingAlert.objects.values_list("pk", flat=True)[:3])).update(
        note="seen", acknowledged_at="2025-01-01T00:00:00Z"
    )
    assert LoopingAlert.objects.count() > 5
    assert count() == few
