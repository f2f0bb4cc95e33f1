"""Deliverability alerts: raised once per kind, store and day when carriers filter texts (30007), emails bounce
or are marked as spam above the thresholds, with enough messages that day; acknowledged by a manager."""

import datetime as dt

import pytest

from dispensary.models import AuditRecord
from dispensary.schedule import BEAT_SCHEDULE
from messaging.alerts import deliverability_alerts_raise
from messaging.models import MessagingAlert, Suppression
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.messaging.deliverability_fixtures import message

pytestmark = pytest.mark.django_db
# 3 PM in San Francisco on a day of standard time; the store's day began at 08:00 UTC.
NOW = dt.datetime(2026, 1, 20, 23, 0, tzinfo=dt.UTC)
MORNING = dt.datetime(2026, 1, 20, 18, 0, tzinfo=dt.UTC)
YESTERDAY = dt.datetime(2026, 1, 20, 7, 30, tzinfo=dt.UTC)  # 11:30 PM on Jan 19, local


@pytest.fixture
def store(db, clock):
    clock.move_to(NOW)
    return StoreFactory(name="Mission", code="mission")


def texts(store, count, *, filtered=0, at=MORNING):
    for index in range(count):
        code = "30007" if index < filtered else ""
        message(store, "sms", "undelivered" if code else "delivered", at, error_code=code)


def emails(store, count, *, bounced=0, complained=0, at=MORNING):
    for index in range(count):
        row = message(store, "email", "delivered", at, to=f"person{index}@example.com")
        reason = "bounced" if index < bounced else "complained" if index < bounced + complained else ""
        if reason:
            Suppression.objects.create(
                organization_id=store.organization_id,
                channel="email",
                address=row.to,
                reason=reason,
                message=row,
                created_at=at,
            )


def test_carrier_filtering_above_the_rate_raises_one_alert_a_day(store):
    texts(store, 40, filtered=1)  # 2.5% > 2%
    assert deliverability_alerts_raise(now=NOW) == 1
    alert = MessagingAlert.objects.get()
    assert (alert.kind, alert.scope, alert.day, alert.store) == (
        "filtering",
        "mission",
        dt.date(2026, 1, 20),
        store,
    )
    assert alert.details == {"count": 1, "messages": 40, "rate": 0.025}
    assert alert.message == (
        "Carriers filtered 1 of 40 texts Mission sent on Jan 20 as spam (30007; 2.5%, above 2%). "
        "Check the wording and links of recent texts and the sender's registration."
    )
    texts(store, 10, filtered=5)
    assert deliverability_alerts_raise(now=NOW + dt.timedelta(minutes=10)) == 0
    assert MessagingAlert.objects.count() == 1


def test_at_the_rate_or_with_too_few_messages_nothing_is_raised(store, settings):
    texts(store, 50, filtered=1)  # 2%: not above
    emails(store, 19, bounced=5)  # 19 emails: too few to prove anything
    assert deliverability_alerts_raise(now=NOW) == 0
    settings.MESSAGING_ALERT_MIN_MESSAGES = 10
    assert deliverability_alerts_raise(now=NOW) == 1
    assert MessagingAlert.objects.get().kind == "bounces"
    settings.MESSAGING_FILTERING_ALERT_RATE = 0.01
    assert deliverability_alerts_raise(now=NOW) == 1
    assert sorted(MessagingAlert.objects.values_list("kind", flat=True)) == ["bounces", "filtering"]


def test_only_the_stores_day_so_far_counts(store):
    texts(store, 40, filtered=10, at=YESTERDAY)  # the day before, in the store's zone
    texts(store, 20)
    assert deliverability_alerts_raise(now=NOW) == 0


def test_bounces_and_complaints(store):
    emails(store, 40, bounced=3, complained=1)  # 7.5% > 5%; 2.5% > 0.1%
    assert deliverability_alerts_raise(now=NOW) == 2
    assert sorted(MessagingAlert.objects.values_list("kind", flat=True)) == ["bounces", "complaints"]
    assert deliverability_alerts_raise(now=NOW) == 0


def test_the_next_day_raises_again(store, clock):
    texts(store, 20, filtered=1)
    assert deliverability_alerts_raise(now=NOW) == 1
    tomorrow = NOW + dt.timedelta(days=1)
    clock.move_to(tomorrow)
    texts(store, 20, filtered=1, at=tomorrow - dt.timedelta(hours=1))
    assert deliverability_alerts_raise() == 1
    assert sorted(MessagingAlert.objects.values_list("day", flat=True)) == [
        dt.date(2026, 1, 20),
        dt.date(2026, 1, 21),
    ]


def test_each_store_and_organization_on_its_own(store):
    other = StoreFactory(organization=store.organization, code="riverside", time_zone="America/Detroit")
    foreign = StoreFactory(code="mission")  # the same code, another organization
    for each in (store, other, foreign):
        texts(each, 20, filtered=2)
    assert deliverability_alerts_raise(now=NOW) == 3
    assert sorted(MessagingAlert.objects.values_list("scope", flat=True)) == [
        "mission",
        "mission",
        "riverside",
    ]


def test_the_task_runs_every_ten_minutes():
    assert BEAT_SCHEDULE["messaging-deliverability-alerts"] == {
        "task": "messaging.tasks.deliverability_alerts_raise_task",
        "schedule": 600,
    }


def test_a_manager_acknowledges_an_alert_on_the_page(client, store):
    manager = UserFactory(organization=store.organization, roles=["manager"], stores=[store])
    texts(store, 20, filtered=1)
    deliverability_alerts_raise(now=NOW)
    alert = MessagingAlert.objects.get()
    client.force_login(manager)
    page = client.get("/messaging/deliverability/")
    assert page.context["alerts"] == [alert]
    assert f"/messaging/alerts/{alert.pk}/acknowledge/" in page.content.decode()
    assert client.get("/dashboard/").context["messaging_alerts"] == [alert]
    url = f"/messaging/alerts/{alert.pk}/acknowledge/"
    assert client.get(url).status_code == 405
    response = client.post(url, {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/messaging/deliverability/"
    alert.refresh_from_db()
    assert alert.acknowledged_by == manager and alert.acknowledged_at == NOW
    assert AuditRecord.objects.filter(action="messaging.alert_acknowledged").count() == 1
    # Once: again changes nothing; it is no longer shown.
    client.post(url)
    assert AuditRecord.objects.filter(action="messaging.alert_acknowledged").count() == 1
    assert client.get("/messaging/deliverability/").context["alerts"] == []


def test_only_managers_of_the_store_acknowledge(client, store):
    texts(store, 20, filtered=1)
    deliverability_alerts_raise(now=NOW)
    alert = MessagingAlert.objects.get()
    url = f"/messaging/alerts/{alert.pk}/acknowledge/"
    budtender = UserFactory(organization=store.organization, roles=["budtender"], stores=[store])
    client.force_login(budtender)
    assert client.post(url).status_code == 403
    elsewhere = StoreFactory(organization=store.organization)
    client.force_login(UserFactory(organization=store.organization, roles=["manager"], stores=[elsewhere]))
    assert client.post(url).status_code == 404
    foreign = StoreFactory(organization=OrganizationFactory())
    client.force_login(UserFactory(organization=foreign.organization, roles=["manager"], stores=[foreign]))
    assert client.post(url).status_code == 404
    assert client.post("/messaging/alerts/99999999999999999999999/acknowledge/").status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


@pytest.mark.parametrize("target", ["1e11", "9999-12-31", "//evil.example/", "https://evil.example/x", ""])
def test_a_strange_return_address_goes_to_the_page(client, store, target):
    manager = UserFactory(organization=store.organization, roles=["manager"], stores=[store])
    texts(store, 20, filtered=1)
    deliverability_alerts_raise(now=NOW)
    alert = MessagingAlert.objects.get()
    client.force_login(manager)
    response = client.post(f"/messaging/alerts/{alert.pk}/acknowledge/", {"next": target})
    assert (response.status_code, response["Location"]) == (302, "/messaging/deliverability/")
    response = client.post(f"/messaging/alerts/{alert.pk}/acknowledge/", {"next": "/dashboard/"})
    assert response["Location"] == "/dashboard/"
