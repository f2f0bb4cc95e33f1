"""Reads of the check-in queue: the store's live queue with wait times, the pickup orders due today, and the
minimum age the door checks. Each read is a fixed number of queries, however long the queue."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.utils import timezone

from dispensary.clock import store_local_date, store_local_day_bounds
from dispensary.models import Customer, Organization, Store
from pos.models import Fulfilment, PickupOrder, QueueEntry, Register

LIVE = (QueueEntry.Status.WAITING, QueueEntry.Status.SERVING)


def _minutes(delta: dt.timedelta) -> int:
    return max(int(delta.total_seconds() // 60), 0)


@dataclass(frozen=True)
class QueueRow:
    entry: QueueEntry
    position: int | None  # 1 for the next customer; None while being served
    waited_minutes: int  # since check-in (until called, for those being served)
    estimated_minutes: int | None  # what is left of today's average wait; None before anyone was served
    serving_minutes: int | None = None  # since called, for those being served


@dataclass(frozen=True)
class QueueBoard:
    local_date: dt.date
    waiting: list[QueueRow]
    serving: list[QueueRow]
    average_wait_minutes: int | None  # check-in to call, over today's called entries
    called_today: int

    @property
    def next_entry(self) -> QueueEntry | None:
        return self.waiting[0].entry if self.waiting else None


def queue_board(*, store: Store, now: dt.datetime | None = None) -> QueueBoard:
    """Today's waiting and serving entries of the store, oldest first, in two queries."""
    now = now or timezone.now()
    today = store_local_date(store, at=now)
    live = list(
        QueueEntry.objects.filter(store=store, local_date=today, status__in=LIVE)
        .select_related("register", "served_by")
        .order_by("checked_in_at", "id")
    )
    called = QueueEntry.objects.filter(store=store, local_date=today, called_at__isnull=False).values_list(
        "checked_in_at", "called_at"
    )
    waits = [called_at - checked_in_at for checked_in_at, called_at in called]
    average = _minutes(sum(waits, dt.timedelta()) / len(waits)) if waits else None
    waiting, serving = [], []
    for entry in live:
        if entry.status == QueueEntry.Status.SERVING:
            waited = _minutes(entry.called_at - entry.checked_in_at)
            serving.append(QueueRow(entry, None, waited, None, _minutes(now - entry.called_at)))
            continue
        waited = _minutes(now - entry.checked_in_at)
        estimate = None if average is None else max(average - waited, 1)
        waiting.append(QueueRow(entry, len(waiting) + 1, waited, estimate))
    serving.sort(key=lambda row: (row.entry.called_at, row.entry.pk))
    return QueueBoard(
        local_date=today,
        waiting=waiting,
        serving=serving,
        average_wait_minutes=average,
        called_today=len(waits),
    )


def queue_entry_get(*, store: Store, entry_id: int) -> QueueEntry | None:
    """An entry of this store (None for another store's: the caller answers 404)."""
    return QueueEntry.objects.select_related("store__organization").filter(store=store, pk=entry_id).first()


def queue_entry_live_for(*, store: Store, customer: Customer) -> QueueEntry | None:
    """The customer's entry waiting or being served at the store today, if any."""
    return (
        QueueEntry.objects.filter(
            store=store, local_date=store_local_date(store), customer=customer, status__in=LIVE
        )
        .order_by("id")
        .first()
    )


def queue_customer_get(*, organization: Organization, customer_id: int) -> Customer | None:
    """A customer of the organization (None for anyone else's)."""
    return Customer.objects.filter(organization=organization, pk=customer_id).first()


def pickup_arrival_list(
    *, store: Store, now: dt.datetime | None = None, limit: int = 50
) -> list[PickupOrder]:
    """Reserved pickup orders the door may see arrive today: not expired, and due before tonight's close of
    the local day (or with no time given), soonest first and those without a time last. Each carries `line_count`."""
    now = now or timezone.now()
    _, end_of_day = store_local_day_bounds(store, store_local_date(store, at=now))
    return list(
        PickupOrder.objects.filter(
            store=store, fulfilment=Fulfilment.PICKUP, status=PickupOrder.Status.RESERVED, expires_at__gt=now
        )
        .filter(Q(pickup_after__isnull=True) | Q(pickup_after__lt=end_of_day))
        .select_related("customer")
        .annotate(line_count=Count("lines"))
        .order_by(F("pickup_after").asc(nulls_last=True), "placed_at", "id")[:limit]
    )


def pickup_arrival_get(*, store: Store, order_id: int) -> PickupOrder | None:
    """A pickup order of this store (None for another store's, or for a delivery order, which never arrives at
    the door: the caller answers 404)."""
    return (
        PickupOrder.objects.select_related("customer")
        .filter(store=store, pk=order_id, fulfilment=Fulfilment.PICKUP)
        .first()
    )


def queue_register_list(*, store: Store) -> list[Register]:
    return list(Register.objects.filter(store=store, active=True).order_by("name", "id"))
