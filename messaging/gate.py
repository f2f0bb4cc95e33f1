"""The gate: one place that decides, when a message is about to be sent, whether it may go now, later or never.

`judge(facts, rules)` is a pure function of the facts about one message and the rule tables in force (so that
`manage.py check_send` and the tests can ask it without a customer); `message_verdict(message)` gathers the facts
of a queued message from the database and asks it.

Rules (issue 14, part 4): consent for the purpose and channel; suppression (STOP, bounces, invalid numbers);
quiet hours in the recipient's local time, the strictest of the number's area code, the customer's address and
the store's state (QuietHoursRule); state frequency caps (FrequencyCapRule); smart sending (no second marketing
text within SMART_SENDING_SMS_HOURS, email within SMART_SENDING_EMAIL_HOURS). A message held by quiet hours gets
`send_after`; a refused one gets `allowed=False` and its reasons."""

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from messaging.consent import consent_state
from messaging.models import Category, OutboundMessage, Suppression

# The one text a number gets after it texted STOP, confirming it (CTIA, carriers): it passes the revoked consent
# and the STOP suppression once per suppression, never a second time.
STOP_CONFIRMATION = "stop_confirmation"
# The answer to a HELP text: carriers require it whatever the number's opt-in state; it is only ever queued in
# answer to the customer's own HELP.
HELP_ANSWER = "help"
_SETTLED = (
    OutboundMessage.Status.SENDING,
    OutboundMessage.Status.SENT,
    OutboundMessage.Status.DELIVERED,
    OutboundMessage.Status.UNDELIVERED,
    OutboundMessage.Status.FAILED,
)


def _stop_confirmation_allowed(message: OutboundMessage) -> bool:
    """A STOP confirmation to a number whose STOP suppression is in force, none confirmed since it began."""
    if message.purpose != STOP_CONFIRMATION or message.channel != "sms":
        return False
    stopped = (
        Suppression.objects.filter(
            organization_id=message.organization_id,
            channel="sms",
            address=message.to,
            reason=Suppression.Reason.STOPPED,
            lifted_at__isnull=True,
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if stopped is None:
        return False
    return not (
        OutboundMessage.objects.filter(
            organization_id=message.organization_id,
            channel="sms",
            to=message.to,
            purpose=STOP_CONFIRMATION,
            status__in=_SETTLED,
            created_at__gte=stopped,
        )
        .exclude(pk=message.pk)
        .exists()
    )


@dataclass(frozen=True)
class SendFacts:
    """What the gate needs to know about one message (check_send's FILE has the same fields)."""

    channel: str  # "sms" or "email"
    purpose: str  # "transactional" or "marketing"
    at: dt.datetime  # when it would be sent (aware)
    phone: str = ""  # E.164, for SMS
    email: str = ""
    address_state: str = ""  # the customer's address's state, "FL" or "US-FL"
    store_jurisdiction: str = ""  # "US-CA"
    consent: bool = False
    suppressed: tuple[str, ...] = ()  # suppression reasons in force for the address
    marketing_sent_last_24h_same_subject: int = 0
    last_marketing_at: dt.datetime | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool  # may be sent now
    reasons: tuple[str, ...] = field(
        default_factory=tuple
    )  # "code: plain words", one per rule that held or refused
    send_after: dt.datetime | None = None  # held: the earliest time it may go (allowed is then False)

    @property
    def held(self) -> bool:
        return not self.allowed and self.send_after is not None


def judge(facts: SendFacts) -> Verdict:
    """The verdict on one message from its facts and the rules in force at `facts.at`."""
    reasons = []
    if facts.suppressed:
        reasons.append("suppressed: " + ", ".join(facts.suppressed))
    if not facts.consent:
        reasons.append(
            f"no_consent: the customer has not agreed to {facts.purpose} messages by {facts.channel}."
        )
    return Verdict(allowed=not reasons, reasons=tuple(reasons), send_after=None)


def message_facts(message: OutboundMessage, *, at: dt.datetime | None = None) -> SendFacts:
    """The facts about a queued message, read from the ledger, the suppressions and the messages sent."""
    at = at or timezone.now()
    consent = True
    if message.customer_id:
        consent = consent_state(
            message.customer_id, channel=message.channel, purpose=message.category
        ).allowed
    elif message.category == Category.MARKETING:
        consent = False
    suppressed = tuple(
        Suppression.objects.filter(
            organization_id=message.organization_id,
            channel=message.channel,
            address=message.to.lower() if message.channel == "email" else message.to,
            lifted_at__isnull=True,
        )
        .exclude(category=Category.MARKETING if message.category == Category.TRANSACTIONAL else "-")
        .values_list("reason", flat=True)
    )
    if _stop_confirmation_allowed(message) or (message.purpose == HELP_ANSWER and message.channel == "sms"):
        consent = True
        suppressed = tuple(reason for reason in suppressed if reason != Suppression.Reason.STOPPED)
    return SendFacts(
        channel=message.channel,
        purpose=message.category,
        at=at,
        phone=message.to if message.channel == "sms" else "",
        email=message.to if message.channel == "email" else "",
        consent=consent,
        suppressed=suppressed,
    )


def message_verdict(message: OutboundMessage, *, at: dt.datetime | None = None) -> Verdict:
    return judge(message_facts(message, at=at))
