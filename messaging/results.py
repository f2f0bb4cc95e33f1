"""What marketing messages achieved, counted the same way everywhere (a flow step, a campaign and its variants,
one message): sent, delivered, opened, clicked, converted (sales credited by MessageConversion), revenue,
revenue per recipient, unsubscribes. A handful of grouped queries whatever the number of messages."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from messaging.models import MessageConversion, MessageStatusEvent, OutboundMessage, Suppression

SENT_STATUSES = (
    OutboundMessage.Status.SENT,
    OutboundMessage.Status.DELIVERED,
    OutboundMessage.Status.UNDELIVERED,
)


@dataclass
class Results:
    recipients: int = 0  # messages made (queued, whatever became of them)
    sent: int = 0
    delivered: int = 0
    refused: int = 0  # not sent: the gate's rules (consent, caps, quiet hours...) or expired
    failed: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    revenue: Decimal = field(default_factory=lambda: Decimal("0.00"))
    unsubscribed: int = 0

    @property
    def revenue_per_recipient(self) -> Decimal:
        if not self.recipients:
            return Decimal("0.00")
        return (self.revenue / self.recipients).quantize(Decimal("0.01"))

    def rate(self, part: int, whole: int | None = None) -> float:
        whole = self.sent if whole is None else whole
        return round(100.0 * part / whole, 1) if whole else 0.0


def results_by(messages: QuerySet[OutboundMessage], group: str) -> dict[object, Results]:
    """Results per value of `group`, a lookup from OutboundMessage such as "origin__flow_step_id",
    "origin__campaign_id" or "origin__variant". Five queries."""
    out: dict[object, Results] = defaultdict(Results)
    rows = messages.values(group).annotate(
        recipients=Count("id"),
        sent=Count("id", filter=Q(status__in=SENT_STATUSES)),
        delivered=Count("id", filter=Q(status=OutboundMessage.Status.DELIVERED)),
        refused=Count(
            "id", filter=Q(status__in=[OutboundMessage.Status.REFUSED, OutboundMessage.Status.EXPIRED])
        ),
        failed=Count("id", filter=Q(status=OutboundMessage.Status.FAILED)),
    )
    for row in rows:
        result = out[row[group]]
        for name in ("recipients", "sent", "delivered", "refused", "failed"):
            setattr(result, name, row[name])
    engaged = (
        MessageStatusEvent.objects.filter(message__in=messages.values("pk"), status__in=["opened", "clicked"])
        .values(f"message__{group}", "status")
        .annotate(messages=Count("message_id", distinct=True))
    )
    for row in engaged:
        setattr(out[row[f"message__{group}"]], row["status"], row["messages"])
    conversions = (
        MessageConversion.objects.filter(message__in=messages.values("pk"), reversed_at__isnull=True)
        .values(f"message__{group}")
        .annotate(sales=Count("id"), revenue=Sum("revenue"))
    )
    for row in conversions:
        result = out[row[f"message__{group}"]]
        result.converted = row["sales"]
        result.revenue = row["revenue"] or Decimal("0.00")
    unsubscribed = (
        Suppression.objects.filter(
            message__in=messages.values("pk"),
            reason__in=[
                Suppression.Reason.STOPPED,
                Suppression.Reason.UNSUBSCRIBED,
                Suppression.Reason.COMPLAINED,
            ],
        )
        .values(f"message__{group}")
        .annotate(count=Count("message_id", distinct=True))
    )
    for row in unsubscribed:
        out[row[f"message__{group}"]].unsubscribed = row["count"]
    return dict(out)


def results_total(messages: QuerySet[OutboundMessage]) -> Results:
    """The same counts over all the messages together."""
    found = results_by(messages.annotate(), "organization_id")
    total = Results()
    for result in found.values():
        for name in (
            "recipients",
            "sent",
            "delivered",
            "refused",
            "failed",
            "opened",
            "clicked",
            "converted",
        ):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        total.revenue += result.revenue
        total.unsubscribed += result.unsubscribed
    return total
