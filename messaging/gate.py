"""The gate: one place that decides, when a message is about to be sent, whether it may go now, later or never.

`judge(facts, rules)` is a pure function of the facts about one message and the rule tables in force (so that
`manage.py check_send` and the tests can ask it without a customer); `message_verdict(message)` gathers the facts
of a queued message from the database and asks it. `gate_rules(at)` reads the tables once per process and day
(until counsel changes a row): a drain loads them once and hands them to every verdict.

Rules (issue 14, part 4), each with a stable code at the start of its reason:
- expired: the message is not worth sending after its send_before (also when quiet hours would hold it past it);
- suppressed: the address is suppressed (STOP, bounces, invalid numbers);
- no_consent: no consent for the purpose and channel (transactional: allowed until revoked);
- sender_use_case: marketing through a sender registered for notifications only;
- frequency_cap: a state's cap of marketing messages on the same subject in 24 hours (FrequencyCapRule);
- smart_sending: a marketing message to the same customer on the channel within SMART_SENDING_SMS_HOURS (texts)
  or SMART_SENDING_EMAIL_HOURS (emails);
- quiet_hours: outside the allowed window in the recipient's local time (QuietHoursRule), for every zone the
  recipient may be in (the number's area code and the address's state) and under every jurisdiction that may
  apply (federal, the area code's state, the address's state, the store's state): the strictest wins.

Quiet hours hold (the verdict carries send_after, the earliest instant every window is open); every other rule
refuses. A frequency cap refuses rather than holds: a marketing message that would be the fourth on a subject is
one too many that day, and holding it would only move the pile-up to the next day. Transactional messages pass
consent (transactional consent) and suppression, and only the quiet-hour rows whose applies_to is "all"; no caps,
no smart sending. The one text confirming a STOP (purpose "stop_confirmation") ignores consent and the STOP's
suppression. Quiet hours and caps apply to the channels of GATE_RULE_CHANNELS (texts: the laws seeded are about
telephone solicitation)."""

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dispensary.versioned import Versioned
from messaging.consent import consent_state
from messaging.gate_places import (
    CENTRAL,
    EASTERN,
    MOUNTAIN,
    PACIFIC,
    phone_place,
    state_normalise,
    state_zones,
)
from messaging.models import (
    Category,
    FrequencyCapRule,
    OutboundMessage,
    QuietHoursRule,
    RuleScope,
    Sender,
    Suppression,
)

UTC = dt.UTC
FEDERAL = "US"
STOP_CONFIRMATION = "stop_confirmation"
HORIZON_DAYS = 8  # quiet hours that leave no open instant within this many days refuse instead of holding
CAP_PERIOD_HOURS = 24  # the facts count the last 24 hours (the caps of every state that has one)
ANYWHERE_IN_THE_US = (EASTERN, CENTRAL, MOUNTAIN, PACIFIC)  # when nothing says where the recipient is

RULES = Versioned("messaging_gate").watch(QuietHoursRule, FrequencyCapRule)

SUPPRESSION_WORDS = {
    Suppression.Reason.STOPPED: "the number replied STOP",
    Suppression.Reason.INVALID: "not a valid phone number",
    Suppression.Reason.NOT_MOBILE: "not a mobile number",
    Suppression.Reason.BOUNCED: "emails to this address bounced",
    Suppression.Reason.COMPLAINED: "the recipient marked an email as spam",
    Suppression.Reason.UNSUBSCRIBED: "the recipient unsubscribed",
    Suppression.Reason.SUNSET: "the customer stopped engaging (left a win-back flow)",
}
CHANNEL_WORDS = {"sms": "text", "email": "email"}

# The one text a number gets after it texted STOP, confirming it (CTIA, carriers): it passes the revoked consent
# and the STOP suppression once per suppression, never a second time (STOP_CONFIRMATION above).
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
    purpose: str  # "transactional" or "marketing" (the message's category)
    at: dt.datetime  # when it would be sent (aware)
    phone: str = ""  # E.164, for SMS
    email: str = ""
    address_state: str = ""  # the customer's address's state, "FL", "Florida" or "US-FL"
    store_jurisdiction: str = ""  # "US-CA"
    consent: bool = False  # consent for this purpose and channel
    suppressed: tuple[
        str, ...
    ] = ()  # suppression reasons in force for the address ("stopped", "bounced", ...)
    marketing_sent_last_24h_same_subject: int = 0
    last_marketing_at: dt.datetime | None = None  # the last marketing message on this channel to the customer
    message_purpose: str = ""  # the message's own purpose: "receipt", "campaign", "stop_confirmation", ...
    marketing_sent_last_24h: int | None = (
        None  # every subject (for caps that count every subject); None: unknown
    )
    store_time_zone: str = ""  # where the store is, when nothing says where the recipient is
    send_before: dt.datetime | None = None  # not worth sending after this
    sender_use_case: str = ""  # "marketing" or "notifications"; "" when no sender is chosen yet


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

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason.split(":", 1)[0] for reason in self.reasons)

    def as_dict(self) -> dict:
        return {
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "send_after": iso_utc(self.send_after) if self.send_after else None,
        }


# --- The rule tables -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietWindow:
    """One QuietHoursRule row: messages may arrive from `start` until before `end`, local time."""

    jurisdiction: str
    weekday: int | None
    start: dt.time
    end: dt.time
    applies_to: str
    effective_from: dt.date
    effective_to: dt.date | None
    source: str = ""

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True)
class FrequencyCap:
    jurisdiction: str
    max_messages: int
    period_hours: int
    same_subject: bool
    applies_to: str
    effective_from: dt.date
    effective_to: dt.date | None
    source: str = ""

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True)
class GateRules:
    quiet_hours: tuple[QuietWindow, ...] = ()
    caps: tuple[FrequencyCap, ...] = ()

    @functools.cached_property
    def _windows(self) -> dict:
        return {}  # (jurisdiction, day, marketing): window, filled as the verdicts ask

    def window(self, jurisdiction: str, day: dt.date, *, marketing: bool) -> tuple[dt.time, dt.time] | None:
        """The allowed window of `jurisdiction` on local `day`, or None when it has none. Rows of each scope
        (marketing, all): a row for the weekday replaces the every-day rows; several rows intersect."""
        key = (jurisdiction, day, marketing)
        if key not in self._windows:
            self._windows[key] = self._window_find(jurisdiction, day, marketing=marketing)
        return self._windows[key]

    def _window_find(
        self, jurisdiction: str, day: dt.date, *, marketing: bool
    ) -> tuple[dt.time, dt.time] | None:
        chosen: list[QuietWindow] = []
        for scope in (RuleScope.MARKETING, RuleScope.ALL):
            if scope == RuleScope.MARKETING and not marketing:
                continue
            rows = [
                row
                for row in self.quiet_hours
                if row.jurisdiction == jurisdiction and row.applies_to == scope and row.in_force(day)
            ]
            weekday_rows = [row for row in rows if row.weekday == day.weekday()]
            chosen += weekday_rows or [row for row in rows if row.weekday is None]
        if not chosen:
            return None
        return max(row.start for row in chosen), min(row.end for row in chosen)


def gate_rules(at: dt.datetime | None = None) -> GateRules:
    """The quiet hours and caps in force around `at` (from two days before to HORIZON_DAYS after): two queries
    the first time in a process and day, none after until a row changes."""
    day = (at or timezone.now()).astimezone(UTC).date()
    return RULES.get(("gate", day), lambda: _gate_rules_load(day))


def _gate_rules_load(day: dt.date) -> GateRules:
    since, until = day - dt.timedelta(days=2), day + dt.timedelta(days=HORIZON_DAYS + 2)
    in_force = Q(effective_from__lte=until) & (Q(effective_to__isnull=True) | Q(effective_to__gte=since))
    return GateRules(
        quiet_hours=tuple(
            QuietWindow(
                jurisdiction=row.jurisdiction,
                weekday=row.weekday,
                start=row.start,
                end=row.end,
                applies_to=row.applies_to,
                effective_from=row.effective_from,
                effective_to=row.effective_to,
                source=row.source,
            )
            for row in QuietHoursRule.objects.filter(in_force).order_by("id")
        ),
        caps=tuple(
            FrequencyCap(
                jurisdiction=row.jurisdiction,
                max_messages=row.max_messages,
                period_hours=row.period_hours,
                same_subject=row.same_subject,
                applies_to=row.applies_to,
                effective_from=row.effective_from,
                effective_to=row.effective_to,
                source=row.source,
            )
            for row in FrequencyCapRule.objects.filter(in_force).order_by("id")
        ),
    )


# --- Where the recipient may be ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Every jurisdiction whose rules may apply and every zone the recipient may be in."""

    jurisdictions: tuple[str, ...]
    zones: tuple[str, ...]


def recipient_place(facts: SendFacts) -> Place:
    return _place(facts.phone, facts.address_state, facts.store_jurisdiction, facts.store_time_zone)


@functools.lru_cache(maxsize=16384)
def _place(phone: str, address: str, store_jurisdiction: str, store_time_zone: str) -> Place:
    phone_state, phone_zones = phone_place(phone) if phone else ("", ())
    address_state = state_normalise(address) or ""
    store_state = state_normalise(store_jurisdiction) or ""
    jurisdictions = [FEDERAL]
    for state in (phone_state, address_state, store_state):
        if state and f"US-{state}" not in jurisdictions:
            jurisdictions.append(f"US-{state}")
    zones = list(dict.fromkeys((*phone_zones, *state_zones(address_state))))
    if not zones:
        zones = [store_time_zone] if store_time_zone else list(state_zones(store_state))
    return Place(tuple(jurisdictions), tuple(zones or ANYWHERE_IN_THE_US))


def _closed_at(
    moment: dt.datetime, place: Place, rules: GateRules, *, marketing: bool
) -> tuple[str, str, dt.datetime, tuple[dt.time, dt.time]] | None:
    """(zone, jurisdiction, local time, window) of the first window closed at `moment`, or None: all open."""
    for zone in place.zones:
        local = moment.astimezone(zoneinfo.ZoneInfo(zone))
        for jurisdiction in place.jurisdictions:
            window = rules.window(jurisdiction, local.date(), marketing=marketing)
            if window is not None and not (window[0] <= local.time() < window[1]):
                return zone, jurisdiction, local, window
    return None


@functools.lru_cache(maxsize=8192)
def _local_instants(zone: str, day: dt.date, time: dt.time) -> tuple[dt.datetime, ...]:
    """The UTC instants of local `time` on `day` in `zone`: one, or both readings of a time the clocks skip or
    repeat that night."""
    tz = zoneinfo.ZoneInfo(zone)
    first = dt.datetime.combine(day, time, tzinfo=tz)
    second = first.replace(fold=1)
    if first.utcoffset() == second.utcoffset():
        return (first.astimezone(UTC),)
    return tuple(sorted({first.astimezone(UTC), second.astimezone(UTC)}))


def _next_open(moment: dt.datetime, place: Place, rules: GateRules, *, marketing: bool) -> dt.datetime | None:
    """The earliest instant from `moment` when every window is open. Windows open at their starts, so it is
    one of the local starts (each converted with its own day's offset, across daylight-saving changes). Days
    are taken one at a time; a start is tried once no later day of any zone can hold an earlier one."""
    first_days = {zone: moment.astimezone(zoneinfo.ZoneInfo(zone)).date() for zone in place.zones}
    waiting: set[dt.datetime] = set()
    for offset in range(HORIZON_DAYS + 1):
        for zone, first_day in first_days.items():
            day = first_day + dt.timedelta(days=offset)
            for jurisdiction in place.jurisdictions:
                window = rules.window(jurisdiction, day, marketing=marketing)
                if window is not None:
                    waiting.update(start for start in _local_instants(zone, day, window[0]) if start > moment)
        frontier = min(
            _local_instants(zone, first_day + dt.timedelta(days=offset + 1), dt.time(0))[0]
            for zone, first_day in first_days.items()
        )
        for candidate in sorted(start for start in waiting if start < frontier or offset == HORIZON_DAYS):
            waiting.discard(candidate)
            if _closed_at(candidate, place, rules, marketing=marketing) is None:
                return candidate
    return None


# --- The verdict ---------------------------------------------------------------------------------------------


def iso_utc(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _hours(value: float) -> str:
    return f"{value:g} h"


def judge(facts: SendFacts, rules: GateRules | None = None) -> Verdict:
    """The verdict on one message from its facts and the rules in force at `facts.at` (read when not given)."""
    rules = rules if rules is not None else gate_rules(facts.at)
    at = facts.at.astimezone(UTC)
    marketing = facts.purpose == Category.MARKETING
    stop_confirmation = not marketing and facts.message_purpose == STOP_CONFIRMATION
    kind = f"{facts.purpose} {CHANNEL_WORDS.get(facts.channel, facts.channel)}"
    refusals: list[str] = []

    if facts.send_before is not None and at > facts.send_before:
        refusals.append(f"expired: it was not worth sending after {iso_utc(facts.send_before)}.")
    suppressed = [
        reason
        for reason in facts.suppressed
        if not (stop_confirmation and reason == Suppression.Reason.STOPPED)
    ]
    if suppressed:
        words = "; ".join(SUPPRESSION_WORDS.get(reason, reason) for reason in suppressed)
        refusals.append(f"suppressed: the address is suppressed ({words}).")
    if not facts.consent and not stop_confirmation:
        refusals.append(f"no_consent: the customer has not agreed to {kind}s, or has withdrawn.")
    if marketing and facts.sender_use_case == Sender.UseCase.NOTIFICATIONS:
        refusals.append(
            "sender_use_case: the sender is registered for notifications only; carriers block marketing from it."
        )

    place = recipient_place(facts)
    state_rules = facts.channel in settings.GATE_RULE_CHANNELS
    if marketing and state_rules:
        cap_reason = _cap_refusal(facts, place, rules, at)
        if cap_reason:
            refusals.append(cap_reason)
    if marketing and facts.last_marketing_at is not None:
        hours = float(
            settings.SMART_SENDING_SMS_HOURS if facts.channel == "sms" else settings.SMART_SENDING_EMAIL_HOURS
        )
        next_allowed = facts.last_marketing_at.astimezone(UTC) + dt.timedelta(hours=hours)
        if at < next_allowed:
            refusals.append(
                f"smart_sending: a marketing {CHANNEL_WORDS.get(facts.channel, facts.channel)} went to this "
                f"customer at {iso_utc(facts.last_marketing_at)}; the next may go {_hours(hours)} after it, "
                f"from {iso_utc(next_allowed)}."
            )

    send_after = None
    quiet_reason = ""
    closed = _closed_at(at, place, rules, marketing=marketing) if state_rules else None
    if closed is not None:
        zone, jurisdiction, local, window = closed
        outside = (
            f"{local:%H:%M} on {local:%A} in {zone} is outside {window[0]:%H:%M}-{window[1]:%H:%M} "
            f"({jurisdiction})"
        )
        send_after = _next_open(at, place, rules, marketing=marketing)
        if send_after is None:
            quiet_reason = f"quiet_hours: {outside}, and no time in the next {HORIZON_DAYS} days is allowed."
            refusals.append(quiet_reason)
        else:
            quiet_reason = f"quiet_hours: {outside}; it may go from {iso_utc(send_after)}."
            if facts.send_before is not None and send_after > facts.send_before:
                refusals.append(
                    f"expired: the quiet hours end after {iso_utc(facts.send_before)}, when it stops being useful."
                )
    if refusals:
        reasons = refusals if quiet_reason in refusals or not quiet_reason else [*refusals, quiet_reason]
        return Verdict(allowed=False, reasons=tuple(reasons), send_after=None)
    if quiet_reason:
        return Verdict(allowed=False, reasons=(quiet_reason,), send_after=send_after)
    return Verdict(allowed=True)


def _cap_refusal(facts: SendFacts, place: Place, rules: GateRules, at: dt.datetime) -> str:
    """The reason of the strictest cap the message would break, or ""."""
    broken = []
    for cap in rules.caps:
        if cap.jurisdiction not in place.jurisdictions or not cap.in_force(at.date()):
            continue
        if cap.same_subject or facts.marketing_sent_last_24h is None:
            sent, subject = facts.marketing_sent_last_24h_same_subject, " on this subject"
        else:
            sent, subject = facts.marketing_sent_last_24h, ""
        if sent >= cap.max_messages:
            broken.append((cap.max_messages, cap.jurisdiction, sent, subject, cap.source))
    if not broken:
        return ""
    allowed, jurisdiction, sent, subject, source = min(broken)
    return (
        f"frequency_cap: {sent} marketing messages{subject} went to this number in the last "
        f"{CAP_PERIOD_HOURS} hours; {jurisdiction} allows {allowed} ({source})."
    )


# --- The facts of a queued message ---------------------------------------------------------------------------


def message_facts(message: OutboundMessage, *, at: dt.datetime | None = None) -> SendFacts:
    """The facts about a queued message, read from the ledger, the suppressions and the messages sent: at most
    four queries (consent; suppressions; the customer's state, the store and the sender; for marketing, the
    marketing messages sent to the customer on the channel in the last day), whatever the rules."""
    at = at or timezone.now()
    marketing = message.category == Category.MARKETING
    consent = not marketing
    if message.customer_id:
        consent = consent_state(
            message.customer_id, channel=message.channel, purpose=message.category
        ).allowed
    address = message.to.lower() if message.channel == "email" else message.to
    suppressed = tuple(
        Suppression.objects.filter(
            organization_id=message.organization_id,
            channel=message.channel,
            address=address,
            lifted_at__isnull=True,
        )
        .exclude(category=Category.MARKETING if message.category == Category.TRANSACTIONAL else "-")
        .order_by("created_at", "id")
        .values_list("reason", flat=True)
    )
    details = (
        OutboundMessage.objects.filter(pk=message.pk)
        .values(
            "customer__region",
            "store__jurisdiction",
            "store__time_zone",
            "customer__home_store__jurisdiction",
            "customer__home_store__time_zone",
            "sender__use_case",
        )
        .first()
        or {}
    )
    store_jurisdiction = details.get("store__jurisdiction") or details.get(
        "customer__home_store__jurisdiction"
    )
    store_time_zone = details.get("store__time_zone") or details.get("customer__home_store__time_zone")
    same_subject = every_subject = 0
    last_marketing_at = None
    if marketing and message.customer_id:
        hours = max(
            CAP_PERIOD_HOURS,
            settings.SMART_SENDING_SMS_HOURS
            if message.channel == "sms"
            else settings.SMART_SENDING_EMAIL_HOURS,
        )
        sent = (
            OutboundMessage.objects.filter(
                customer_id=message.customer_id,
                organization_id=message.organization_id,
                channel=message.channel,
                category=Category.MARKETING,
                sent_at__gt=at - dt.timedelta(hours=hours),
                sent_at__lte=at,
            )
            .exclude(pk=message.pk)
            .values_list("sent_at", "topic")
        )
        day_ago = at - dt.timedelta(hours=CAP_PERIOD_HOURS)
        for sent_at, topic in sent:
            last_marketing_at = max(last_marketing_at or sent_at, sent_at)
            if sent_at > day_ago:
                every_subject += 1
                same_subject += topic == message.topic
    message_purpose = message.purpose
    if _stop_confirmation_allowed(message) or (message.purpose == HELP_ANSWER and message.channel == "sms"):
        consent = True
        suppressed = tuple(reason for reason in suppressed if reason != Suppression.Reason.STOPPED)
    elif message.purpose == STOP_CONFIRMATION:
        # A second confirmation of the same STOP: judged like any other text to a stopped number (refused).
        message_purpose = f"{STOP_CONFIRMATION} (already sent)"
    return SendFacts(
        channel=message.channel,
        purpose=message.category,
        at=at,
        phone=message.to if message.channel == "sms" else "",
        email=message.to if message.channel == "email" else "",
        address_state=details.get("customer__region") or "",
        store_jurisdiction=store_jurisdiction or "",
        consent=consent,
        suppressed=suppressed,
        marketing_sent_last_24h_same_subject=same_subject,
        last_marketing_at=last_marketing_at,
        message_purpose=message_purpose,
        marketing_sent_last_24h=every_subject,
        store_time_zone=store_time_zone or "",
        send_before=message.send_before,
        sender_use_case=details.get("sender__use_case") or "",
    )


def message_verdict(
    message: OutboundMessage, *, at: dt.datetime | None = None, rules: GateRules | None = None
) -> Verdict:
    """The gate's verdict on a queued message; a drain passes `rules = gate_rules(now)` loaded once."""
    at = at or timezone.now()
    return judge(message_facts(message, at=at), rules)
