"""Campaigns (issue 15, part 3): a one-off message to a segment, at a day and time in each recipient's store's
local time, optionally A/B tested on a share of the recipients before the rest get the winner.

- `campaign_save` writes a draft (only a draft can be changed); `campaign_schedule` freezes its recipients
  (CampaignRecipient, one per customer: the segment's customers with marketing consent on the channel and an
  address), each due at the campaign's local time at their store (the customer's home store, else the
  organization's first store); `campaign_cancel` stops what is not queued yet.
- `campaigns_send_due(now)` (every minute, dispensary/schedule.py) turns due recipients into messages through
  `retention_message_enqueue`, keyed by campaign and customer, in batches of one transaction each: a batch cut
  short by a crash leaves nothing, the next run does it again, and the key makes a message queued once whatever
  happens between the queue and the recipient's link. A campaign's batches hold its row's lock (PostgreSQL), so
  two workers never work on one campaign at once.
- A/B: the test share (every recipient's place drawn from a hash of campaign and customer, so the draw is the
  same every time) is split between A and B and goes first. The winner is chosen by the stated metric (opened,
  clicked or purchased, as a share of each variant's messages; a tie goes to A) `winner_after_hours` after the
  last test message was due; the rest get the winner's words from then (each at their own local time plus those
  hours, if later).
- `campaign_test_send` sends the words to a staff member's phone or email, marked "[Test]", as a transactional
  message with purpose "test": no campaign origin, so never in the results.

The gate still judges every message at send time: consent, suppressions, quiet hours, caps and smart sending
(the same customer in two campaigns within the smart-sending window gets the first only)."""

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from dispensary.audit import audit_record
from dispensary.errors import ApplicationError, Conflict, InvalidPhoneNumber, ValidationFailed
from dispensary.models import Customer, Organization, Store
from dispensary.phones import phone_normalize
from messaging.models import (
    Campaign,
    CampaignRecipient,
    Category,
    Channel,
    OutboundMessage,
    Segment,
)
from messaging.queue import message_enqueue
from messaging.rendering import (
    COMMON_VARIABLES,
    opt_out_line_add,
    render_text,
    sample_variables,
    sms_count,
    sms_tidy,
    variables_in,
)
from messaging.results import Results, results_by, results_total
from messaging.retention import retention_key, retention_message_enqueue
from messaging.segments import SegmentRuleError, segment_customers

Status = Campaign.Status
PURPOSE = "campaign"
TEST_PURPOSE = "test"
TEST_MARK = "[Test]"
BATCH = 200  # recipients per transaction
RUN_LIMIT = 2000  # recipients per campaign per run of the periodic job
VARIABLES = (*COMMON_VARIABLES, "coupon_code")
METRICS = {"opened": "opened", "clicked": "clicked", "purchased": "converted"}
METRIC_WORDS = {"opened": "Opened", "clicked": "Clicked a link", "purchased": "Bought (converted)"}
SAMPLE_COUPON = "SAMPLE8K"
EDITABLE = (Status.DRAFT,)
RUNNING = (Status.SCHEDULED, Status.TESTING, Status.SENDING)
_DOUBLE_BRACES = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class CampaignError(ApplicationError):
    code = "campaign_invalid"


# --- Words ---------------------------------------------------------------------------------------------------


def words_normalise(text: str) -> str:
    """{{first_name}} (as other tools write it) is {first_name} here."""
    return _DOUBLE_BRACES.sub(r"{\1}", text or "")


def unknown_variables(*texts: str) -> list[str]:
    return sorted({name for text in texts for name in variables_in(text) if name not in VARIABLES})


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str
    count: object  # SmsCount for a text, None for an email


def words_preview(*, channel: str, subject: str, body: str, store: Store | None) -> Preview:
    """The words as a sample customer at `store` would get them (a sample coupon code), with a text's cost."""
    values = {**sample_variables(store), "coupon_code": SAMPLE_COUPON}
    text = render_text(words_normalise(body), values).strip()
    if channel == Channel.SMS:
        text = opt_out_line_add(sms_tidy(text))
        return Preview("", text, sms_count(text))
    return Preview(" ".join(render_text(words_normalise(subject), values).split()), text, None)


# --- Drafts --------------------------------------------------------------------------------------------------


def _problems(fields: dict, organization: Organization) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        problems.setdefault(name, []).append(message)

    if not fields["name"].strip():
        add("name", "Give the campaign a name.")
    segment = fields["segment"]
    if segment is None or segment.organization_id != organization.pk or segment.archived:
        add("segment", "Choose one of your segments.")
    if fields["channel"] not in Channel.values:
        add("channel", "Choose text message or email.")
    if not fields["topic"].strip():
        add("topic", "Say what it is about (for example “weekend sale”): the states' caps count by subject.")
    if not fields["body"].strip():
        add("body", "Write the message.")
    if fields["channel"] == Channel.EMAIL and not fields["subject"].strip():
        add("subject", "An email needs a subject.")
    unknown = unknown_variables(
        fields["subject"], fields["body"], fields["variant_b_subject"], fields["variant_b_body"]
    )
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        add("body", f"Unknown variable{'s' if len(unknown) > 1 else ''}: {names}.")
    uses_coupon = "coupon_code" in variables_in(fields["body"] + fields["variant_b_body"])
    promotion = fields["coupon_promotion"]
    if promotion is not None and promotion.organization_id != organization.pk:
        add("coupon_promotion", "Choose one of your promotions.")
    if uses_coupon and promotion is None:
        add("coupon_promotion", "The words use {coupon_code}: choose the promotion the codes give.")
    if promotion is not None and not uses_coupon:
        add("body", "Each recipient gets a code: put {coupon_code} in the words so they see it.")
    if not 1 <= fields["coupon_valid_days"] <= 365:
        add("coupon_valid_days", "Codes are valid between 1 and 365 days.")
    if fields["variant_b_body"].strip():
        if not 2 <= fields["test_share"] <= 90:
            add("test_share", "Test B on between 2% and 90% of the recipients.")
        if fields["winner_metric"] not in METRICS:
            add("winner_metric", "Choose how the winner is picked: opened, clicked or purchased.")
        if not 1 <= fields["winner_after_hours"] <= 168:
            add("winner_after_hours", "Pick the winner between 1 and 168 hours after the test.")
        if fields["channel"] == Channel.EMAIL and not fields["variant_b_subject"].strip():
            add("variant_b_subject", "Variant B needs a subject too (it may be the same).")
    if fields["send_on"] and fields["send_on"] > timezone.localdate() + dt.timedelta(days=366):
        add("send_on", "Choose a day within the next year.")
    if bool(fields["send_on"]) != bool(fields["send_at"]):
        add("send_on", "Give both the day and the time, or neither to send as soon as it is scheduled.")
    return problems


@transaction.atomic
def campaign_save(
    *,
    organization: Organization,
    actor,
    campaign: Campaign | None = None,
    name: str,
    segment: Segment | None,
    channel: str,
    topic: str,
    body: str,
    subject: str = "",
    variant_b_subject: str = "",
    variant_b_body: str = "",
    test_share: int = 0,
    winner_metric: str = "",
    winner_after_hours: int = 4,
    coupon_promotion=None,
    coupon_valid_days: int = 14,
    send_on: dt.date | None = None,
    send_at: dt.time | None = None,
) -> Campaign:
    """Create a draft, or change one (only a draft). Bad input raises ValidationFailed and writes nothing."""
    fields = {
        "name": name or "",
        "segment": segment,
        "channel": channel,
        "topic": topic or "",
        "subject": words_normalise(subject if channel == Channel.EMAIL else ""),
        "body": words_normalise(body),
        "variant_b_subject": words_normalise(variant_b_subject if channel == Channel.EMAIL else ""),
        "variant_b_body": words_normalise(variant_b_body),
        "test_share": int(test_share or 0),
        "winner_metric": winner_metric or "",
        "winner_after_hours": int(winner_after_hours or 0),
        "coupon_promotion": coupon_promotion,
        "coupon_valid_days": int(coupon_valid_days or 0),
        "send_on": send_on,
        "send_at": send_at,
    }
    problems = _problems(fields, organization)
    if problems:
        first = next(iter(problems.values()))[0]
        raise ValidationFailed(f"The campaign cannot be saved: {first}", details=problems)
    if not fields["variant_b_body"].strip():
        fields.update(variant_b_subject="", variant_b_body="", test_share=0, winner_metric="")
    fields["name"], fields["topic"] = fields["name"].strip(), fields["topic"].strip()
    if campaign is None:
        campaign = Campaign(organization=organization, created_by=actor if actor.pk else None)
        action = "campaign.created"
    else:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk, organization=organization)
        if campaign.status not in EDITABLE:
            raise Conflict(
                f"This campaign is {campaign.get_status_display().lower()}: it can no longer change."
            )
        action = "campaign.changed"
    for key, value in fields.items():
        setattr(campaign, key, value)
    campaign.save()
    audit_record(
        actor=actor,
        action=action,
        instance=campaign,
        after={"name": campaign.name, "segment": segment.pk, "channel": channel},
        organization=organization,
    )
    return campaign


# --- Audience ------------------------------------------------------------------------------------------------


def campaign_audience(campaign: Campaign) -> QuerySet[Customer]:
    """The customers the campaign would reach now: the segment's, with marketing consent on the channel and an
    address on it. Raises SegmentRuleError for a segment whose conditions no longer read."""
    segment = campaign.segment
    customers = segment_customers(campaign.organization_id, segment.rules, segment.match)
    consented = segment_customers(
        campaign.organization_id, [{"field": f"consent_{campaign.channel}", "op": "is", "value": True}]
    )
    customers = customers.filter(pk__in=consented.values("pk"))
    if campaign.channel == Channel.EMAIL:
        customers = customers.exclude(email="")
    return customers.exclude(phone="") if campaign.channel == Channel.SMS else customers


@dataclass(frozen=True)
class Estimate:
    segment: int  # customers in the segment
    reachable: int  # of them, with marketing consent and an address on the channel
    error: str = ""

    @property
    def left_out(self) -> int:
        return self.segment - self.reachable


def campaign_estimate(campaign: Campaign) -> Estimate:
    """How many it would reach: two counts."""
    segment = campaign.segment
    try:
        everyone = segment_customers(campaign.organization_id, segment.rules, segment.match).count()
        return Estimate(everyone, campaign_audience(campaign).count())
    except SegmentRuleError as error:
        return Estimate(0, 0, error=error.message)


# --- Scheduling ----------------------------------------------------------------------------------------------


def local_instant(store: Store, day: dt.date, time: dt.time) -> dt.datetime:
    """`time` on local `day` at the store, in UTC. A time the clocks skip (02:30 on the spring change) is read
    with the offset before the change, so it falls an hour later on the clock (03:30); a time they repeat (01:30
    on the autumn change) is its first occurrence."""
    return dt.datetime.combine(day, time, tzinfo=store.tz).astimezone(dt.UTC)


def first_store(organization_id: int) -> Store | None:
    return (
        Store.objects.filter(organization_id=organization_id, is_active=True).order_by("pk").first()
        or Store.objects.filter(organization_id=organization_id).order_by("pk").first()
    )


def _draw(campaign_id: int, customer_id: int) -> str:
    return hashlib.sha256(f"campaign:{campaign_id}:{customer_id}".encode()).hexdigest()


def tested_count(total: int, share: int) -> int:
    """The recipients tested first: `share` percent, at least one per variant."""
    if total < 2:
        return total
    return min(total, max(2, round(total * share / 100)))


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, actor, now: dt.datetime | None = None) -> Campaign:
    """Freeze the recipients and their due times: draft -> scheduled. Raises CampaignError (nothing written)
    for a day already past everywhere, a segment that no longer reads, or nobody to send to."""
    now = now or timezone.now()
    campaign = (
        Campaign.objects.select_for_update(of=("self",))
        .select_related("segment")
        .get(pk=campaign.pk, organization_id=campaign.organization_id)
    )
    if campaign.status != Status.DRAFT:
        raise Conflict(f"This campaign is {campaign.get_status_display().lower()} already.")
    fallback = first_store(campaign.organization_id)
    if fallback is None:
        raise CampaignError("The organization has no store: a campaign is sent in a store's local time.")
    try:
        customers = list(campaign_audience(campaign).order_by("pk").values_list("pk", "home_store_id"))
    except SegmentRuleError as error:
        raise CampaignError(f"The segment cannot be read: {error.message}") from error
    if not customers:
        raise CampaignError(
            "Nobody to send to: no customer of the segment has agreed to marketing on this channel."
        )
    stores = {
        store.pk: store
        for store in Store.objects.filter(
            organization_id=campaign.organization_id,
            pk__in={store_id for _, store_id in customers if store_id} | {fallback.pk},
        )
    }
    due_by_store: dict[int, dt.datetime] = {}
    for store in stores.values():
        if campaign.send_on and campaign.send_at:
            due_by_store[store.pk] = local_instant(store, campaign.send_on, campaign.send_at)
        else:
            due_by_store[store.pk] = now
    if campaign.send_on and campaign.send_at:
        if campaign.send_on < min(timezone.localdate(now, store.tz) for store in stores.values()):
            raise CampaignError(
                f"{campaign.send_on:%b %-d, %Y} is past at every store: choose a day from today on.",
                details={"send_on": ["That day is past."]},
            )
    rows = []
    for customer_id, store_id in customers:
        store_id = store_id if store_id in stores else fallback.pk
        rows.append(
            CampaignRecipient(
                campaign=campaign,
                customer_id=customer_id,
                store_id=store_id,
                due_at=max(due_by_store[store_id], now),  # a time already past today: now
            )
        )
    if campaign.variant_b_body:
        ordered = sorted(rows, key=lambda row: _draw(campaign.pk, row.customer_id))
        tested = tested_count(len(ordered), campaign.test_share)
        for position, row in enumerate(ordered[:tested]):
            row.variant = "a" if position % 2 == 0 else "b"
        decided_at = max(row.due_at for row in ordered[:tested]) + dt.timedelta(
            hours=campaign.winner_after_hours
        )
        for row in ordered[tested:]:
            row.due_at = max(row.due_at + dt.timedelta(hours=campaign.winner_after_hours), decided_at)
    CampaignRecipient.objects.bulk_create(rows, batch_size=1000)
    campaign.status = Status.SCHEDULED
    campaign.recipients_total = len(rows)
    campaign.save(update_fields=["status", "recipients_total"])
    audit_record(
        actor=actor,
        action="campaign.scheduled",
        instance=campaign,
        after={"recipients": len(rows), "first_due": min(row.due_at for row in rows).isoformat()},
        organization=campaign.organization,
    )
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, actor, now: dt.datetime | None = None) -> int:
    """Stop the campaign: recipients not queued yet get nothing (messages already queued go their way).
    Returns how many were stopped."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(
        pk=campaign.pk, organization_id=campaign.organization_id
    )
    if campaign.status not in (Status.DRAFT, *RUNNING):
        raise Conflict(f"This campaign is {campaign.get_status_display().lower()}: there is nothing to stop.")
    stopped = CampaignRecipient.objects.filter(campaign=campaign, message__isnull=True).count()
    campaign.status = Status.CANCELLED
    campaign.finished_at = now
    campaign.save(update_fields=["status", "finished_at"])
    audit_record(
        actor=actor,
        action="campaign.cancelled",
        instance=campaign,
        after={"not_sent": stopped},
        organization=campaign.organization,
    )
    return stopped


# --- Sending -------------------------------------------------------------------------------------------------


def campaign_messages(campaign: Campaign) -> QuerySet[OutboundMessage]:
    return OutboundMessage.objects.filter(origin__campaign=campaign, organization_id=campaign.organization_id)


def winner_choose(campaign: Campaign) -> tuple[str, dict[str, Results]]:
    """("a" or "b", the test's results by variant): the larger share of messages with the metric; ties: A."""
    found = results_by(campaign_messages(campaign).filter(origin__variant__in=["a", "b"]), "origin__variant")
    attribute = METRICS.get(campaign.winner_metric, "clicked")

    def rate(variant: str) -> float:
        result = found.get(variant) or Results()
        return getattr(result, attribute) / result.recipients if result.recipients else 0.0

    return ("b" if rate("b") > rate("a") else "a"), found


def _decide_at(campaign: Campaign) -> dt.datetime | None:
    last = CampaignRecipient.objects.filter(campaign=campaign, variant__in=["a", "b"]).aggregate(
        last=Max("due_at")
    )["last"]
    return last + dt.timedelta(hours=campaign.winner_after_hours) if last else None


def _words(campaign: Campaign, variant: str) -> tuple[str, str]:
    if variant == "b" or (variant == "" and campaign.winner == "b"):
        return campaign.variant_b_subject, campaign.variant_b_body
    return campaign.subject, campaign.body


def _recipient_send(
    campaign: Campaign, recipient: CampaignRecipient, now: dt.datetime
) -> OutboundMessage | None:
    from pos.services.coupons import coupon_issue_personal

    key = retention_key("campaign", campaign.pk, recipient.customer_id)
    subject, body = _words(campaign, recipient.variant)
    variables: dict = {}
    coupon = None
    if campaign.coupon_promotion_id:
        coupon = coupon_issue_personal(
            promotion=campaign.coupon_promotion,
            customer_id=recipient.customer_id,
            message_key=str(key),
            valid_until=now + dt.timedelta(days=campaign.coupon_valid_days),
        )
        variables["coupon_code"] = coupon.code
    return retention_message_enqueue(
        customer=recipient.customer,
        store=recipient.store,
        channel=campaign.channel,
        body=body,
        subject=subject,
        html_body="",
        topic=campaign.topic,
        key=key,
        purpose=PURPOSE,
        variables=variables,
        campaign=campaign,
        variant=recipient.variant,
        coupon=coupon,
    )


def _batch_send(campaign_id: int, now: dt.datetime) -> int:
    """One batch of one campaign, in one transaction holding the campaign's row: how many recipients it
    settled (queued, or left out for want of an address); 0 when nothing is due."""
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("organization", "coupon_promotion")
            .filter(pk=campaign_id, status__in=RUNNING)
            .first()
        )
        if campaign is None:  # cancelled, or finished by another worker
            return 0
        ab = bool(campaign.variant_b_body)
        if ab and not campaign.winner:
            decide_at = _decide_at(campaign)
            if decide_at is not None and now >= decide_at:
                campaign.winner, _ = winner_choose(campaign)
                campaign.save(update_fields=["winner"])
        due = CampaignRecipient.objects.filter(campaign=campaign, message__isnull=True, due_at__lte=now)
        if ab and not campaign.winner:
            due = due.exclude(variant="")
        batch = list(due.select_related("customer", "store").order_by("due_at", "pk")[:BATCH])
        linked, dropped = [], []
        for recipient in batch:
            message = _recipient_send(campaign, recipient, now)
            if message is None:
                dropped.append(recipient.pk)
            else:
                recipient.message = message
                linked.append(recipient)
        CampaignRecipient.objects.bulk_update(linked, ["message"], batch_size=500)
        if dropped:  # no phone or email any more: nothing can reach them
            CampaignRecipient.objects.filter(pk__in=dropped).delete()
        _status_move(campaign, now)
        return len(batch)


def _status_move(campaign: Campaign, now: dt.datetime) -> None:
    counts = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
        total=Count("pk"),
        waiting=Count("pk", filter=Q(message__isnull=True)),
        rest_queued=Count("pk", filter=Q(message__isnull=False, variant="")),
        queued=Count("pk", filter=Q(message__isnull=False)),
    )
    fields = ["status", "recipients_total"]
    campaign.recipients_total = counts["total"]
    if counts["queued"] and campaign.started_at is None:
        campaign.started_at = now
        fields.append("started_at")
    if counts["waiting"] == 0:
        campaign.status = Status.SENT
        campaign.finished_at = now
        fields.append("finished_at")
    elif counts["rest_queued"]:
        campaign.status = Status.SENDING
    elif counts["queued"]:
        campaign.status = Status.TESTING if campaign.variant_b_body else Status.SENDING
    campaign.save(update_fields=fields)


def campaigns_send_due(now: dt.datetime | None = None, *, limit: int = RUN_LIMIT) -> int:
    """Queue the messages of every campaign's due recipients (at most `limit` per campaign per run); returns
    how many recipients were settled. Run every minute; safe to run twice at once and after a crash."""
    now = now or timezone.now()
    settled = 0
    ids = list(
        Campaign.objects.filter(status__in=RUNNING)
        .filter(recipients__message__isnull=True, recipients__due_at__lte=now)
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")
    )
    for campaign_id in ids:
        done = 0
        while done < limit:
            count = _batch_send(campaign_id, now)
            if not count:
                break
            done += count
        settled += done
    return settled


# --- A test to staff -----------------------------------------------------------------------------------------


def campaign_test_send(
    *, campaign: Campaign, actor, to: str, store: Store | None, variant: str = "a"
) -> OutboundMessage:
    """The campaign's words (variant A or B) for a sample customer, to a staff member's phone or email, marked
    "[Test]": transactional, purpose "test", never counted in the campaign's results."""
    to = (to or "").strip()
    if campaign.channel == Channel.SMS:
        try:
            to = phone_normalize(to)
        except InvalidPhoneNumber as error:
            raise ValidationFailed(
                "Type the staff member's mobile number, for example (415) 555-0134.",
                details={"to": ["Not a valid phone number."]},
            ) from error
    else:
        try:
            validate_email(to)
        except ValidationError as error:
            raise ValidationFailed(
                "Type the staff member's email address.", details={"to": ["Not a valid email address."]}
            ) from error
        to = to.lower()
    if variant == "b" and not campaign.variant_b_body:
        variant = "a"
    subject, body = _words(campaign, variant)
    preview = words_preview(channel=campaign.channel, subject=subject, body=body, store=store)
    with transaction.atomic():
        message = message_enqueue(
            organization_id=campaign.organization_id,
            store_id=store.pk if store else None,
            channel=campaign.channel,
            to=to,
            body=f"{TEST_MARK} {preview.body}",
            subject=f"{TEST_MARK} {preview.subject}" if campaign.channel == Channel.EMAIL else "",
            purpose=TEST_PURPOSE,
            category=Category.TRANSACTIONAL,
            reference=f"campaign_test:{campaign.pk}",
            key=uuid.uuid4(),
        )
        audit_record(
            actor=actor,
            action="campaign.test_sent",
            instance=campaign,
            after={"variant": variant, "message": message.pk},
            organization=campaign.organization,
            store=store,
        )
    return message


# --- Progress and results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    total: int
    waiting: int  # not queued yet (due later, or the rest waiting for the winner)
    queued: int  # queued, not sent yet
    sent: int  # handed to the provider, no report yet
    delivered: int
    refused: int  # the gate said no (or too late)
    failed: int  # failed or not delivered

    @property
    def done(self) -> int:
        return self.sent + self.delivered + self.refused + self.failed

    def percent(self, part: int) -> float:
        return round(100 * part / self.total, 1) if self.total else 0.0

    @property
    def done_percent(self) -> float:
        return self.percent(self.done)


def campaign_progress(campaign: Campaign) -> Progress:
    """Where the campaign's recipients are: one query."""
    S = OutboundMessage.Status
    counts = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
        total=Count("pk"),
        waiting=Count("pk", filter=Q(message__isnull=True)),
        queued=Count("pk", filter=Q(message__status__in=[S.QUEUED, S.SENDING])),
        sent=Count("pk", filter=Q(message__status=S.SENT)),
        delivered=Count("pk", filter=Q(message__status=S.DELIVERED)),
        refused=Count("pk", filter=Q(message__status__in=[S.REFUSED, S.EXPIRED])),
        failed=Count("pk", filter=Q(message__status__in=[S.FAILED, S.UNDELIVERED])),
    )
    return Progress(**counts)


def campaign_refusals(campaign: Campaign) -> list[tuple[str, int]]:
    """(reason code, messages) of the campaign's refused messages, most first (a message may have several)."""
    counted: dict[str, int] = {}
    reasons = campaign_messages(campaign).filter(
        status__in=[OutboundMessage.Status.REFUSED, OutboundMessage.Status.EXPIRED]
    )
    for gate_reasons, status in reasons.values_list("gate_reasons", "status"):
        codes = {str(reason).split(":", 1)[0].strip() for reason in gate_reasons or []} or {status}
        for code in codes:
            counted[code] = counted.get(code, 0) + 1
    return sorted(counted.items(), key=lambda item: (-item[1], item[0]))


def campaign_results(campaign: Campaign) -> tuple[dict[str, Results], Results]:
    """Results by variant ("a", "b", "" the rest or everyone) and in total: ten queries."""
    messages = campaign_messages(campaign)
    return results_by(messages, "origin__variant"), results_total(messages)
