"""Deliverability alerts (issue 14, part 9): every ten minutes, each store's local day so far is checked, and an
alert is raised once per kind, store and day when carriers filter too many texts (30007), or too many emails
bounce or are marked as spam. Managers see them on the deliverability page and the dashboard and acknowledge
them.

Settings: MESSAGING_ALERT_MIN_MESSAGES (20: fewer messages on a channel prove nothing),
MESSAGING_FILTERING_ALERT_RATE (0.02), MESSAGING_BOUNCE_ALERT_RATE (0.05), MESSAGING_COMPLAINT_ALERT_RATE
(0.001): an alert is raised when the share is above the rate."""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dispensary.audit import audit_record
from dispensary.clock import store_local_date, store_local_day_bounds
from dispensary.models import Store
from messaging.deliverability import FILTERED, SENT_STATUSES, message_rows, suppression_rows
from messaging.models import Channel, MessagingAlert, Suppression

logger = logging.getLogger(__name__)
Kind = MessagingAlert.Kind


def alert_settings() -> dict:
    return {
        "min_messages": int(getattr(settings, "MESSAGING_ALERT_MIN_MESSAGES", 20)),
        "filtering": float(getattr(settings, "MESSAGING_FILTERING_ALERT_RATE", 0.02)),
        "bounces": float(getattr(settings, "MESSAGING_BOUNCE_ALERT_RATE", 0.05)),
        "complaints": float(getattr(settings, "MESSAGING_COMPLAINT_ALERT_RATE", 0.001)),
    }


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%".replace(".0%", "%") if value >= 0.01 else f"{100 * value:.2f}%"


def _words(kind: str, part: int, whole: int, rate: float, store: Store, day: dt.date) -> str:
    when = f"on {day:%b} {day.day}"
    share = f"{_percent(part / whole)}, above {_percent(rate)}"
    if kind == Kind.FILTERING:
        return (
            f"Carriers filtered {part} of {whole} texts {store.name} sent {when} as spam (30007; {share}). "
            "Check the wording and links of recent texts and the sender's registration."
        )
    if kind == Kind.BOUNCES:
        return (
            f"{part} of {whole} emails {store.name} sent {when} bounced ({share}). "
            "Check where the addresses came from; bounced addresses are no longer mailed."
        )
    return (
        f"{part} of {whole} emails {store.name} sent {when} were marked as spam ({share}). "
        "Check that every recipient asked for these emails."
    )


def deliverability_alerts_raise(
    *, now: dt.datetime | None = None, stores: Sequence[Store] | None = None
) -> int:
    """Check each active store's local day so far; raise the alerts it deserves and has not had today.
    Returns how many were raised. Three queries and one per alert raised."""
    now = now or timezone.now()
    if stores is None:
        stores = list(Store.objects.filter(is_active=True).order_by("pk"))
    if not stores:
        return 0
    limits = alert_settings()
    days = {store.pk: store_local_date(store, at=now) for store in stores}
    starts = {store.pk: store_local_day_bounds(store, days[store.pk])[0] for store in stores}
    low = min(starts.values())
    texts, filtered, emails = defaultdict(int), defaultdict(int), defaultdict(int)
    for row in message_rows(stores=stores, low=low, high=now):
        store_id = row["store_key"]
        if row["hour"] < starts[store_id] or row["status"] not in SENT_STATUSES:
            continue
        if row["channel"] == Channel.SMS:
            texts[store_id] += row["messages"]
            if row["error_code"] == FILTERED:
                filtered[store_id] += row["messages"]
        else:
            emails[store_id] += row["messages"]
    bounces, complaints = defaultdict(int), defaultdict(int)
    for row in suppression_rows(stores=stores, low=low, high=now, channel=Channel.EMAIL):
        if row["hour"] < starts[row["store_key"]]:
            continue
        target = bounces if row["reason"] == Suppression.Reason.BOUNCED else complaints
        target[row["store_key"]] += row["count"]

    raised = 0
    for store in stores:
        checks = []
        if texts[store.pk] >= limits["min_messages"]:
            checks.append((Kind.FILTERING, filtered[store.pk], texts[store.pk], limits["filtering"]))
        if emails[store.pk] >= limits["min_messages"]:
            checks.append((Kind.BOUNCES, bounces[store.pk], emails[store.pk], limits["bounces"]))
            checks.append((Kind.COMPLAINTS, complaints[store.pk], emails[store.pk], limits["complaints"]))
        for kind, part, whole, rate in checks:
            if part / whole <= rate:
                continue
            try:
                with transaction.atomic():
                    _, created = MessagingAlert.objects.get_or_create(
                        organization_id=store.organization_id,
                        scope=store.code,
                        kind=kind,
                        day=days[store.pk],
                        defaults={
                            "store": store,
                            "message": _words(kind, part, whole, rate, store, days[store.pk])[:500],
                            "details": {"count": part, "messages": whole, "rate": round(part / whole, 4)},
                        },
                    )
            except IntegrityError:  # raised meanwhile by another worker
                created = False
            if created:
                raised += 1
                logger.warning("Messaging alert %s at %s: %s of %s", kind, store.code, part, whole)
    return raised


def messaging_alerts_open(*, stores: Sequence[Store], limit: int = 20) -> list[MessagingAlert]:
    """The alerts of these stores no one acknowledged yet, newest first: one query."""
    return list(
        MessagingAlert.objects.filter(store__in=[store.pk for store in stores], acknowledged_at__isnull=True)
        .select_related("store")
        .order_by("-day", "-created_at", "-pk")[:limit]
    )


def messaging_alert_acknowledge(*, alert: MessagingAlert, actor, now: dt.datetime | None = None) -> bool:
    """Mark the alert seen (once: acknowledging again changes nothing). Returns whether it changed."""
    with transaction.atomic():
        changed = MessagingAlert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now or timezone.now(), acknowledged_by=actor
        )
        if changed:
            audit_record(
                actor=actor,
                action="messaging.alert_acknowledged",
                instance=alert,
                after={"kind": alert.kind, "day": alert.day.isoformat(), "scope": alert.scope},
                organization=alert.organization,
                store=alert.store,
            )
    return bool(changed)
