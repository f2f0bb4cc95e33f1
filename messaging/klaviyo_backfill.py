"""Sending the history to Klaviyo once: every customer's profile with their marketing consent as it stands
(confirmed grants subscribed, withdrawals unsubscribed), then the completed sales with a customer as Placed
Order and Ordered Product events flagged `backfill` (recorded without firing Klaviyo's flows), in batches by
id. After each batch the cursor is saved, so a run that stops (an error, a restart) resumes after the last
whole batch; what it sends again is kept once by Klaviyo (events by unique_id; profiles and subscriptions set
the same state). Used by `manage.py klaviyo_backfill` and the settings page's button."""

import datetime as dt
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from dispensary.models import Customer, MarketingConsent, User
from messaging.consent import MARKETING, consent_states
from messaging.klaviyo_client import KlaviyoError, KlaviyoRateLimited
from messaging.klaviyo_sync import (
    Connection,
    _pause_key,
    consent_send,
    events_send,
    klaviyo_connection,
    profile_send,
    sale_events,
    sales_for_events,
)
from messaging.models import KlaviyoAccount, KlaviyoBackfill
from pos.models import LoyaltyAccount, Sale

logger = logging.getLogger(__name__)
Backfill = KlaviyoBackfill
RATE_LIMIT_WAITS = 5  # 429s in a row on one call before the run stops
STALE_SECONDS = 600  # a "running" backfill without a finished batch for this long has lost its worker
Progress = Callable[[KlaviyoBackfill], None]


class BackfillStopped(Exception):
    """The run stopped; the backfill row says why and where it will resume."""


def _customers(account: KlaviyoAccount):
    return Customer.objects.filter(organization_id=account.organization_id)


def _sales(backfill: KlaviyoBackfill):
    sales = Sale.objects.filter(
        store__organization_id=backfill.account.organization_id,
        customer__isnull=False,
        status=Sale.Status.COMPLETED,
    )
    if backfill.since:
        sales = sales.filter(local_date__gte=backfill.since)
    return sales


def klaviyo_backfill_create(
    *, account: KlaviyoAccount, since: dt.date | None, actor: User | None
) -> KlaviyoBackfill:
    """The unfinished backfill of the same `since` (to resume), or a new one with its totals counted."""
    unfinished = (
        Backfill.objects.filter(account=account, since=since)
        .exclude(status=Backfill.Status.DONE)
        .order_by("-created_at", "-id")
        .first()
    )
    if unfinished is not None:
        return unfinished
    backfill = Backfill(account=account, since=since, started_by=actor, created_at=timezone.now())
    backfill.customers_total = _customers(account).count()
    backfill.sales_total = _sales(backfill).count()
    backfill.save()
    return backfill


def _claim(backfill_id: int) -> bool:
    """Mark the backfill running, unless another run is at it (one whose last batch is recent)."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=STALE_SECONDS)
    return bool(
        Backfill.objects.filter(pk=backfill_id)
        .filter(
            Q(status__in=[Backfill.Status.PENDING, Backfill.Status.STOPPED])
            | Q(status=Backfill.Status.RUNNING, heartbeat_at__lt=stale)
        )
        .update(status=Backfill.Status.RUNNING, heartbeat_at=now, last_error="")
    )


def _patient(connection: Connection, call: Callable[[], object]):
    """A call of the backfill waits out Klaviyo's 429s (Retry-After) rather than stopping the run."""
    for _ in range(RATE_LIMIT_WAITS):
        try:
            return call()
        except KlaviyoRateLimited as error:
            time.sleep(min(error.retry_after or 1, 60))
            cache.delete(_pause_key(connection.account.pk))
    return call()


def _stop(backfill: KlaviyoBackfill, message: str) -> None:
    backfill.status = Backfill.Status.STOPPED
    backfill.last_error = message[:2000]
    backfill.save(update_fields=["status", "last_error"])
    raise BackfillStopped(message)


def _profiles_batch(connection: Connection, backfill: KlaviyoBackfill, batch: int) -> bool:
    customers = list(
        _customers(backfill.account)
        .filter(pk__gt=backfill.customer_cursor)
        .select_related("home_store")
        .order_by("pk")[:batch]
    )
    if not customers:
        return False
    ids = [customer.pk for customer in customers]
    loyalty = {
        row.customer_id: row
        for row in LoyaltyAccount.objects.select_related("tier").filter(customer_id__in=ids)
    }
    states = {channel: consent_states(ids, channel=channel) for channel in MarketingConsent.Channel.values}
    for customer in customers:
        _patient(
            connection,
            lambda customer=customer: profile_send(
                connection, customer=customer, loyalty=loyalty.get(customer.pk), source="backfill"
            ),
        )
        for channel, by_customer in states.items():
            state = by_customer[(customer.pk, MARKETING)]
            if state.since is None or state.awaiting_confirmation:
                continue  # never asked, or not confirmed: nothing to tell Klaviyo
            _patient(
                connection,
                lambda customer=customer, channel=channel: consent_send(
                    connection,
                    customer=customer,
                    channel=channel,
                    unique_id=f"backfill-consent-{customer.pk}-{channel}",
                    source="backfill",
                ),
            )
    backfill.customer_cursor = ids[-1]
    backfill.customers_done += len(customers)
    return True


def _orders_batch(connection: Connection, backfill: KlaviyoBackfill, batch: int) -> bool:
    sales = list(
        sales_for_events()
        .filter(pk__in=_sales(backfill).filter(pk__gt=backfill.sale_cursor))
        .order_by("pk")[:batch]
    )
    if not sales:
        return False
    for sale in sales:
        backfill.events_sent += _patient(
            connection,
            lambda sale=sale: events_send(
                connection,
                customer=sale.customer,
                events=sale_events(sale),
                reference=f"sale:{sale.pk}",
                source="backfill",
                backfill=True,
            ),
        )
    backfill.sale_cursor = sales[-1].pk
    backfill.sales_done += len(sales)
    return True


def klaviyo_backfill_run(
    *,
    backfill_id: int,
    batch: int | None = None,
    progress: Progress | None = None,
    max_batches: int | None = None,
) -> KlaviyoBackfill:
    """Run (or resume) the backfill to its end, batch by batch; `max_batches` stops it early (tests, a
    bounded run). Raises BackfillStopped when it cannot go on (another run holds it, sync is off, Klaviyo
    keeps failing), with the reason saved on the row."""
    batch = batch or settings.KLAVIYO["BACKFILL_BATCH"]
    backfill = Backfill.objects.select_related("account").get(pk=backfill_id)
    if backfill.status == Backfill.Status.DONE:
        return backfill
    if not _claim(backfill_id):
        raise BackfillStopped("Another run is sending this history now.")
    backfill.refresh_from_db()
    connection = klaviyo_connection(organization_id=backfill.account.organization_id)
    if connection is None:
        _stop(backfill, "Klaviyo sync is off or has no key.")
    runs = 0
    while backfill.phase != Backfill.Phase.DONE:
        if max_batches is not None and runs >= max_batches:
            backfill.status = Backfill.Status.STOPPED
            backfill.save(update_fields=["status"])
            return backfill
        step = _profiles_batch if backfill.phase == Backfill.Phase.PROFILES else _orders_batch
        try:
            more = step(connection, backfill, batch)
        except KlaviyoError as error:
            logger.warning("Klaviyo backfill %s stopped: %s", backfill.pk, error)
            _stop(backfill, f"{error} It resumes after the last whole batch when started again.")
        if not more:
            backfill.phase = (
                Backfill.Phase.ORDERS if backfill.phase == Backfill.Phase.PROFILES else Backfill.Phase.DONE
            )
        backfill.heartbeat_at = timezone.now()
        if backfill.phase == Backfill.Phase.DONE:
            backfill.status = Backfill.Status.DONE
            backfill.finished_at = backfill.heartbeat_at
        backfill.save()
        runs += 1
        if progress is not None:
            progress(backfill)
    return backfill
