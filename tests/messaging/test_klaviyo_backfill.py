"""The history sent to Klaviyo once: profiles (with confirmed consent), then Placed Order and Ordered Product
events flagged as backfill; in batches, resumable after a stop, never doubling an event (exact counts in the
fake), with a progress bar on stderr."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from dispensary.consent import CURRENT_VERSIONS
from dispensary.services import marketing_consent_record
from messaging.klaviyo_backfill import BackfillStopped, klaviyo_backfill_create, klaviyo_backfill_run
from messaging.models import KlaviyoBackfill, KlaviyoSyncRecord
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.factories import CustomerFactory
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.UTC)


@pytest.fixture
def fake(klaviyo_fake):
    return klaviyo_fake


@pytest.fixture
def history(store, register, budtender, product, package, adult_id, manager, clock):
    """Three customers (the first with confirmed email consent, the second awaiting SMS confirmation), and
    two sales of one line each (customers 1 and 2)."""
    clock.move_to(NOON)
    customers = [
        CustomerFactory(organization=store.organization, email=f"c{n}@example.com", home_store=store)
        for n in range(3)
    ]
    marketing_consent_record(
        customer=customers[0],
        channel="email",
        granted=True,
        disclosure_version=CURRENT_VERSIONS["email"],
        staff=manager,
        store=store,
        age_affirmed=True,
    )
    marketing_consent_record(
        customer=customers[1],
        channel="sms",
        granted=True,
        disclosure_version=CURRENT_VERSIONS["sms"],
        staff=manager,
        store=store,
        age_affirmed=True,
    )
    sales = [
        checkout(
            store=store,
            register=register,
            staff=budtender,
            customer=customer,
            customer_type="adult_use",
            lines=[QuoteLineInput(product.pk, D("1"), package_id=package.pk)],
            tenders=[TenderInput("cash", D("100"))],
            idempotency_key=f"history-{n}",
            id_verification=adult_id(customer),
        )
        for n, customer in enumerate(customers[:2])
    ]
    return customers, sales


def summary(fake):
    return (
        len(fake.profiles),
        len(fake.events_of("Placed Order")),
        len(fake.events_of("Ordered Product")),
        [(job["kind"], job["list"]) for job in fake.jobs],
    )


def test_backfill_stops_and_resumes_where_it_stopped_with_exact_counts(klaviyo, fake, history, organization):
    customers, sales = history
    backfill = klaviyo_backfill_create(account=klaviyo, since=None, actor=None)
    assert (backfill.customers_total, backfill.sales_total) == (3, 2)

    backfill = klaviyo_backfill_run(backfill_id=backfill.pk, batch=1, max_batches=2)
    assert (backfill.status, backfill.phase, backfill.customer_cursor, backfill.customers_done) == (
        "stopped",
        "profiles",
        customers[1].pk,
        2,
    )
    assert summary(fake) == (2, 0, 0, [("subscribe", "EMAILS1")])  # the awaiting SMS grant is not sent

    stderr, stdout = io.StringIO(), io.StringIO()
    call_command("klaviyo_backfill", organization=organization.slug, batch=1, stderr=stderr, stdout=stdout)
    assert f"Resuming backfill {backfill.pk} after customer {customers[1].pk}, sale 0." in stderr.getvalue()
    assert "Profiles [##############################] 3/3 (100%)" in stderr.getvalue()
    assert "Orders   [###############...............] 1/2 (50%) events 2" in stderr.getvalue()
    assert "Orders   [##############################] 2/2 (100%) events 4" in stderr.getvalue()
    assert stdout.getvalue().strip() == "Done: 3 profiles, 2 sales, 4 events sent."
    assert summary(fake) == (3, 2, 2, [("subscribe", "EMAILS1")])
    assert {event["unique_id"] for event in fake.events} == {
        f"sale-{sales[0].pk}",
        f"sale-{sales[0].pk}-line-{sales[0].lines.get().pk}",
        f"sale-{sales[1].pk}",
        f"sale-{sales[1].pk}-line-{sales[1].lines.get().pk}",
    }
    assert all(event["backfill"] for event in fake.events)  # recorded without firing Klaviyo's flows
    backfill.refresh_from_db()
    assert (backfill.status, backfill.phase, backfill.percent) == ("done", "done", 100)

    # Sent again from the start: Klaviyo keeps each event once, profiles and subscriptions are set again.
    call_command(
        "klaviyo_backfill", organization=organization.slug, stderr=io.StringIO(), stdout=io.StringIO()
    )
    assert summary(fake) == (3, 2, 2, [("subscribe", "EMAILS1"), ("subscribe", "EMAILS1")])
    assert KlaviyoBackfill.objects.count() == 2
    assert KlaviyoSyncRecord.objects.filter(kind="event", status="sent").count() == 4


def test_a_failure_mid_batch_stops_the_run_and_the_rerun_never_doubles(klaviyo, fake, history, organization):
    customers, sales = history
    backfill = klaviyo_backfill_create(account=klaviyo, since=None, actor=None)
    backfill = klaviyo_backfill_run(backfill_id=backfill.pk, batch=1, max_batches=4)  # the profiles phase
    assert backfill.phase == "orders"
    fake.faults = ["", "lose"]  # the first sale's Placed Order answered; its line applied, the answer lost
    with pytest.raises(CommandError, match="Stopped: Event: no answer from Klaviyo"):
        call_command(
            "klaviyo_backfill", organization=organization.slug, stderr=io.StringIO(), stdout=io.StringIO()
        )
    backfill.refresh_from_db()
    assert (backfill.status, backfill.sale_cursor, backfill.events_sent) == ("stopped", 0, 0)
    assert "resumes after the last whole batch" in backfill.last_error
    assert summary(fake)[:3] == (3, 1, 1)

    call_command(
        "klaviyo_backfill", organization=organization.slug, stderr=io.StringIO(), stdout=io.StringIO()
    )
    assert summary(fake)[:3] == (3, 2, 2)
    assert [answer for path, answer in fake.requests if path == "/api/events"] == [
        "202",
        "lost",
        "202",
        "202",
        "202",
        "202",
    ]
    backfill.refresh_from_db()
    assert (backfill.status, backfill.sales_done, backfill.events_sent) == ("done", 2, 4)


def test_since_limits_the_sales_and_a_429_is_waited_out(klaviyo, fake, history, organization):
    customers, sales = history
    fake.retry_after = 1
    fake.faults = ["429"]
    call_command(
        "klaviyo_backfill",
        organization=organization.slug,
        since="2026-03-11",
        stderr=io.StringIO(),
        stdout=io.StringIO(),
    )
    assert summary(fake)[:3] == (3, 0, 0)  # the sales were on the 10th, local time
    assert fake.requests[0] == ("/api/profile-import", "429")


def test_the_command_refuses_bad_input(klaviyo, organization):
    with pytest.raises(CommandError, match="No organization 'nope'"):
        call_command("klaviyo_backfill", organization="nope")
    with pytest.raises(CommandError, match="--since must be a day"):
        call_command("klaviyo_backfill", organization=organization.slug, since="last week")
    assert KlaviyoBackfill.objects.count() == 0


def test_two_runs_never_send_the_same_backfill_at_once(klaviyo, fake, history):
    backfill = klaviyo_backfill_create(account=klaviyo, since=None, actor=None)
    KlaviyoBackfill.objects.filter(pk=backfill.pk).update(status="running", heartbeat_at=NOON)
    with pytest.raises(BackfillStopped, match="Another run"):
        klaviyo_backfill_run(backfill_id=backfill.pk)
    assert fake.requests == []
