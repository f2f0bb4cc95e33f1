"""Deliverability for managers (issue 14, part 8): how the messages of the stores a member works at went over a
period of local days, by day, store, channel, error code and the gate's reasons.

The rules, in plain words (the page says the same):
- a message counts on the local day (in its store's zone) it was queued; a message without a store counts for
  the customer's home store; one with neither counts nowhere;
- sent: handed to the provider (it then delivered, did not, or failed); refused: the gate said no; messages still
  waiting or being sent, and those too late to be useful, are not sent;
- delivery rate and failure rate (failed and not delivered) are over the messages sent whose outcome was
  reported; those the carrier has not reported on yet are counted apart ("awaiting a report");
- opt-outs are STOP replies plus marketing consent withdrawn otherwise (the counter, a link, staff): a STOP also
  writes its withdrawals to the ledger (source "keyword"), which are not counted twice; the rate is over sent;
- bounces and complaints are the suppressions they caused, counted by the message that caused them; their rates
  are over the emails sent.

Every figure is aggregated in the database in a fixed number of queries (five), grouped by store and UTC hour,
then put in each store's local days here (exact for zones a whole number of hours from UTC, as every US zone)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Count
from django.db.models.functions import Coalesce, TruncHour

from dispensary.clock import store_local_day_bounds
from dispensary.models import MarketingConsent, Store
from messaging.error_codes import error_code_words
from messaging.models import Channel, InboundMessage, OutboundMessage, Suppression

Status = OutboundMessage.Status
SENT_STATUSES = (Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED)
FAILED_STATUSES = (Status.UNDELIVERED, Status.FAILED)
FILTERED = "30007"
CHANNEL_LABELS = dict(Channel.choices)

# The gate's reasons ("code: words"), by their code.
REFUSAL_WORDS = {
    "no_consent": "No consent for this purpose and channel",
    "suppressed": "The address is suppressed (STOP, bounce, complaint, invalid)",
    "quiet_hours": "Quiet hours in the recipient's time zone",
    "frequency_cap": "The state's limit of messages on the same subject",
    "smart_sending": "Another marketing message went out shortly before",
    "sender": "No sender registered for this kind of message",
    "no_sender": "No sender registered for this kind of message",
    "age": "The customer did not affirm being 21 or older",
}


@dataclass(frozen=True)
class DeliverabilityFilters:
    stores: tuple[Store, ...]  # the stores counted: the one chosen, or every store the member works at
    start: dt.date  # local days, both included
    end: dt.date
    channel: str = ""  # "sms", "email" or "" for both
    store: Store | None = None  # the one chosen, None for all


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


@dataclass
class Counts:
    sent: int = 0
    delivered: int = 0
    failed: int = 0  # failed or not delivered
    awaiting: int = 0  # sent, no outcome reported yet
    refused: int = 0
    opt_outs: int = 0
    bounces: int = 0
    complaints: int = 0
    emails_sent: int = 0
    texts_sent: int = 0
    filtered: int = 0  # texts the carriers filtered (30007)

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def delivery_rate(self) -> float | None:
        return _rate(self.delivered, self.delivered + self.failed)

    @property
    def failure_rate(self) -> float | None:
        return _rate(self.failed, self.delivered + self.failed)

    @property
    def opt_out_rate(self) -> float | None:
        return _rate(self.opt_outs, self.sent)

    @property
    def bounce_rate(self) -> float | None:
        return _rate(self.bounces, self.emails_sent)

    @property
    def complaint_rate(self) -> float | None:
        return _rate(self.complaints, self.emails_sent)

    @property
    def filtered_rate(self) -> float | None:
        return _rate(self.filtered, self.texts_sent)


@dataclass(frozen=True)
class ErrorRow:
    code: str
    words: str
    channel: str
    messages: int
    share: float | None  # of the messages sent on the channel, in %


@dataclass(frozen=True)
class RefusalRow:
    code: str
    words: str
    messages: int


@dataclass
class Deliverability:
    filters: DeliverabilityFilters
    total: Counts = field(default_factory=Counts)
    days: list[tuple[dt.date, Counts]] = field(default_factory=list)
    stores: list[tuple[Store, Counts]] = field(default_factory=list)
    channels: list[tuple[str, Counts]] = field(default_factory=list)
    error_codes: list[ErrorRow] = field(default_factory=list)
    refusals: list[RefusalRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        total = self.total
        return not (
            total.sent
            or total.refused
            or total.opt_outs
            or total.bounces
            or total.complaints
            or self.error_codes
        )


# --- Reading ------------------------------------------------------------------------------------------------


class _Periods:
    """Each store's period in UTC, and the local day of a UTC hour in the store's zone."""

    def __init__(self, stores: Sequence[Store], start: dt.date, end: dt.date):
        self.stores = {store.pk: store for store in stores}
        self.start, self.end = start, end
        bounds = [
            (store_local_day_bounds(store, start)[0], store_local_day_bounds(store, end)[1])
            for store in stores
        ]
        self.low = min(low for low, _ in bounds)
        self.high = max(high for _, high in bounds)

    def day(self, store_id: int, hour: dt.datetime) -> dt.date | None:
        store = self.stores.get(store_id)
        if store is None or hour is None:
            return None
        day = hour.astimezone(store.tz).date()
        return day if self.start <= day <= self.end else None


def _hour(name: str):
    return TruncHour(name, tzinfo=dt.UTC)


def message_rows(
    *, stores: Sequence[Store], low: dt.datetime, high: dt.datetime, channel: str = ""
) -> Iterable[dict]:
    """The stores' messages queued in [low, high), counted by store, channel, UTC hour, status and error code:
    one query. A message without a store belongs to the customer's home store."""
    rows = OutboundMessage.objects.filter(
        organization_id__in={store.organization_id for store in stores},
        created_at__gte=low,
        created_at__lt=high,
    ).annotate(store_key=Coalesce("store_id", "customer__home_store_id"), hour=_hour("created_at"))
    rows = rows.filter(store_key__in=[store.pk for store in stores])
    if channel:
        rows = rows.filter(channel=channel)
    return (
        rows.values("store_key", "channel", "hour", "status", "error_code")
        .annotate(messages=Count("id"))
        .order_by()
    )


def suppression_rows(
    *, stores: Sequence[Store], low: dt.datetime, high: dt.datetime, channel: str = ""
) -> Iterable[dict]:
    """Bounces and complaints in [low, high), by the store of the message that caused them: one query."""
    rows = (
        Suppression.objects.filter(
            organization_id__in={store.organization_id for store in stores},
            reason__in=[Suppression.Reason.BOUNCED, Suppression.Reason.COMPLAINED],
            created_at__gte=low,
            created_at__lt=high,
        )
        .annotate(
            store_key=Coalesce("message__store_id", "message__customer__home_store_id"),
            hour=_hour("created_at"),
        )
        .filter(store_key__in=[store.pk for store in stores])
    )
    if channel:
        rows = rows.filter(channel=channel)
    return rows.values("store_key", "channel", "hour", "reason").annotate(count=Count("id")).order_by()


def deliverability_get(filters: DeliverabilityFilters) -> Deliverability:
    """The figures of the page, in five queries whatever the number of messages."""
    report = Deliverability(filters=filters)
    stores = list(filters.stores)
    if not stores:
        return report
    periods = _Periods(stores, filters.start, filters.end)
    channel = filters.channel
    store_ids = [store.pk for store in stores]
    organizations = {store.organization_id for store in stores}
    days: dict[dt.date, Counts] = defaultdict(Counts)
    by_store: dict[int, Counts] = defaultdict(Counts)
    by_channel: dict[str, Counts] = defaultdict(Counts)
    errors: dict[tuple[str, str], int] = defaultdict(int)

    def count(store_id: int, day: dt.date, on_channel: str, counts: Counts) -> None:
        days[day].add(counts)
        by_store[store_id].add(counts)
        by_channel[on_channel].add(counts)
        report.total.add(counts)

    for row in message_rows(stores=stores, low=periods.low, high=periods.high, channel=channel):
        day = periods.day(row["store_key"], row["hour"])
        if day is None:
            continue
        status, number = row["status"], row["messages"]
        counts = Counts()
        if status in SENT_STATUSES:
            counts.sent = number
            if row["channel"] == Channel.EMAIL:
                counts.emails_sent = number
            else:
                counts.texts_sent = number
        if status == Status.DELIVERED:
            counts.delivered = number
        if status == Status.SENT:
            counts.awaiting = number
        if status in FAILED_STATUSES:
            counts.failed = number
            if row["channel"] == Channel.SMS and row["error_code"] == FILTERED:
                counts.filtered = number
        if status == Status.REFUSED:
            counts.refused = number
        if row["error_code"] and status in FAILED_STATUSES:
            errors[(row["error_code"], row["channel"])] += number
        count(row["store_key"], day, row["channel"], counts)

    # The gate's reasons of the refused messages: one query, grouped by the list of reasons.
    refused = (
        OutboundMessage.objects.filter(
            organization_id__in=organizations,
            status=Status.REFUSED,
            created_at__gte=periods.low,
            created_at__lt=periods.high,
        )
        .annotate(store_key=Coalesce("store_id", "customer__home_store_id"), hour=_hour("created_at"))
        .filter(store_key__in=store_ids)
    )
    if channel:
        refused = refused.filter(channel=channel)
    reasons: dict[str, int] = defaultdict(int)
    examples: dict[str, str] = {}
    for row in refused.values("store_key", "hour", "gate_reasons").annotate(messages=Count("id")).order_by():
        if periods.day(row["store_key"], row["hour"]) is None:
            continue
        for reason in row["gate_reasons"] or ["unknown: No reason recorded"]:
            code, _, words = str(reason).partition(":")
            code = code.strip() or "unknown"
            reasons[code] += row["messages"]
            examples.setdefault(code, words.strip())
    report.refusals = [
        RefusalRow(code, REFUSAL_WORDS.get(code) or examples.get(code) or code, number)
        for code, number in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]

    # Opt-outs: STOP replies (texts), and marketing consent withdrawn other than by a STOP.
    if channel in ("", Channel.SMS):
        stops = (
            InboundMessage.objects.filter(
                organization_id__in=organizations,
                kind=InboundMessage.Kind.STOP,
                received_at__gte=periods.low,
                received_at__lt=periods.high,
            )
            .annotate(store_key=Coalesce("store_id", "customer__home_store_id"), hour=_hour("received_at"))
            .filter(store_key__in=store_ids)
            .values("store_key", "hour")
            .annotate(count=Count("id"))
            .order_by()
        )
        for row in stops:
            day = periods.day(row["store_key"], row["hour"])
            if day is not None:
                count(row["store_key"], day, Channel.SMS, Counts(opt_outs=row["count"]))
    withdrawals = (
        MarketingConsent.objects.filter(
            customer__organization_id__in=organizations,
            granted=False,
            purpose=MarketingConsent.Purpose.MARKETING,
            recorded_at__gte=periods.low,
            recorded_at__lt=periods.high,
        )
        .exclude(source="keyword")
        .annotate(store_key=Coalesce("store_id", "customer__home_store_id"), hour=_hour("recorded_at"))
        .filter(store_key__in=store_ids)
    )
    if channel:
        withdrawals = withdrawals.filter(channel=channel)
    for row in withdrawals.values("store_key", "channel", "hour").annotate(count=Count("id")).order_by():
        day = periods.day(row["store_key"], row["hour"])
        if day is not None:
            count(row["store_key"], day, row["channel"], Counts(opt_outs=row["count"]))

    for row in suppression_rows(stores=stores, low=periods.low, high=periods.high, channel=channel):
        day = periods.day(row["store_key"], row["hour"])
        if day is None:
            continue
        bounced = row["reason"] == Suppression.Reason.BOUNCED
        counts = Counts(bounces=row["count"]) if bounced else Counts(complaints=row["count"])
        count(row["store_key"], day, row["channel"], counts)

    day = filters.start
    while day <= filters.end:
        report.days.append((day, days.get(day, Counts())))
        day += dt.timedelta(days=1)
    report.stores = [(store, by_store.get(store.pk, Counts())) for store in stores]
    shown = [channel] if channel else [Channel.SMS, Channel.EMAIL]
    report.channels = [(name, by_channel.get(name, Counts())) for name in shown]
    sent_on = {name: counts.sent for name, counts in by_channel.items()}
    report.error_codes = [
        ErrorRow(code, error_code_words(code), on_channel, number, _rate(number, sent_on.get(on_channel, 0)))
        for (code, on_channel), number in sorted(errors.items(), key=lambda item: (-item[1], item[0]))
    ]
    return report


# --- Messages -----------------------------------------------------------------------------------------------


def message_scope(*, stores: Sequence[Store]):
    """The messages a member may read: those of the stores they work at (a message without a store: its
    customer's home store)."""
    return (
        OutboundMessage.objects.filter(organization_id__in={store.organization_id for store in stores})
        .annotate(store_key=Coalesce("store_id", "customer__home_store_id"))
        .filter(store_key__in=[store.pk for store in stores])
    )


def message_list(
    *, stores: Sequence[Store], status: str = "", channel: str = "", store: Store | None = None, to: str = ""
):
    """The messages of the stores, newest first, with their store and customer (one query per page)."""
    rows = message_scope(stores=stores).select_related("store", "customer")
    if status:
        rows = rows.filter(status=status)
    if channel:
        rows = rows.filter(channel=channel)
    if store is not None:
        rows = rows.filter(store_key=store.pk)
    if to:
        rows = rows.filter(to=to)
    return rows.order_by("-created_at", "-id")


def message_get(*, stores: Sequence[Store], message_id: int) -> OutboundMessage | None:
    """One message of the stores with its timeline (two queries), or None."""
    return (
        message_scope(stores=stores)
        .select_related("store", "customer", "sender")
        .prefetch_related("status_events")
        .filter(pk=message_id)
        .first()
    )
