"""What the send queue page shows: the queue now, each sender's configured and actual rate, the progress of the
current backlog and the recent refusals, for the stores a member works at. A fixed number of queries, whatever
the size of the queue."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Min, Q
from django.utils import timezone

from messaging.models import OutboundMessage, Sender
from messaging.queue import default_route

Status = OutboundMessage.Status
RATE_WINDOW = dt.timedelta(minutes=5)
SHOWN = 20


@dataclass(frozen=True)
class SenderRate:
    label: str
    channel: str
    store_name: str
    use_case: str
    registration: str
    rate_per_second: Decimal | None  # None: no limit
    actual_per_second: float
    active: bool


@dataclass(frozen=True)
class Backlog:
    started_at: dt.datetime | None
    total: int  # queued since the backlog started
    done: int  # of them, no longer waiting (sent, refused, failed ...)
    remaining: int
    rate_per_second: float  # the rate the estimate uses (actual, else configured)
    seconds_left: float | None

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 100


@dataclass(frozen=True)
class QueueOverview:
    now: dt.datetime
    due: int
    held: int
    retrying: int
    sending: int
    sent_last_hour: int
    held_messages: list[OutboundMessage]
    senders: list[SenderRate]
    backlog: Backlog
    refusals: list[OutboundMessage]


def queue_overview(
    *, organization_id: int, store_ids: list[int], now: dt.datetime | None = None
) -> QueueOverview:
    now = now or timezone.now()
    messages = OutboundMessage.objects.filter(organization_id=organization_id, store_id__in=store_ids)
    waiting = Q(status=Status.QUEUED)
    later = waiting & Q(send_after__gt=now)
    held_filter = later & ~Q(gate_reasons=[])
    counts = messages.aggregate(
        due=Count("pk", filter=waiting & (Q(send_after__isnull=True) | Q(send_after__lte=now))),
        held=Count("pk", filter=held_filter),
        later=Count("pk", filter=later),
        sending=Count("pk", filter=Q(status=Status.SENDING)),
        sent_last_hour=Count("pk", filter=Q(sent_at__gte=now - dt.timedelta(hours=1))),
        backlog_start=Min("created_at", filter=Q(status__in=[Status.QUEUED, Status.SENDING])),
    )
    held_messages = list(
        messages.filter(held_filter)
        .select_related("store")
        .only("pk", "channel", "to", "purpose", "send_after", "gate_reasons", "store__name")
        .order_by("send_after", "pk")[:SHOWN]
    )
    senders = list(
        Sender.objects.filter(organization_id=organization_id)
        .filter(Q(store_id__in=store_ids) | Q(store__isnull=True))
        .select_related("store")
        .order_by("channel", "address", "pk")
    )
    actual = dict(
        messages.filter(sent_at__gte=now - RATE_WINDOW)
        .values_list("sender_id")
        .annotate(sent=Count("pk"))
        .values_list("sender_id", "sent")
    )
    window = RATE_WINDOW.total_seconds()
    rates = [
        SenderRate(
            label=f"{sender.display_name or sender.address}",
            channel=sender.get_channel_display(),
            store_name=sender.store.name if sender.store else "Every store",
            use_case=sender.get_use_case_display(),
            registration=sender.get_registration_display(),
            rate_per_second=sender.rate_per_second,
            actual_per_second=actual.get(sender.pk, 0) / window,
            active=sender.active,
        )
        for sender in senders
    ]
    if actual.get(None):
        rates.append(
            SenderRate(
                label="The default sender (settings)",
                channel="Text or email",
                store_name="Every store",
                use_case="Any",
                registration="—",
                rate_per_second=default_route(OutboundMessage.Channel.SMS).rate or None,
                actual_per_second=actual[None] / window,
                active=True,
            )
        )
    started = counts["backlog_start"]
    if started is not None:
        progress = messages.filter(created_at__gte=started).aggregate(
            total=Count("pk"), remaining=Count("pk", filter=Q(status__in=[Status.QUEUED, Status.SENDING]))
        )
    else:
        progress = {"total": 0, "remaining": 0}
    actual_rate = sum(actual.values()) / window
    configured = float(sum((sender.rate_per_second for sender in senders if sender.active), Decimal(0)))
    rate = actual_rate or configured
    remaining = progress["remaining"]
    backlog = Backlog(
        started_at=started,
        total=progress["total"],
        done=progress["total"] - remaining,
        remaining=remaining,
        rate_per_second=rate,
        seconds_left=(remaining / rate) if rate and remaining else (0 if not remaining else None),
    )
    refusals = list(
        messages.filter(status=Status.REFUSED, status_changed_at__gte=now - dt.timedelta(days=1))
        .select_related("store")
        .only(
            "pk", "channel", "to", "purpose", "category", "gate_reasons", "status_changed_at", "store__name"
        )
        .order_by("-status_changed_at", "-pk")[:SHOWN]
    )
    return QueueOverview(
        now=now,
        due=counts["due"],
        held=counts["held"],
        retrying=counts["later"] - counts["held"],
        sending=counts["sending"],
        sent_last_hour=counts["sent_last_hour"],
        held_messages=held_messages,
        senders=rates,
        backlog=backlog,
        refusals=refusals,
    )
