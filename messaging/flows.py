"""The flows engine: customers enter a flow when its trigger happens and walk its steps (messaging.models.Flow,
FlowStep, FlowEnrollment, FlowStepRun), each step exactly once per enrollment, resumable after a crash.

Public functions (the editor pages, the handlers and the periodic tasks call these):
- `flow_validate(flow)`: raises FlowDefinitionError (plain words, `details` per step) for a flow that cannot run.
- `flow_status_set(*, flow, status, actor)`: live / paused / draft, audit-recorded; going live validates the flow
  first; leaving live cancels the active enrollments.
- `flow_enrol(*, flow, customer, trigger_key, store=None, context=None, now=None)`: one customer in one flow if
  the flow is live, for its stores, the filters match and the re-entry rule allows; None otherwise.
- `flows_trigger(*, organization_id, customer_id, kind, trigger_key, ...)`: every live flow of that trigger.
- `flows_run_due(now=None)`: the runner (every minute): claims due enrollments and walks their steps.
- `flows_dates_enrol(now=None)`: the date triggers (birthday, medical card, inactivity, reorder), hourly, each
  store from DATE_TRIGGER_HOUR local time; each trigger key enrols once.
- `flows_goal_check(*, customer_id, organization_id, now=None)`: ends enrollments whose goal (a purchase) happened.
- `flow_step_counts(*, flow)`: per step, how many ran it (by outcome) and how many wait before it.
- `enrollment_cancel(*, enrollment, actor, reason)`; `sunset_lift(*, customer, reason)`.

Triggers (`Flow.trigger`): {"type": "event", "event": "customer.created" | "pos.sale_completed" (with
"first_purchase": true for the first completed sale only) | "pos.cart_abandoned" | "delivery.order_delivered" |
"pos.tier_changed" (with "tier": a tier's name, or "" for any higher tier)}; {"type": "spend", "amount": "500.00"}
(the customer's completed spend crosses the amount); {"type": "segment", "segment": id}; {"type": "date",
"field": "birthday" | "medical_card_expires", "days_before": 0}; {"type": "inactivity", "days": 30} (the last
purchase is N to N+7 days old); {"type": "reorder", "min_purchases": 2} (a category's usual repurchase interval,
the median gap between the customer's purchases of it, has passed since the last one).

Walking order: a step runs, then its children (for a split, only those on the chosen branch), in `position`
order, then its next sibling; when a level ends the walk goes back up to the parent's next sibling. So a split's
branches may end the flow or join again after the split. Before every step: the flow is still live (else
CANCELLED), the goal has not happened (else CONVERTED), the filters still match (else FILTERED); before a send,
the customer is reachable for marketing on one of the flow's channels (else STOPPED).

Delays (`FlowStep.config` of a delay): {"days": 3} (calendar days in the store's zone: the same local time),
{"hours": 2}, {"minutes": 30}, {"next_day_at": "10:00"}, {"days": 3, "at": "10:00"}, {"days_after_entry": 30}
(measured from the moment the customer entered). Message bodies take {first_name}, {store_name}, {coupon_code}
(the code a coupon step of the same enrollment issued), {recommendations}, {points_balance}, {category},
{rating_link}; {{name}} is read as {name}."""

import datetime as dt
import hashlib
import hmac
import logging
import re
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from dispensary.audit import audit_record
from dispensary.clock import store_local_date, store_local_now
from dispensary.errors import ApplicationError
from dispensary.events import publish
from dispensary.models import Customer, MarketingConsent, Store
from messaging.consent import consent_states
from messaging.events import FlowWebhookRequested
from messaging.feedback import suppression_add
from messaging.models import (
    Category,
    Channel,
    Flow,
    FlowEnrollment,
    FlowStep,
    FlowStepRun,
    LinkClick,
    MessageStatusEvent,
    MessagingAlert,
    OutboundMessage,
    Segment,
    Suppression,
)
from messaging.retention import recipient_address, retention_key, retention_message_enqueue
from messaging.segments import SegmentRuleError, condition_q, customer_matches

Kind = FlowStep.Kind
Status = FlowEnrollment.Status
logger = logging.getLogger(__name__)

# A claimed enrollment is its worker's for this long; a worker that dies leaves it to the next run after that.
CLAIM_LEASE = dt.timedelta(minutes=5)
# Steps walked for one enrollment in one run at most (a flow without delays cannot loop for ever).
STEPS_PER_RUN = 50
# Date triggers enrol from this local hour (the job runs hourly; each trigger key enrols once).
DATE_TRIGGER_HOUR = 9
INACTIVITY_WINDOW_DAYS = 7
REORDER_WINDOW_DAYS = 7
RATING_SALT = "messaging.flow_rating"
RATING_MAX_AGE = 60 * 60 * 24 * 30

EVENTS = (
    "customer.created",
    "pos.sale_completed",
    "pos.cart_abandoned",
    "delivery.order_delivered",
    "pos.tier_changed",
)
TRIGGER_TYPES = ("event", "spend", "segment", "date", "inactivity", "reorder")
DATE_FIELDS = ("birthday", "medical_card_expires")
SPLIT_TESTS = ("opened", "clicked", "purchased", "property")
AB_METRICS = ("opened", "clicked", "purchased")
SEND_KINDS = {Kind.SEND_SMS: Channel.SMS, Kind.SEND_EMAIL: Channel.EMAIL}
# What a profile step may change: a few plain fields, or a line added to the notes.
PROFILE_FIELDS = ("notes", "customer_type", "postal_code")
_DOUBLE_BRACES = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class FlowDefinitionError(ApplicationError):
    code = "flow_invalid"


# --- Definition checks ---------------------------------------------------------------------------------------


def _clock(value) -> dt.time:
    match = _CLOCK.match(str(value or ""))
    if not match:
        raise ValueError(f'"{value}" is not a time of day like 10:00.')
    return dt.time(int(match.group(1)), int(match.group(2)))


def _positive_int(value, what: str, *, allow_zero: bool = False) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a whole number.") from None
    if number < 0 or (number == 0 and not allow_zero) or isinstance(value, bool):
        raise ValueError(f"{what} must be {'zero or more' if allow_zero else 'more than zero'}.")
    return number


def _trigger_problems(flow: Flow) -> list[str]:
    trigger = flow.trigger if isinstance(flow.trigger, dict) else {}
    kind = trigger.get("type")
    if kind not in TRIGGER_TYPES:
        return [f'The trigger must be one of {", ".join(TRIGGER_TYPES)}; it is "{kind}".']
    try:
        if kind == "event" and trigger.get("event") not in EVENTS:
            return [f"The trigger's event must be one of {', '.join(EVENTS)}."]
        if kind == "spend":
            amount = Decimal(str(trigger.get("amount")))
            if not amount.is_finite() or amount <= 0:
                return ["The spend threshold must be an amount above zero."]
        if kind == "segment":
            segment = Segment.objects.filter(
                pk=trigger.get("segment") if str(trigger.get("segment", "")).isdigit() else None,
                organization_id=flow.organization_id,
            ).first()
            if segment is None:
                return ["Choose the segment whose new members enter the flow."]
        if kind == "date":
            if trigger.get("field") not in DATE_FIELDS:
                return [f"The date must be one of {', '.join(DATE_FIELDS)}."]
            _positive_int(trigger.get("days_before", 0), "Days before", allow_zero=True)
        if kind == "inactivity":
            _positive_int(trigger.get("days"), "Days without a purchase")
        if kind == "reorder":
            if _positive_int(trigger.get("min_purchases", 2), "Purchases needed") < 2:
                return ["A repurchase interval needs at least 2 purchases."]
    except (ValueError, InvalidOperation) as error:
        return [f"Trigger: {error}"]
    return []


def _delay_problem(config: dict) -> str:
    keys = {"days", "hours", "minutes", "next_day_at", "days_after_entry"} & set(config)
    if len(keys) != 1:
        return "A wait needs exactly one of days, hours, minutes, next_day_at or days_after_entry."
    try:
        key = keys.pop()
        if key == "next_day_at":
            _clock(config["next_day_at"])
        else:
            _positive_int(config[key], key.replace("_", " ").capitalize())
        if "at" in config:
            _clock(config["at"])
    except ValueError as error:
        return str(error)
    return ""


def _step_problem(flow: Flow, step: FlowStep) -> str:  # noqa: C901 - one branch per kind
    config = step.config if isinstance(step.config, dict) else None
    if config is None:
        return "Its settings are not readable."
    if step.kind not in Kind.values:
        return f'"{step.kind}" is not a kind of step.'
    if step.kind == Kind.DELAY:
        return _delay_problem(config)
    if step.kind == Kind.CONDITION:
        test = config.get("test")
        if test not in SPLIT_TESTS:
            return f"A conditional split tests one of {', '.join(SPLIT_TESTS)}."
        if test == "property":
            try:
                condition_q(config.get("condition"))
            except (SegmentRuleError, TypeError, ValueError) as error:
                return f"Its condition: {getattr(error, 'message', error)}"
        return ""
    if step.kind == Kind.AB_SPLIT:
        share = config.get("share_a", 50)
        if not isinstance(share, int) or isinstance(share, bool) or not 1 <= share <= 99:
            return "The share of variant A is a whole percent between 1 and 99."
        winner = config.get("winner") or {}
        if winner:
            if winner.get("metric") not in AB_METRICS:
                return f"The winner is chosen by one of {', '.join(AB_METRICS)}."
            try:
                _positive_int(winner.get("after_days"), "Days before choosing the winner")
            except ValueError as error:
                return str(error)
        return ""
    if step.kind in SEND_KINDS:
        if not str(config.get("body") or "").strip() and not config.get("template_key"):
            return "A message needs its words (or a template)."
        if step.kind == Kind.SEND_EMAIL and not str(config.get("subject") or "").strip():
            if not config.get("template_key"):
                return "An email needs a subject."
        return ""
    if step.kind == Kind.COUPON:
        from pos.models import Promotion

        promotion = config.get("promotion")
        if not Promotion.objects.filter(
            pk=promotion if isinstance(promotion, int) else None, organization_id=flow.organization_id
        ).exists():
            return "Choose the promotion the coupon gives."
        try:
            _positive_int(config.get("valid_days", 14), "Days the coupon is valid")
            if config.get("min_spend") not in (None, ""):
                if Decimal(str(config["min_spend"])) < 0:
                    return "The minimum spend cannot be negative."
        except (ValueError, InvalidOperation):
            return "The coupon's days and minimum spend must be numbers."
        return ""
    if step.kind == Kind.POINTS:
        points = config.get("points")
        if not isinstance(points, int) or isinstance(points, bool) or points == 0 or abs(points) > 100000:
            return "Points are a whole number, not zero (at most 100,000)."
        return ""
    if step.kind == Kind.PROFILE:
        if config.get("field") not in PROFILE_FIELDS:
            return f"A profile step changes one of {', '.join(PROFILE_FIELDS)}."
        if config.get("field") == "customer_type" and config.get("value") not in Customer.Type.values:
            return "The customer type is adult_use or medical."
        return ""
    if step.kind == Kind.WEBHOOK:
        url = str(config.get("url") or "")
        if not re.match(r"^https?://[^\s/]+", url) or len(url) > 500:
            return "A webhook needs a web address starting with https://."
        return ""
    if step.kind == Kind.ALERT_STAFF:
        return "" if str(config.get("message") or "").strip() else "An alert needs its words."
    return ""


def flow_validate(flow: Flow, steps: list[FlowStep] | None = None) -> None:
    """Raise FlowDefinitionError when the flow cannot run: a bad trigger or filter, a step with bad settings, a
    step under a split without a branch of that split (or the other way round)."""
    problems: dict[str, list[str]] = defaultdict(list)
    problems["trigger"] += _trigger_problems(flow)
    try:
        for condition in flow.filters or []:
            condition_q(condition)
    except (SegmentRuleError, TypeError, ValueError) as error:
        problems["filters"].append(f"Filters: {getattr(error, 'message', error)}")
    if flow.reentry == Flow.Reentry.AFTER_DAYS and not flow.reentry_days:
        problems["reentry"].append("Say after how many days a customer may enter again.")
    steps = steps if steps is not None else list(flow.steps.all())
    by_id = {step.pk: step for step in steps}
    if not steps:
        problems["steps"].append("A flow needs at least one step.")
    for step in steps:
        label = f"step {step.pk} ({step.name or step.get_kind_display()})"
        parent = by_id.get(step.parent_id)
        if step.parent_id and parent is None:
            problems[label].append("Its parent step is not in this flow.")
        elif parent is not None and parent.kind == Kind.CONDITION and step.branch not in ("yes", "no"):
            problems[label].append('Under a conditional split, a step is on branch "yes" or "no".')
        elif parent is not None and parent.kind == Kind.AB_SPLIT and step.branch not in ("a", "b"):
            problems[label].append('Under an A/B split, a step is on branch "a" or "b".')
        elif (parent is None or parent.kind not in (Kind.CONDITION, Kind.AB_SPLIT)) and step.branch:
            problems[label].append("Only the steps under a split have a branch.")
        problem = _step_problem(flow, step)
        if problem:
            problems[label].append(problem)
    problems = {key: value for key, value in problems.items() if value}
    if problems:
        first = next(iter(problems.values()))[0]
        raise FlowDefinitionError(f"The flow cannot run: {first}", details=problems)


# --- Status -----------------------------------------------------------------------------------------------


@transaction.atomic
def flow_status_set(*, flow: Flow, status: str, actor) -> Flow:
    """Switch a flow on (live, after checking it), pause it or put it back to draft. Leaving live cancels every
    active enrollment (they do not resume when it is switched on again). Audit-recorded."""
    if status not in Flow.Status.values:
        raise FlowDefinitionError(f'"{status}" is not a flow status.')
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    before = flow.status
    if status == before:
        return flow
    now = timezone.now()
    if status == Flow.Status.LIVE:
        flow_validate(flow)
        flow.went_live_at = now
    flow.status = status
    flow.save(update_fields=["status", "went_live_at", "updated_at"])
    cancelled = 0
    if before == Flow.Status.LIVE:
        cancelled = FlowEnrollment.objects.filter(flow=flow, status=Status.ACTIVE).update(
            status=Status.CANCELLED,
            ended_at=now,
            end_reason="The flow was switched off.",
            next_run_at=None,
            claim=None,
            claimed_until=None,
        )
    audit_record(
        actor=actor,
        action="flow.status_changed",
        instance=flow,
        before={"status": before},
        after={"status": status, "enrollments_cancelled": cancelled},
        organization=flow.organization,
    )
    return flow


@transaction.atomic
def enrollment_cancel(*, enrollment: FlowEnrollment, actor, reason: str = "") -> FlowEnrollment:
    enrollment = FlowEnrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status != Status.ACTIVE:
        return enrollment
    _end(enrollment, Status.CANCELLED, reason or "Cancelled by staff.", timezone.now())
    audit_record(
        actor=actor,
        action="flow_enrollment.cancelled",
        instance=enrollment,
        after={"reason": enrollment.end_reason},
        organization=enrollment.flow.organization,
    )
    return enrollment


# --- Entering ---------------------------------------------------------------------------------------------


def _home_store(customer: Customer, store_id: int | None = None) -> Store | None:
    if store_id:
        store = Store.objects.filter(pk=store_id, organization_id=customer.organization_id).first()
        if store is not None:
            return store
    if customer.home_store_id:
        return customer.home_store
    return (
        Store.objects.filter(organization_id=customer.organization_id, is_active=True).order_by("pk").first()
    )


def _steps_of(flow: Flow) -> list[FlowStep]:
    return sorted(flow.steps.all(), key=lambda step: (step.position, step.pk))


def _first_step(steps: list[FlowStep]) -> FlowStep | None:
    return next((step for step in steps if step.parent_id is None), None)


def flow_enrol(
    *,
    flow: Flow,
    customer: Customer,
    trigger_key: str,
    store: Store | None = None,
    context: dict | None = None,
    now: dt.datetime | None = None,
) -> FlowEnrollment | None:
    """Put the customer in the flow, once per trigger key: only a live flow of the customer's organization, at
    one of its stores, with its filters matching and its re-entry rule allowing. The first step runs at the
    runner's next pass. The customer's row is locked, so two triggers at once enrol once."""
    now = now or timezone.now()
    if flow.status != Flow.Status.LIVE or customer.organization_id != flow.organization_id:
        return None
    with transaction.atomic():
        Customer.objects.select_for_update(of=("self",)).filter(pk=customer.pk).first()
        store = store or _home_store(customer)
        store_ids = {pk for pk in flow.stores.values_list("pk", flat=True)}
        if store_ids and (store is None or store.pk not in store_ids):
            return None
        previous = FlowEnrollment.objects.filter(flow=flow, customer=customer)
        if previous.filter(trigger_key=trigger_key[:80]).exists():
            return None
        if flow.reentry == Flow.Reentry.NEVER and previous.exists():
            return None
        if flow.reentry == Flow.Reentry.AFTER_DAYS:
            since = now - dt.timedelta(days=flow.reentry_days or 0)
            if previous.filter(Q(status=Status.ACTIVE) | Q(entered_at__gt=since)).exists():
                return None
        if flow.filters and not customer_matches(
            customer.pk, flow.organization_id, flow.filters, flow.filter_match, now=now
        ):
            return None
        first = _first_step(_steps_of(flow))
        try:
            with transaction.atomic():
                return FlowEnrollment.objects.create(
                    flow=flow,
                    customer=customer,
                    store=store,
                    trigger_key=trigger_key[:80],
                    context=context or {},
                    status=Status.ACTIVE if first else Status.COMPLETED,
                    next_step=first,
                    next_run_at=now if first else None,
                    entered_at=now,
                    ended_at=None if first else now,
                )
        except IntegrityError:
            return None  # the same trigger enrolled meanwhile


def _live_flows(organization_id: int, trigger_type: str) -> list[Flow]:
    return [
        flow
        for flow in Flow.objects.filter(organization_id=organization_id, status=Flow.Status.LIVE).order_by(
            "pk"
        )
        if isinstance(flow.trigger, dict) and flow.trigger.get("type") == trigger_type
    ]


def flows_trigger(
    *,
    organization_id: int,
    customer_id: int,
    trigger_type: str,
    trigger_key: str,
    store_id: int | None = None,
    context: dict | None = None,
    accepts=None,
    now: dt.datetime | None = None,
) -> list[FlowEnrollment]:
    """Enrol the customer in every live flow of the organization whose trigger is of `trigger_type` and which
    `accepts(trigger)` (every one when None)."""
    flows = [f for f in _live_flows(organization_id, trigger_type) if accepts is None or accepts(f.trigger)]
    if not flows:
        return []
    customer = (
        Customer.objects.filter(pk=customer_id, organization_id=organization_id)
        .select_related("home_store")
        .first()
    )
    if customer is None:
        return []
    store = _home_store(customer, store_id)
    enrolled = []
    for flow in flows:
        enrollment = flow_enrol(
            flow=flow, customer=customer, trigger_key=trigger_key, store=store, context=context, now=now
        )
        if enrollment is not None:
            enrolled.append(enrollment)
    return enrolled


# --- Goal and reach ---------------------------------------------------------------------------------------


def _purchased_since(enrollment: FlowEnrollment) -> bool:
    from pos.models import Sale

    sales = Sale.objects.filter(
        customer_id=enrollment.customer_id,
        status=Sale.Status.COMPLETED,
        completed_at__gte=enrollment.entered_at,
    )
    trigger_sale = (enrollment.context or {}).get("sale_id")
    if trigger_sale:
        sales = sales.exclude(pk=trigger_sale)
    return sales.exists()


def flows_goal_check(*, customer_id: int, organization_id: int, now: dt.datetime | None = None) -> int:
    """End the customer's active enrollments whose goal is a purchase and who bought since entering."""
    now = now or timezone.now()
    ended = 0
    for enrollment in FlowEnrollment.objects.filter(
        customer_id=customer_id,
        flow__organization_id=organization_id,
        flow__goal=Flow.Goal.PURCHASE,
        status=Status.ACTIVE,
    ).select_related("flow"):
        with transaction.atomic():
            locked = FlowEnrollment.objects.select_for_update().get(pk=enrollment.pk)
            if locked.status == Status.ACTIVE and _purchased_since(locked):
                _end(locked, Status.CONVERTED, "Bought since entering the flow.", now)
                ended += 1
    return ended


def _reachable_channels(customer: Customer, channels: set[str]) -> set[str]:
    """The channels among `channels` on which a marketing message may go to the customer now: an address on
    file, marketing consent in the ledger, no suppression of the address."""
    reachable = set()
    for channel in sorted(channels):
        address = recipient_address(customer, channel)
        if not address:
            continue
        state = consent_states([customer.pk], channel=channel)[
            (customer.pk, MarketingConsent.Purpose.MARKETING)
        ]
        if not state.allowed:
            continue
        suppressed = Suppression.objects.filter(
            organization_id=customer.organization_id,
            channel=channel,
            address=address.lower() if channel == Channel.EMAIL else address,
            lifted_at__isnull=True,
            category__in=["", Category.MARKETING],
        ).exists()
        if not suppressed:
            reachable.add(channel)
    return reachable


# --- The walk ---------------------------------------------------------------------------------------------


class Tree:
    """A flow's steps in memory: children by parent and branch, in position order."""

    def __init__(self, steps: list[FlowStep]):
        self.steps = {step.pk: step for step in steps}
        self.children: dict[int | None, list[FlowStep]] = defaultdict(list)
        for step in sorted(steps, key=lambda s: (s.position, s.pk)):
            self.children[step.parent_id].append(step)

    def kids(self, step: FlowStep, branch: str | None = None) -> list[FlowStep]:
        kids = self.children.get(step.pk, [])
        if step.kind in (Kind.CONDITION, Kind.AB_SPLIT):
            return [kid for kid in kids if kid.branch == branch]
        return kids

    def after(self, step: FlowStep, branch: str | None = None) -> FlowStep | None:
        """The step that follows `step` (whose outcome is `branch` for a split)."""
        kids = self.kids(step, branch)
        if kids:
            return kids[0]
        return self.following(step)

    def following(self, step: FlowStep) -> FlowStep | None:
        """The next sibling on the same branch, else the parent's following step."""
        while True:
            siblings = [s for s in self.children.get(step.parent_id, []) if s.branch == step.branch]
            index = next(i for i, s in enumerate(siblings) if s.pk == step.pk)
            if index + 1 < len(siblings):
                return siblings[index + 1]
            if step.parent_id is None:
                return None
            step = self.steps[step.parent_id]

    def variant(self, step: FlowStep) -> str:
        """The A/B branch a step is on ("" when under no A/B split)."""
        while step.parent_id is not None:
            parent = self.steps[step.parent_id]
            if parent.kind == Kind.AB_SPLIT:
                return step.branch
            step = parent
        return ""

    def subtree(self, step: FlowStep, branch: str) -> list[int]:
        out, todo = [], [kid for kid in self.kids(step, branch)]
        while todo:
            current = todo.pop()
            out.append(current.pk)
            todo += self.children.get(current.pk, [])
        return out

    def channels(self) -> set[str]:
        return {SEND_KINDS[step.kind] for step in self.steps.values() if step.kind in SEND_KINDS}


@dataclass
class Outcome:
    outcome: str
    detail: str = ""
    branch: str | None = None
    wait_until: dt.datetime | None = None
    end: str = ""  # an enrollment status: the step ends the flow
    end_reason: str = ""
    message: OutboundMessage | None = None


def _end(enrollment: FlowEnrollment, status: str, reason: str, now: dt.datetime) -> None:
    enrollment.status = status
    enrollment.ended_at = now
    enrollment.end_reason = reason[:200]
    enrollment.next_run_at = None
    enrollment.claim = None
    enrollment.claimed_until = None
    enrollment.save(
        update_fields=["status", "ended_at", "end_reason", "next_run_at", "claim", "claimed_until"]
    )


def _store_of(enrollment: FlowEnrollment) -> Store | None:
    if enrollment.store_id:
        return enrollment.store
    return _home_store(enrollment.customer)


def _local(moment: dt.datetime, day: dt.date, at: dt.time, zone) -> dt.datetime:
    """`day` at `at` in `zone`, as an aware datetime (a time skipped by the spring change moves past the gap)."""
    local = dt.datetime.combine(day, at, tzinfo=zone)
    return local.astimezone(dt.UTC).astimezone(zone)


def delay_until(config: dict, *, start: dt.datetime, entered_at: dt.datetime, zone) -> dt.datetime:
    """When a wait that starts at `start` ends, in the store's zone `zone` (days keep the local time across a
    daylight-saving change)."""
    local = start.astimezone(zone)
    if "hours" in config:
        return start + dt.timedelta(hours=int(config["hours"]))
    if "minutes" in config:
        return start + dt.timedelta(minutes=int(config["minutes"]))
    if "next_day_at" in config:
        return _local(local, local.date() + dt.timedelta(days=1), _clock(config["next_day_at"]), zone)
    if "days_after_entry" in config:
        base = entered_at.astimezone(zone)
        days = int(config["days_after_entry"])
    else:
        base, days = local, int(config["days"])
    at = _clock(config["at"]) if "at" in config else base.time().replace(tzinfo=None)
    return _local(base, base.date() + dt.timedelta(days=days), at, zone)


def _flow_messages(enrollment: FlowEnrollment):
    return OutboundMessage.objects.filter(
        customer_id=enrollment.customer_id,
        origin__flow_id=enrollment.flow_id,
        created_at__gte=enrollment.entered_at,
    )


def _engaged(enrollment: FlowEnrollment, engagement: str) -> bool:
    messages = _flow_messages(enrollment)
    if MessageStatusEvent.objects.filter(message__in=messages, status=engagement).exists():
        return True
    if engagement == MessageStatusEvent.Engagement.CLICKED:
        return LinkClick.objects.filter(link__message__in=messages).exists()
    return False


def _ab_winner(step: FlowStep, tree: Tree, now: dt.datetime) -> str:
    """The split's winner once its rule says so: after `after_days` from its first run, the variant whose
    messages did better by the metric (opens, clicks or purchases credited per message sent; a tie keeps A)."""
    from messaging.results import results_by

    if step.winner:
        return step.winner
    rule = (step.config or {}).get("winner") or {}
    if not rule:
        return ""
    first = FlowStepRun.objects.filter(step=step).order_by("ran_at").values_list("ran_at", flat=True).first()
    if first is None or now < first + dt.timedelta(days=int(rule["after_days"])):
        return ""
    locked = FlowStep.objects.select_for_update().get(pk=step.pk)
    if locked.winner:
        step.winner = locked.winner
        return locked.winner
    rates = {}
    for branch in ("a", "b"):
        messages = OutboundMessage.objects.filter(origin__flow_step_id__in=tree.subtree(step, branch))
        result = results_by(messages, "origin__flow_id").get(step.flow_id)
        part = 0
        if result is not None:
            part = result.converted if rule["metric"] == "purchased" else getattr(result, rule["metric"])
        rates[branch] = part / result.recipients if result and result.recipients else 0.0
    winner = "b" if rates["b"] > rates["a"] else "a"
    FlowStep.objects.filter(pk=step.pk).update(winner=winner, winner_decided_at=now)
    step.winner, step.winner_decided_at = winner, now
    return winner


def _variant_of(enrollment: FlowEnrollment, step: FlowStep) -> str:
    digest = hashlib.sha256(f"{enrollment.pk}:{step.pk}".encode()).hexdigest()
    return "a" if int(digest[:8], 16) % 100 < int((step.config or {}).get("share_a", 50)) else "b"


def _text(value) -> str:
    return _DOUBLE_BRACES.sub(r"{\1}", str(value or ""))


def rating_link(enrollment: FlowEnrollment) -> str:
    token = signing.dumps(enrollment.pk, salt=RATING_SALT)
    base = getattr(settings, "PUBLIC_SITE_URL", "") or ""
    return base.rstrip("/") + reverse("messaging:flow_rating", args=[token])


def rating_enrollment_get(*, token: str) -> FlowEnrollment | None:
    """The enrollment a rating link was made for, or None for a link that is not ours or too old."""
    try:
        enrollment_id = signing.loads(token, salt=RATING_SALT, max_age=RATING_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(enrollment_id, int):
        return None
    return (
        FlowEnrollment.objects.select_related("flow__organization", "store").filter(pk=enrollment_id).first()
    )


@transaction.atomic
def flow_rating_record(
    *, enrollment: FlowEnrollment, score: int, now: dt.datetime | None = None
) -> FlowEnrollment:
    """Keep the customer's answer (1 to 5) to "How was your visit?" on the enrollment; a second answer replaces
    the first. A rating of 2 or less raises an alert for the store's managers."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise FlowDefinitionError("A rating is a whole number from 1 to 5.", code="rating_invalid")
    now = now or timezone.now()
    enrollment = FlowEnrollment.objects.select_for_update(of=("self",)).get(pk=enrollment.pk)
    enrollment.context = {**(enrollment.context or {}), "rating": score, "rated_at": now.isoformat()}
    enrollment.save(update_fields=["context"])
    if score <= 2:
        store = enrollment.store
        MessagingAlert.objects.get_or_create(
            organization_id=enrollment.flow.organization_id,
            scope=f"rating:{enrollment.pk}"[:40],
            kind=MessagingAlert.Kind.FLOW,
            day=store_local_date(store, at=now) if store else now.date(),
            defaults={
                "store": store,
                "message": f"A customer rated their visit {score} out of 5: call them back.",
                "details": {"enrollment": enrollment.pk, "customer": enrollment.customer_id, "rating": score},
            },
        )
    return enrollment


def _variables(enrollment: FlowEnrollment, store: Store | None, texts: str) -> dict:
    values = {
        key: str(value) for key, value in (enrollment.context or {}).items() if isinstance(value, str | int)
    }
    if "{recommendations}" in texts and store is not None:
        from messaging.recommendations import products_recommended

        reorder = (enrollment.flow.trigger or {}).get("type") == "reorder"
        picks = products_recommended(enrollment.customer, store, limit=3, include_bought=reorder)
        values["recommendations"] = ", ".join(
            f"{pick.name} (${pick.price:,.2f})" if pick.price is not None else pick.name for pick in picks
        )
    if "{points_balance}" in texts:
        from pos.models import LoyaltyAccount

        balance = LoyaltyAccount.objects.filter(customer_id=enrollment.customer_id).values_list(
            "balance", flat=True
        )
        values["points_balance"] = str(balance.first() or 0)
    if "{coupon_link}" in texts:
        from messaging.coupon_page import coupon_link

        coupon = _coupon_of(enrollment)
        values["coupon_link"] = coupon_link(coupon) if coupon is not None else ""
    if "{rating_link}" in texts:
        values["rating_link"] = rating_link(enrollment)
    return values


def _send(enrollment: FlowEnrollment, step: FlowStep, tree: Tree, now: dt.datetime) -> Outcome:
    from messaging.rendering import template_resolve

    channel = SEND_KINDS[step.kind]
    customer, store = enrollment.customer, _store_of(enrollment)
    reachable = _reachable_channels(customer, tree.channels())
    if not reachable:
        return Outcome("stopped", end=Status.STOPPED, end_reason="Cannot be reached for marketing any more.")
    if channel not in reachable:
        return Outcome("skipped", f"Not reachable by {'text' if channel == Channel.SMS else 'email'}.")
    config = step.config
    body, subject, html = (
        _text(config.get("body")),
        _text(config.get("subject")),
        _text(config.get("html_body")),
    )
    if not body.strip() and config.get("template_key"):
        wording = template_resolve(
            organization_id=customer.organization_id,
            store_id=store.pk if store else None,
            key=config["template_key"],
            channel=channel,
            language=getattr(customer, "language", "") or "en",
        )
        if wording is None:
            return Outcome("skipped", f'No words for the template "{config["template_key"]}".')
        body, subject = _text(wording.body), subject or _text(wording.subject)
    message = retention_message_enqueue(
        customer=customer,
        store=store,
        channel=channel,
        body=body,
        subject=subject,
        html_body=html,
        topic=str(config.get("topic") or enrollment.flow.template or enrollment.flow.name)[:80],
        key=retention_key("flow", enrollment.pk, step.pk),
        purpose="flow",
        variables=_variables(enrollment, store, " ".join((body, subject, html))),
        flow_step=step,
        variant=tree.variant(step),
        coupon=_coupon_of(enrollment),
    )
    if message is None:
        return Outcome("skipped", "No address on file for this channel.")
    return Outcome("sent", f"Message {message.pk}", message=message)


def _coupon_of(enrollment: FlowEnrollment):
    from pos.models import Coupon

    coupon_id = (enrollment.context or {}).get("coupon_id")
    return Coupon.objects.filter(pk=coupon_id).first() if coupon_id else None


def _coupon(enrollment: FlowEnrollment, step: FlowStep, now: dt.datetime) -> Outcome:
    from pos.models import Promotion
    from pos.services.coupons import coupon_issue_personal

    config = step.config
    promotion = Promotion.objects.filter(
        pk=config.get("promotion"), organization_id=enrollment.flow.organization_id
    )
    promotion = promotion.first()
    if promotion is None:
        return Outcome("skipped", "The coupon's promotion no longer exists.")
    min_spend = config.get("min_spend")
    coupon = coupon_issue_personal(
        promotion=promotion,
        customer_id=enrollment.customer_id,
        message_key=str(retention_key("flow-coupon", enrollment.pk, step.pk)),
        valid_until=now + dt.timedelta(days=int(config.get("valid_days", 14))),
        min_spend=Decimal(str(min_spend)) if min_spend not in (None, "") else None,
    )
    enrollment.context = {**(enrollment.context or {}), "coupon_id": coupon.pk, "coupon_code": coupon.code}
    return Outcome("issued", f"Coupon {coupon.code}")


def _points(enrollment: FlowEnrollment, step: FlowStep, now: dt.datetime) -> Outcome:
    from pos.services.loyalty import loyalty_points_adjust

    points = int(step.config["points"])
    note = str(step.config.get("note") or f"From the flow {enrollment.flow.name}")
    _, balance = loyalty_points_adjust(customer_id=enrollment.customer_id, points=points, note=note, now=now)
    return Outcome("added", f"{points:+d} points, balance {balance}")


def _profile(enrollment: FlowEnrollment, step: FlowStep, now: dt.datetime) -> Outcome:
    field, value = step.config["field"], str(step.config.get("value") or "")
    customer = Customer.objects.select_for_update(of=("self",)).get(pk=enrollment.customer_id)
    before = getattr(customer, field)
    if field == "notes":
        line = f"{store_local_date(_store_of(enrollment), at=now) if _store_of(enrollment) else now.date()}: {value}"
        customer.notes = f"{customer.notes}\n{line}".strip()
    else:
        setattr(customer, field, value)
    customer.save(update_fields=[field, "updated_at"])
    audit_record(
        actor=f"flow {enrollment.flow_id}",
        action="customer.updated_by_flow",
        instance=customer,
        before={field: before},
        after={field: getattr(customer, field)},
        organization=enrollment.flow.organization,
    )
    enrollment.customer = customer
    return Outcome("updated", field)


def webhook_signature(body: bytes) -> str:
    secret = (
        getattr(settings, "MESSAGING_FLOW_WEBHOOK_SECRET", "")
        or hmac.new(settings.SECRET_KEY.encode(), b"flow-webhooks", hashlib.sha256).hexdigest()
    )
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _webhook(enrollment: FlowEnrollment, step: FlowStep, now: dt.datetime) -> Outcome:
    key = str(retention_key("flow-webhook", enrollment.pk, step.pk))
    publish(
        FlowWebhookRequested(
            key=key,
            organization_id=enrollment.flow.organization_id,
            flow_id=enrollment.flow_id,
            step_id=step.pk,
            enrollment_id=enrollment.pk,
            customer_id=enrollment.customer_id,
            url=str(step.config["url"]),
            occurred_at=now.astimezone(dt.UTC).isoformat(),
        )
    )
    return Outcome("requested", f"Webhook {key}")


def _alert(enrollment: FlowEnrollment, step: FlowStep, now: dt.datetime) -> Outcome:
    store = _store_of(enrollment)
    customer = enrollment.customer
    words = render_alert(str(step.config["message"]), customer)
    alert, _ = MessagingAlert.objects.get_or_create(
        organization_id=enrollment.flow.organization_id,
        scope=f"flow:{enrollment.pk}:{step.pk}"[:40],
        kind=MessagingAlert.Kind.FLOW,
        day=store_local_date(store, at=now) if store else now.date(),
        defaults={
            "store": store,
            "message": words[:500],
            "details": {"flow": enrollment.flow_id, "customer": customer.pk, "enrollment": enrollment.pk},
        },
    )
    return Outcome("alerted", f"Alert {alert.pk}")


def render_alert(text: str, customer: Customer) -> str:
    from messaging.rendering import render_text

    return render_text(_text(text), {"first_name": customer.first_name, "customer": customer.full_name})


def _exit(enrollment: FlowEnrollment, step: FlowStep, now: dt.datetime) -> Outcome:
    suppressed = 0
    if step.config.get("suppress_marketing"):
        for channel in (Channel.SMS, Channel.EMAIL):
            address = recipient_address(enrollment.customer, channel)
            if address:
                suppression_add(
                    organization_id=enrollment.flow.organization_id,
                    channel=channel,
                    address=address,
                    reason=Suppression.Reason.SUNSET,
                    category=Category.MARKETING,
                    detail=f"Left the flow {enrollment.flow.name} without buying (enrollment {enrollment.pk}).",
                    now=now,
                )
                suppressed += 1
    detail = f"Suppressed from marketing on {suppressed} channel(s)." if suppressed else ""
    return Outcome(
        "exited",
        detail,
        end=Status.COMPLETED,
        end_reason="Reached the end step." + (f" {detail}" if detail else ""),
    )


def _condition(enrollment: FlowEnrollment, step: FlowStep, now: dt.datetime) -> Outcome:
    test = step.config["test"]
    if test == "purchased":
        yes = _purchased_since(enrollment)
    elif test == "property":
        yes = customer_matches(
            enrollment.customer_id, enrollment.flow.organization_id, [step.config["condition"]], now=now
        )
    else:
        yes = _engaged(enrollment, test)
    branch = "yes" if yes else "no"
    return Outcome(branch, branch=branch)


def _step_do(enrollment: FlowEnrollment, step: FlowStep, tree: Tree, now: dt.datetime) -> Outcome:
    kind = step.kind
    if kind == Kind.DELAY:
        store = _store_of(enrollment)
        zone = store.tz if store else dt.UTC
        start = min(enrollment.next_run_at or now, now)
        until = delay_until(step.config, start=start, entered_at=enrollment.entered_at, zone=zone)
        return Outcome("waited", f"until {until.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC", wait_until=until)
    if kind == Kind.CONDITION:
        return _condition(enrollment, step, now)
    if kind == Kind.AB_SPLIT:
        winner = _ab_winner(step, tree, now)
        branch = winner or _variant_of(enrollment, step)
        return Outcome(branch, "the winner" if winner else "", branch=branch)
    if kind in SEND_KINDS:
        return _send(enrollment, step, tree, now)
    if kind == Kind.COUPON:
        return _coupon(enrollment, step, now)
    if kind == Kind.POINTS:
        return _points(enrollment, step, now)
    if kind == Kind.PROFILE:
        return _profile(enrollment, step, now)
    if kind == Kind.WEBHOOK:
        return _webhook(enrollment, step, now)
    if kind == Kind.ALERT_STAFF:
        return _alert(enrollment, step, now)
    return _exit(enrollment, step, now)


def _checks(enrollment: FlowEnrollment, now: dt.datetime) -> tuple[str, str]:
    """Before every step: (status, reason) when the enrollment must end, else ("", "")."""
    flow = enrollment.flow
    if flow.status != Flow.Status.LIVE:
        return Status.CANCELLED, "The flow was switched off."
    if flow.goal == Flow.Goal.PURCHASE and _purchased_since(enrollment):
        return Status.CONVERTED, "Bought since entering the flow."
    if flow.filters and not customer_matches(
        enrollment.customer_id, flow.organization_id, flow.filters, flow.filter_match, now=now
    ):
        return Status.FILTERED, "No longer fits the flow's filters."
    return "", ""


def _step_once(enrollment_id: int, claim: uuid.UUID, now: dt.datetime, trees: dict) -> bool:
    """Run the enrollment's next step in one transaction; True when another step is due now."""
    with transaction.atomic():
        enrollment = (
            FlowEnrollment.objects.select_for_update(of=("self",))
            .select_related("flow__organization", "customer__home_store", "store")
            .filter(pk=enrollment_id)
            .first()
        )
        if enrollment is None or enrollment.claim != claim or enrollment.status != Status.ACTIVE:
            return False
        if enrollment.next_run_at is None or enrollment.next_run_at > now:
            return False
        flow = enrollment.flow
        if flow.pk not in trees:
            trees[flow.pk] = Tree(_steps_of(flow))
        tree = trees[flow.pk]
        step = tree.steps.get(enrollment.next_step_id)
        if step is None:
            _end(enrollment, Status.COMPLETED, "Finished every step.", now)
            return False
        status, reason = _checks(enrollment, now)
        if status:
            _end(enrollment, status, reason, now)
            return False
        done = FlowStepRun.objects.filter(enrollment=enrollment, step=step).first()
        if done is not None:  # recorded by an earlier run whose move on was lost: never do it twice
            outcome = Outcome(
                done.outcome, branch=done.outcome if step.kind in (Kind.CONDITION, Kind.AB_SPLIT) else None
            )
        else:
            outcome = _step_do(enrollment, step, tree, now)
            FlowStepRun.objects.create(
                enrollment=enrollment,
                step=step,
                ran_at=now,
                outcome=outcome.outcome[:40],
                detail=outcome.detail[:300],
                message=outcome.message,
            )
        if outcome.end:
            enrollment.save(update_fields=["context"])
            _end(enrollment, outcome.end, outcome.end_reason, now)
            return False
        following = tree.after(step, outcome.branch)
        if following is None:
            enrollment.save(update_fields=["context"])
            _end(enrollment, Status.COMPLETED, "Finished every step.", now)
            return False
        enrollment.next_step = following
        enrollment.next_run_at = outcome.wait_until or enrollment.next_run_at
        enrollment.save(update_fields=["next_step", "next_run_at", "context"])
        return enrollment.next_run_at <= now


def flows_run_due(now: dt.datetime | None = None, *, limit: int = 500) -> int:
    """Claim up to `limit` due enrollments (a claim and a lease: another worker skips them until the lease ends,
    so a killed worker's enrollments are taken up again after CLAIM_LEASE) and walk each until it waits or
    ends. Returns the number of steps run."""
    now = now or timezone.now()
    claim = uuid.uuid4()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    ids = list(
        FlowEnrollment.objects.filter(free, status=Status.ACTIVE, next_run_at__lte=now)
        .order_by("next_run_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    # The UPDATE decides: a row another worker claimed meanwhile no longer matches `free`.
    FlowEnrollment.objects.filter(free, pk__in=ids, status=Status.ACTIVE).update(
        claim=claim, claimed_until=now + CLAIM_LEASE
    )
    steps, trees = 0, {}
    for enrollment_id in (
        FlowEnrollment.objects.filter(claim=claim).order_by("next_run_at", "pk").values_list("pk", flat=True)
    ):
        try:
            for _ in range(STEPS_PER_RUN):
                due_again = _step_once(enrollment_id, claim, now, trees)
                steps += 1
                if not due_again:
                    break
        except Exception:  # noqa: BLE001 - one broken enrollment must not stall the others of the batch
            # Its step rolled back; it keeps the claim, so it is tried again when the lease ends (a backoff).
            logger.exception(
                "Flow enrollment %s failed at its next step; retried after the lease", enrollment_id
            )
            continue
        FlowEnrollment.objects.filter(pk=enrollment_id, claim=claim).update(claim=None, claimed_until=None)
    return steps


# --- Date triggers ----------------------------------------------------------------------------------------


def _store_customers(store: Store, first_store_id: int):
    home = Q(home_store=store)
    if first_store_id == store.pk:
        home |= Q(home_store__isnull=True)
    return Customer.objects.filter(home, organization_id=store.organization_id)


def _enrol_many(flow: Flow, store: Store, rows, now: dt.datetime) -> int:
    """rows: (customer, trigger_key, context)."""
    allowed = set(flow.stores.values_list("pk", flat=True))
    if allowed and store.pk not in allowed:
        return 0
    count = 0
    for customer, key, context in rows:
        count += (
            flow_enrol(flow=flow, customer=customer, trigger_key=key, store=store, context=context, now=now)
            is not None
        )
    return count


def _birthday_rows(flow: Flow, store: Store, customers, today: dt.date):
    day = today + dt.timedelta(days=int(flow.trigger.get("days_before", 0)))
    match = Q(date_of_birth__month=day.month, date_of_birth__day=day.day)
    if day.month == 2 and day.day == 28 and not _leap(day.year):
        match |= Q(date_of_birth__month=2, date_of_birth__day=29)
    for customer in customers.filter(match).order_by("pk"):
        yield customer, f"birthday:{day.year}", {}


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _card_rows(flow: Flow, store: Store, customers, today: dt.date):
    from compliance.models import PatientRegistration

    day = today + dt.timedelta(days=int(flow.trigger.get("days_before", 30)))
    registrations = PatientRegistration.objects.filter(customer__in=customers, expires_on=day).select_related(
        "customer"
    )
    for registration in registrations.order_by("pk"):
        expiry = registration.expires_on
        yield (
            registration.customer,
            f"card:{registration.pk}:{expiry.isoformat()}",
            {"card_expires_on": f"{expiry:%B} {expiry.day}, {expiry.year}"},
        )


def _inactivity_rows(flow: Flow, store: Store, customers, now: dt.datetime):
    from pos.models import Sale

    days = int(flow.trigger["days"])
    low = now - dt.timedelta(days=days + INACTIVITY_WINDOW_DAYS)
    high = now - dt.timedelta(days=days)
    last = (
        Sale.objects.filter(customer__in=customers, status=Sale.Status.COMPLETED)
        .values("customer_id")
        .annotate(last=Max_("completed_at"))
        .filter(last__gt=low, last__lte=high)
    )
    by_customer = {row["customer_id"]: row["last"] for row in last}
    if not by_customer:
        return
    last_sales = dict(
        Sale.objects.filter(customer_id__in=list(by_customer), status=Sale.Status.COMPLETED)
        .order_by("customer_id", "completed_at", "pk")
        .values_list("customer_id", "pk")
    )
    for customer in Customer.objects.filter(pk__in=list(by_customer)).order_by("pk"):
        yield customer, f"inactive:{last_sales[customer.pk]}", {"days_inactive": str(days)}


def Max_(field):  # noqa: N802 - a local alias kept beside its one use
    from django.db.models import Max

    return Max(field)


def reorder_due(*, customer_ids, today: dt.date, min_purchases: int = 2) -> list[tuple[int, str, int, int]]:
    """(customer_id, category, interval_days, last_sale_id) for each customer and category whose usual
    repurchase interval (the median gap in days between their purchase days of that category, over the last
    year) has passed since their last purchase of it, by up to REORDER_WINDOW_DAYS."""
    from pos.models import Sale, SaleLine

    rows = (
        SaleLine.objects.filter(
            sale__customer_id__in=customer_ids,
            sale__status=Sale.Status.COMPLETED,
            sale__local_date__gte=today - dt.timedelta(days=365),
        )
        .exclude(product__category="")
        .values_list("sale__customer_id", "product__category", "sale__local_date", "sale_id")
        .order_by("sale__customer_id", "product__category", "sale__local_date", "sale_id")
    )
    days: dict[tuple[int, str], list[tuple[dt.date, int]]] = defaultdict(list)
    for customer_id, category, day, sale_id in rows:
        bucket = days[(customer_id, category)]
        if bucket and bucket[-1][0] == day:
            bucket[-1] = (day, sale_id)
        else:
            bucket.append((day, sale_id))
    due = []
    for (customer_id, category), bought in days.items():
        if len(bought) < min_purchases:
            continue
        gaps = [(b[0] - a[0]).days for a, b in zip(bought, bought[1:], strict=False)]
        interval = round(statistics.median(gaps))
        since = (today - bought[-1][0]).days
        if interval >= 1 and interval <= since < interval + REORDER_WINDOW_DAYS:
            due.append((customer_id, category, interval, bought[-1][1]))
    return sorted(due)


def _reorder_rows(flow: Flow, store: Store, customers, today: dt.date):
    due = reorder_due(
        customer_ids=customers.values("pk"),
        today=today,
        min_purchases=int(flow.trigger.get("min_purchases", 2)),
    )
    people = Customer.objects.in_bulk([row[0] for row in due])
    for customer_id, category, interval, sale_id in due:
        key = f"reorder:{sale_id}:{hashlib.sha256(category.encode()).hexdigest()[:12]}"
        yield people[customer_id], key, {"category": category, "interval_days": str(interval)}


def flows_dates_enrol(now: dt.datetime | None = None) -> int:
    """The date triggers for every live flow, each store from DATE_TRIGGER_HOUR of its local day: birthdays,
    medical cards expiring, customers gone quiet, reorders due. Returns how many enrolled."""
    now = now or timezone.now()
    flows = [
        flow
        for flow in Flow.objects.filter(status=Flow.Status.LIVE).order_by("pk")
        if isinstance(flow.trigger, dict) and flow.trigger.get("type") in ("date", "inactivity", "reorder")
    ]
    if not flows:
        return 0
    organizations = {flow.organization_id for flow in flows}
    stores = list(Store.objects.filter(organization_id__in=organizations, is_active=True).order_by("pk"))
    first_store: dict[int, int] = {}
    for store in stores:
        first_store.setdefault(store.organization_id, store.pk)
    enrolled = 0
    for store in stores:
        if store_local_now(store, at=now).hour < DATE_TRIGGER_HOUR:
            continue
        today = store_local_date(store, at=now)
        customers = _store_customers(store, first_store[store.organization_id])
        for flow in flows:
            if flow.organization_id != store.organization_id:
                continue
            trigger = flow.trigger
            if trigger["type"] == "date" and trigger.get("field") == "birthday":
                rows = _birthday_rows(flow, store, customers, today)
            elif trigger["type"] == "date":
                rows = _card_rows(flow, store, customers, today)
            elif trigger["type"] == "inactivity":
                rows = _inactivity_rows(flow, store, customers, now)
            else:
                rows = _reorder_rows(flow, store, customers, today)
            enrolled += _enrol_many(flow, store, rows, now)
    return enrolled


# --- Reading ----------------------------------------------------------------------------------------------


def flow_step_counts(*, flow: Flow) -> dict[int, dict]:
    """Per step id: {"ran": n, "outcomes": {outcome: n}, "waiting": n (active enrollments whose next step it
    is)}. Two queries."""
    counts: dict[int, dict] = defaultdict(lambda: {"ran": 0, "outcomes": {}, "waiting": 0})
    for row in (
        FlowStepRun.objects.filter(step__flow=flow)
        .values("step_id", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    ):
        entry = counts[row["step_id"]]
        entry["ran"] += row["n"]
        entry["outcomes"][row["outcome"]] = row["n"]
    for row in (
        FlowEnrollment.objects.filter(flow=flow, status=Status.ACTIVE)
        .values("next_step_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if row["next_step_id"]:
            counts[row["next_step_id"]]["waiting"] = row["n"]
    return dict(counts)


def flow_enrollment_counts(*, flow: Flow) -> dict[str, int]:
    """Enrollments by status. One query."""
    rows = FlowEnrollment.objects.filter(flow=flow).values("status").annotate(n=Count("id")).order_by()
    return {row["status"]: row["n"] for row in rows}


# --- Reversing the win-back's suppression ------------------------------------------------------------------


def sunset_lift(*, customer: Customer, reason: str, now: dt.datetime | None = None) -> int:
    """Lift the marketing suppressions a win-back's end added to the customer's addresses (they bought again,
    or staff asked). Returns how many were lifted."""
    addresses = [
        (channel, address.lower() if channel == Channel.EMAIL else address)
        for channel in (Channel.SMS, Channel.EMAIL)
        if (address := recipient_address(customer, channel))
    ]
    if not addresses:
        return 0
    match = Q()
    for channel, address in addresses:
        match |= Q(channel=channel, address=address)
    return Suppression.objects.filter(
        match,
        organization_id=customer.organization_id,
        reason=Suppression.Reason.SUNSET,
        lifted_at__isnull=True,
    ).update(lifted_at=now or timezone.now(), lifted_reason=reason[:200])


def customer_spend(customer_id: int) -> Decimal:
    from pos.models import Sale

    total = Sale.objects.filter(customer_id=customer_id, status=Sale.Status.COMPLETED).aggregate(
        total=Sum("total"), refunded=Sum("refunded_total")
    )
    return (total["total"] or Decimal("0")) - (total["refunded"] or Decimal("0"))
