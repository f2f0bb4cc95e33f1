"""The flow editor's reads and writes: a flow's trigger, filters and steps in plain words, its steps as a tree
with the counts of each step (a fixed number of queries whatever the number of steps), and the audited writes
of the editor (status, settings, adding, changing, moving and deleting steps)."""

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from dispensary.audit import audit_record, snapshot
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import Organization, Store
from messaging.models import Flow, FlowEnrollment, FlowStep, FlowStepRun, OutboundMessage, Segment
from messaging.results import Results, results_by

# --- Plain words ----------------------------------------------------------------------------------------------

# The triggers the editor offers: a key, its words, and the trigger it stores (the engine reads `trigger`).
EVENT_TRIGGERS = {
    "first_purchase": (
        "When a customer makes their first purchase",
        {"type": "event", "event": "pos.sale_completed", "first_purchase": True},
    ),
    "sale_completed": ("After every purchase", {"type": "event", "event": "pos.sale_completed"}),
    "customer_created": ("When a customer signs up", {"type": "event", "event": "customer.created"}),
    "cart_abandoned": (
        "When a customer leaves a cart without buying",
        {"type": "event", "event": "pos.cart_abandoned"},
    ),
    "order_delivered": (
        "When a delivery order is delivered",
        {"type": "event", "event": "delivery.order_delivered"},
    ),
    "tier_changed": (
        "When a customer reaches a new loyalty tier",
        {"type": "event", "event": "pos.tier_changed"},
    ),
    "points_earned": ("When a customer earns points", {"type": "event", "event": "pos.points_earned"}),
}
EVENT_WORDS = {
    "pos.sale_completed": "After every purchase",
    "customer.created": "When a customer signs up",
    "pos.cart_abandoned": "When a customer leaves a cart without buying",
    "delivery.order_delivered": "When a delivery order is delivered",
    "pos.tier_changed": "When a customer reaches a new loyalty tier",
    "pos.points_earned": "When a customer earns points",
    "pos.order_placed": "When a customer places an order",
    "pos.sale_refunded": "When a sale is refunded",
}
DATE_FIELD_WORDS = {"birthday": "their birthday", "medical_card_expires": "their medical card expires"}

# The segment condition fields (messaging.segments) in words, with the kind of value each takes.
CONDITION_FIELDS = {
    "customer_type": ("Customer type", "text"),
    "store": ("Home store", "number"),
    "postal_code": ("ZIP code", "text"),
    "birthday_month": ("Birthday month", "text"),
    "consent_sms": ("Texts allowed", "bool"),
    "consent_email": ("Emails allowed", "bool"),
    "days_since_last_purchase": ("Days since the last purchase", "number"),
    "orders_count": ("Number of purchases", "number"),
    "lifetime_value": ("Lifetime spend ($)", "number"),
    "average_order": ("Average order ($)", "number"),
    "first_purchase_days_ago": ("Days since the first purchase", "number"),
    "rfm_recency": ("Recency score (1-5)", "number"),
    "rfm_frequency": ("Frequency score (1-5)", "number"),
    "rfm_monetary": ("Spend score (1-5)", "number"),
    "favourite_category": ("Favourite category", "text"),
    "favourite_brand": ("Favourite brand", "text"),
    "loyalty_tier": ("Loyalty tier", "number"),
    "points_balance": ("Points balance", "number"),
    "delivery_zone": ("Delivery zone", "number"),
    "fulfilment_habit": ("Usually buys", "text"),
    "opened_within_days": ("Opened a message within (days)", "number"),
    "clicked_within_days": ("Clicked a message within (days)", "number"),
    "purchased_from_message_within_days": ("Bought from a message within (days)", "number"),
    "in_segment": ("In the segment", "number"),
}
OPERATOR_WORDS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "between": "is between",
    "is": "is",
}
CONDITION_TESTS = {
    "opened": ("If they opened a message of this flow", "Otherwise"),
    "clicked": ("If they clicked a link of this flow", "Otherwise"),
    "purchased": ("If they bought since entering the flow", "Otherwise"),
}
WINNER_METRICS = {"opened": "opens", "clicked": "clicks", "purchased": "purchases"}
SPLIT_KINDS = (FlowStep.Kind.CONDITION, FlowStep.Kind.AB_SPLIT)
SEND_KINDS = (FlowStep.Kind.SEND_SMS, FlowStep.Kind.SEND_EMAIL)
STATUS_WORDS = {
    Flow.Status.DRAFT: "Draft",
    Flow.Status.LIVE: "Live",
    Flow.Status.PAUSED: "Paused",
}


def _plural(count, word: str) -> str:
    return f"{count} {word}{'' if str(count) == '1' else 's'}"


def trigger_words(trigger: dict, segment_names: dict | None = None) -> str:
    """What starts the flow, as an operator would say it."""
    trigger = trigger if isinstance(trigger, dict) else {}
    kind = trigger.get("type")
    if kind == "event":
        event = trigger.get("event", "")
        if event == "pos.sale_completed" and trigger.get("first_purchase"):
            return "When a customer makes their first purchase"
        return EVENT_WORDS.get(event, f"When “{event}” happens" if event else "No trigger chosen yet")
    if kind == "segment":
        name = (segment_names or {}).get(trigger.get("segment"))
        return f"When a customer enters the segment “{name}”" if name else "When a customer enters a segment"
    if kind == "date":
        what = DATE_FIELD_WORDS.get(trigger.get("field"), "a date of theirs")
        before = trigger.get("days_before")
        at = trigger.get("at")
        words = f"{_plural(before, 'day')} before {what}" if before else f"On {what}"
        if trigger.get("field") == "birthday" and not before:
            words = "On their birthday"
        return f"{words} at {at}" if at else words
    if kind == "inactivity":
        return f"{_plural(trigger.get('days', '?'), 'day')} without a purchase"
    return "No trigger chosen yet"


def _value_words(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return " and ".join(str(item) for item in value) if len(value) == 2 else ", ".join(map(str, value))
    return str(value)


def condition_words(condition: dict) -> str:
    """One segment condition in words: "Days since the last purchase is more than 30"."""
    if not isinstance(condition, dict):
        return "An unreadable condition"
    label = CONDITION_FIELDS.get(condition.get("field"), (str(condition.get("field")), ""))[0]
    op = OPERATOR_WORDS.get(condition.get("op"), str(condition.get("op")))
    return f"{label} {op} {_value_words(condition.get('value'))}"


def filters_words(filters: list, match: str) -> list[str]:
    return [condition_words(condition) for condition in filters or []]


def reentry_words(flow: Flow) -> str:
    if flow.reentry == Flow.Reentry.AFTER_DAYS:
        return f"Again after {_plural(flow.reentry_days or 0, 'day')}"
    if flow.reentry == Flow.Reentry.ALWAYS:
        return "Every time the trigger happens"
    return "Once per customer, never again"


def goal_words(flow: Flow) -> str:
    return "A purchase ends the flow" if flow.goal == Flow.Goal.PURCHASE else "No goal: every step runs"


def step_words(step: FlowStep, promotion_names: dict | None = None) -> str:
    """What the step does, in one line."""
    config = step.config if isinstance(step.config, dict) else {}
    kind = step.kind
    if kind == FlowStep.Kind.DELAY:
        if config.get("next_day_at"):
            return f"Wait until the next day at {config['next_day_at']} (store time)"
        if config.get("hours"):
            return f"Wait {_plural(config['hours'], 'hour')}"
        return f"Wait {_plural(config.get('days', 0), 'day')}"
    if kind == FlowStep.Kind.CONDITION:
        test = config.get("test")
        if test in CONDITION_TESTS:
            return f"Check: {CONDITION_TESTS[test][0][3:].rstrip()}?"
        if test == "property":
            return f"Check: {condition_words(config.get('condition') or {})}?"
        return "Check a condition"
    if kind == FlowStep.Kind.AB_SPLIT:
        winner = config.get("winner") or {}
        share = config.get("share_a", 50)
        words = f"A/B test: {share}% get A, {100 - int(share)}% get B"
        if winner.get("metric"):
            metric = WINNER_METRICS.get(winner["metric"], winner["metric"])
            words += f"; the one with more {metric} after {_plural(winner.get('after_days', 3), 'day')} wins"
        return words
    if kind == FlowStep.Kind.SEND_SMS:
        return f"Send a text: “{_short(config.get('body', ''))}”"
    if kind == FlowStep.Kind.SEND_EMAIL:
        return f"Send an email: “{_short(config.get('subject', '') or config.get('body', ''))}”"
    if kind == FlowStep.Kind.COUPON:
        name = (promotion_names or {}).get(config.get("promotion"), "a promotion")
        words = f"Issue a personal coupon for {name}, valid {_plural(config.get('valid_days', 14), 'day')}"
        if config.get("min_spend"):
            words += f", minimum spend ${config['min_spend']}"
        return words
    if kind == FlowStep.Kind.POINTS:
        return f"Add {_plural(config.get('points', 0), 'point')}"
    if kind == FlowStep.Kind.PROFILE:
        return f"Set {config.get('field', '?')} to “{config.get('value', '')}”"
    if kind == FlowStep.Kind.WEBHOOK:
        return f"Call {config.get('url', 'a webhook')}"
    if kind == FlowStep.Kind.ALERT_STAFF:
        return f"Alert staff: “{_short(config.get('message', ''))}”"
    if kind == FlowStep.Kind.EXIT:
        if config.get("suppress_marketing"):
            return "End the flow and stop marketing messages to them"
        return "End the flow"
    return step.get_kind_display()


def _short(text: str, length: int = 70) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"


def branch_words(step: FlowStep, branch: str) -> str:
    """The heading of a split's branch: "If they opened it" / "Otherwise", "Variant A (50%)" / "Variant B"."""
    config = step.config if isinstance(step.config, dict) else {}
    if step.kind == FlowStep.Kind.AB_SPLIT:
        share = int(config.get("share_a", 50))
        return f"Variant A ({share}%)" if branch == "a" else f"Variant B ({100 - share}%)"
    if branch == "no":
        return "Otherwise"
    test = config.get("test")
    if test in CONDITION_TESTS:
        return CONDITION_TESTS[test][0]
    if test == "property":
        return f"If {condition_words(config.get('condition') or {}).lower()}"
    return "If yes"


def step_branches(step: FlowStep) -> tuple[str, ...]:
    if step.kind == FlowStep.Kind.AB_SPLIT:
        return ("a", "b")
    if step.kind == FlowStep.Kind.CONDITION:
        return ("yes", "no")
    return ()


# --- Reading: the flows list and a flow's tree with its counts --------------------------------------------------


@dataclass
class FlowRow:
    flow: Flow
    trigger: str
    in_flow: int = 0
    entered_recently: int = 0
    revenue: object = 0


def flow_list(*, organization: Organization, now: dt.datetime | None = None) -> list[FlowRow]:
    """The organization's flows with who is in each now, who entered in the last 30 days and the revenue
    credited to their messages. Eight queries whatever the number of flows."""
    now = now or timezone.now()
    flows = list(Flow.objects.filter(organization=organization).order_by("name", "id"))
    ids = [flow.pk for flow in flows]
    counts = {
        row["flow_id"]: row
        for row in FlowEnrollment.objects.filter(flow_id__in=ids)
        .values("flow_id")
        .annotate(
            active=Count("id", filter=Q(status=FlowEnrollment.Status.ACTIVE)),
            recent=Count("id", filter=Q(entered_at__gte=now - dt.timedelta(days=30))),
        )
    }
    results = (
        results_by(OutboundMessage.objects.filter(origin__flow_id__in=ids), "origin__flow_id") if ids else {}
    )
    names = _segment_names(organization, [flow.trigger for flow in flows])
    rows = []
    for flow in flows:
        found = counts.get(flow.pk, {})
        rows.append(
            FlowRow(
                flow=flow,
                trigger=trigger_words(flow.trigger, names),
                in_flow=found.get("active", 0),
                entered_recently=found.get("recent", 0),
                revenue=results.get(flow.pk, Results()).revenue,
            )
        )
    return rows


def _segment_names(organization: Organization, triggers: list) -> dict:
    wanted = {
        trigger.get("segment")
        for trigger in triggers
        if isinstance(trigger, dict) and trigger.get("type") == "segment" and trigger.get("segment")
    }
    if not wanted:
        return {}
    return dict(Segment.objects.filter(organization=organization, pk__in=wanted).values_list("pk", "name"))


@dataclass
class StepNode:
    step: FlowStep
    words: str
    depth: int
    reached: int = 0
    outcomes: dict = field(default_factory=dict)
    results: Results | None = None
    branches: list = field(default_factory=list)  # [(branch, heading, [StepNode...])]
    first: bool = False
    last: bool = False
    has_runs: bool = False

    @property
    def is_split(self) -> bool:
        return self.step.kind in SPLIT_KINDS

    @property
    def is_send(self) -> bool:
        return self.step.kind in SEND_KINDS


@dataclass
class FlowView:
    flow: Flow
    trigger: str
    filters: list[str]
    goal: str
    reentry: str
    stores: list[str]
    tree: list[StepNode]
    in_flow: int
    entered: int
    ended: dict
    step_count: int


def _ordered(steps: list[FlowStep]) -> dict[tuple, list[FlowStep]]:
    """Each sibling list, keyed by (parent id, branch), in position order."""
    siblings: dict[tuple, list[FlowStep]] = {}
    for step in steps:
        siblings.setdefault((step.parent_id, step.branch if step.parent_id else ""), []).append(step)
    for group in siblings.values():
        group.sort(key=lambda step: (step.position, step.pk))
    return siblings


def flow_tree(
    steps: list[FlowStep],
    *,
    reached: dict | None = None,
    outcomes: dict | None = None,
    results: dict | None = None,
    promotion_names: dict | None = None,
) -> list[StepNode]:
    """The steps as nested nodes: the top-level sequence, and under each split its branches in order."""
    siblings = _ordered(steps)
    reached = reached or {}
    outcomes = outcomes or {}
    results = results or {}

    def build(parent_id, branch: str, depth: int) -> list[StepNode]:
        group = siblings.get((parent_id, branch), [])
        nodes = []
        for index, step in enumerate(group):
            node = StepNode(
                step=step,
                words=step_words(step, promotion_names),
                depth=depth,
                reached=reached.get(step.pk, 0),
                outcomes=outcomes.get(step.pk, {}),
                results=results.get(step.pk, Results()) if step.kind in SEND_KINDS else None,
                first=index == 0,
                last=index == len(group) - 1,
            )
            node.branches = [
                (name, branch_words(step, name), build(step.pk, name, depth + 1))
                for name in step_branches(step)
            ]
            nodes.append(node)
        return nodes

    return build(None, "", 0)


def tree_flatten(nodes: list[StepNode]) -> list[StepNode]:
    out = []
    for node in nodes:
        out.append(node)
        for _name, _heading, children in node.branches:
            out.extend(tree_flatten(children))
    return out


def flow_view(*, flow: Flow, now: dt.datetime | None = None) -> FlowView:
    """A flow's page: its settings in words and its steps with their counts. Eleven queries at most, whatever
    the number of steps."""
    now = now or timezone.now()
    steps = list(FlowStep.objects.filter(flow=flow))
    reached: dict[int, int] = {}
    outcomes: dict[int, dict[str, int]] = {}
    for row in (
        FlowStepRun.objects.filter(step__flow=flow).values("step_id", "outcome").annotate(n=Count("id"))
    ):
        reached[row["step_id"]] = reached.get(row["step_id"], 0) + row["n"]
        outcomes.setdefault(row["step_id"], {})[row["outcome"] or "done"] = row["n"]
    results = results_by(OutboundMessage.objects.filter(origin__flow=flow), "origin__flow_step_id")
    promotion_ids = [
        step.config.get("promotion")
        for step in steps
        if step.kind == FlowStep.Kind.COUPON and isinstance(step.config, dict)
    ]
    promotion_names = {}
    if any(promotion_ids):
        from pos.models import Promotion

        promotion_names = dict(
            Promotion.objects.filter(
                organization_id=flow.organization_id, pk__in=[p for p in promotion_ids if p]
            ).values_list("pk", "name")
        )
    tree = flow_tree(
        steps, reached=reached, outcomes=outcomes, results=results, promotion_names=promotion_names
    )
    for node in tree_flatten(tree):
        node.has_runs = node.reached > 0
    enrolment = FlowEnrollment.objects.filter(flow=flow).aggregate(
        active=Count("id", filter=Q(status=FlowEnrollment.Status.ACTIVE)),
        entered=Count("id", filter=Q(entered_at__gte=now - dt.timedelta(days=30))),
        converted=Count("id", filter=Q(status=FlowEnrollment.Status.CONVERTED)),
        completed=Count("id", filter=Q(status=FlowEnrollment.Status.COMPLETED)),
    )
    return FlowView(
        flow=flow,
        trigger=trigger_words(flow.trigger, _segment_names(flow.organization, [flow.trigger])),
        filters=filters_words(flow.filters, flow.filter_match),
        goal=goal_words(flow),
        reentry=reentry_words(flow),
        stores=[store.name for store in flow.stores.all()],
        tree=tree,
        in_flow=enrolment["active"],
        entered=enrolment["entered"],
        ended={"converted": enrolment["converted"], "completed": enrolment["completed"]},
        step_count=len(steps),
    )


# --- Writing ------------------------------------------------------------------------------------------------

FLOW_FIELDS = [
    "name",
    "description",
    "status",
    "trigger",
    "filters",
    "filter_match",
    "goal",
    "reentry",
    "reentry_days",
]
STEP_FIELDS = ["parent_id", "branch", "position", "kind", "name", "config"]


def _flow_snapshot(flow: Flow) -> dict:
    values = snapshot(flow, FLOW_FIELDS)
    if flow.pk:
        values["store_ids"] = sorted(flow.stores.values_list("pk", flat=True))
    return values


@transaction.atomic
def flow_status_set(*, flow: Flow, status: str, actor) -> Flow:
    """Switch a flow on (live), pause it, or put it back to draft: the engine's service
    (messaging.flows.flow_status_set: going live checks every step, leaving live cancels the customers in it),
    with the editor's plain refusals first. The same status again is a no-op."""
    from messaging.flows import flow_status_set as engine_flow_status_set

    if status not in Flow.Status.values:
        raise ValidationFailed(
            "Choose live, paused or draft.", details={"status": ["Choose live, paused or draft."]}
        )
    if (
        status == Flow.Status.LIVE
        and flow.status != status
        and not FlowStep.objects.filter(flow=flow).exists()
    ):
        raise Conflict("A flow needs at least one step before it can go live.")
    return engine_flow_status_set(flow=flow, status=status, actor=actor)


@transaction.atomic
def flow_create_blank(*, organization: Organization, name: str, actor) -> Flow:
    """A new draft flow with no steps: triggered by a first purchase until the operator chooses."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the flow a name.", details={"name": ["Give the flow a name."]})
    flow = Flow.objects.create(
        organization=organization,
        name=name[:120],
        trigger=dict(EVENT_TRIGGERS["first_purchase"][1]),
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="flow.created",
        instance=flow,
        after=_flow_snapshot(flow),
        organization=organization,
    )
    return flow


@transaction.atomic
def flow_settings_save(
    *,
    flow: Flow,
    actor,
    name: str,
    description: str,
    trigger: dict,
    filters: list[dict],
    filter_match: str,
    goal: str,
    reentry: str,
    reentry_days: int | None,
    stores: list[Store],
    kept_store_ids: list[int] | None = None,
) -> Flow:
    """Change a flow's settings. `stores` are chosen among the member's stores; `kept_store_ids` are the
    flow's stores the member cannot see, kept as they were."""
    problems: dict[str, list[str]] = {}
    if not (name or "").strip():
        problems["name"] = ["Give the flow a name."]
    if reentry == Flow.Reentry.AFTER_DAYS and not reentry_days:
        problems["reentry_days"] = ["Say after how many days a customer may enter again."]
    if any(store.organization_id != flow.organization_id for store in stores):
        problems["stores"] = ["Choose your organization's stores."]
    if problems:
        raise ValidationFailed(next(iter(problems.values()))[0], details=problems)
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    before = _flow_snapshot(flow)
    flow.name = name.strip()[:120]
    flow.description = (description or "").strip()[:300]
    flow.trigger = trigger
    flow.filters = filters
    flow.filter_match = filter_match
    flow.goal = goal
    flow.reentry = reentry
    flow.reentry_days = reentry_days if reentry == Flow.Reentry.AFTER_DAYS else None
    flow.save()
    flow.stores.set([store.pk for store in stores] + list(kept_store_ids or []))
    audit_record(
        actor=actor,
        action="flow.changed",
        instance=flow,
        before=before,
        after=_flow_snapshot(flow),
        organization=flow.organization,
    )
    return flow


def _siblings(flow: Flow, parent_id, branch: str) -> list[FlowStep]:
    return list(
        FlowStep.objects.select_for_update()
        .filter(flow=flow, parent_id=parent_id, branch=branch if parent_id else "")
        .order_by("position", "id")
    )


def _renumber(steps: list[FlowStep]) -> None:
    changed = []
    for index, step in enumerate(steps):
        if step.position != index:
            step.position = index
            changed.append(step)
    if changed:
        FlowStep.objects.bulk_update(changed, ["position"])


@transaction.atomic
def flow_step_add(
    *,
    flow: Flow,
    actor,
    kind: str,
    config: dict,
    name: str = "",
    after: FlowStep | None = None,
    parent: FlowStep | None = None,
    branch: str = "",
) -> FlowStep:
    """Add a step right after `after`, or at the end of a split's branch (`parent`, `branch`), or at the end
    of the flow's top level."""
    if kind not in FlowStep.Kind.values:
        raise ValidationFailed("Choose what the step does.", details={"kind": ["Choose what the step does."]})
    Flow.objects.select_for_update().get(pk=flow.pk)
    for step in (after, parent):
        if step is not None and step.flow_id != flow.pk:
            raise ValidationFailed("That step is not one of this flow's.")
    if after is not None:
        parent_id, branch = after.parent_id, after.branch if after.parent_id else ""
    else:
        parent_id = parent.pk if parent is not None else None
        if parent is not None and branch not in step_branches(parent):
            raise ValidationFailed("Choose one of the split's branches.")
        branch = branch if parent is not None else ""
    siblings = _siblings(flow, parent_id, branch)
    step = FlowStep(
        flow=flow, parent_id=parent_id, branch=branch, kind=kind, name=(name or "")[:120], config=config
    )
    index = len(siblings)
    if after is not None:
        index = next((i + 1 for i, sibling in enumerate(siblings) if sibling.pk == after.pk), len(siblings))
    step.position = index
    step.save()
    siblings.insert(index, step)
    _renumber(siblings)
    audit_record(
        actor=actor,
        action="flow_step.added",
        instance=step,
        after=snapshot(step, STEP_FIELDS),
        organization=flow.organization,
    )
    return step


@transaction.atomic
def flow_step_save(*, step: FlowStep, actor, name: str, config: dict) -> FlowStep:
    """Change what a step does (its kind stays). A live flow's steps may change: the next runs use the new
    words and numbers."""
    step = FlowStep.objects.select_for_update().get(pk=step.pk)
    before = snapshot(step, STEP_FIELDS)
    step.name = (name or "")[:120]
    step.config = config
    step.save(update_fields=["name", "config"])
    audit_record(
        actor=actor,
        action="flow_step.changed",
        instance=step,
        before=before,
        after=snapshot(step, STEP_FIELDS),
        organization=step.flow.organization,
    )
    return step


def step_subtree_ids(step: FlowStep) -> list[int]:
    """The step and every step under it (its branches), one query."""
    by_parent: dict = {}
    for pk, parent_id in FlowStep.objects.filter(flow_id=step.flow_id).values_list("pk", "parent_id"):
        by_parent.setdefault(parent_id, []).append(pk)
    out, todo = [], [step.pk]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(by_parent.get(current, []))
    return out


class StepHasRuns(Conflict):
    code = "flow_step_has_runs"


@transaction.atomic
def flow_step_delete(*, step: FlowStep, actor) -> int:
    """Delete a step and every step under it. Refused when any of them ran for a customer: their history
    stays; pause the flow, or end the branch with an "End the flow" step instead. Returns how many went."""
    Flow.objects.select_for_update().get(pk=step.flow_id)
    ids = step_subtree_ids(step)
    if FlowStepRun.objects.filter(step_id__in=ids).exists():
        raise StepHasRuns(
            "Customers have already gone through this step (or a step under it), so it cannot be deleted: "
            "their history would be lost. Pause the flow, or change the step instead."
        )
    FlowEnrollment.objects.filter(next_step_id__in=ids).update(next_step=None)
    before = snapshot(step, STEP_FIELDS)
    before["subtree"] = sorted(ids)
    parent_id, branch = step.parent_id, step.branch
    flow = step.flow
    audit_record(
        actor=actor, action="flow_step.deleted", instance=step, before=before, organization=flow.organization
    )
    FlowStep.objects.filter(pk__in=ids).delete()
    _renumber(_siblings(flow, parent_id, branch))
    return len(ids)


@transaction.atomic
def flow_step_move(*, step: FlowStep, actor, direction: str) -> FlowStep:
    """Move a step up or down among its siblings (its branches move with it)."""
    if direction not in ("up", "down"):
        raise ValidationFailed("Move a step up or down.")
    Flow.objects.select_for_update().get(pk=step.flow_id)
    siblings = _siblings(step.flow, step.parent_id, step.branch)
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == step.pk)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(siblings):
        return siblings[index]
    siblings[index], siblings[other] = siblings[other], siblings[index]
    _renumber(siblings)
    moved = siblings[other]
    audit_record(
        actor=actor,
        action="flow_step.moved",
        instance=moved,
        before={"position": index},
        after={"position": other},
        organization=step.flow.organization,
    )
    return moved


# --- Checks shared by the forms --------------------------------------------------------------------------------


def webhook_url_problem(url: str) -> str | None:
    """Why a webhook address cannot be called, or None: https only, a public host (no private, loopback or
    link-local address, no local name), no credentials in it."""
    try:
        parts = urlsplit((url or "").strip())
        host = (parts.hostname or "").lower()
        _ = parts.port
    except ValueError:
        return "This is not a web address."
    if parts.scheme != "https":
        return "Use an https:// address."
    if not host:
        return "This is not a web address."
    if parts.username or parts.password:
        return "Leave the user name and password out of the address."
    if (
        host == "localhost"
        or host.endswith((".localhost", ".local", ".internal", ".lan", ".home.arpa"))
        or "." not in host
    ):
        return "This address is on a private network: use a public https:// address."
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if not address.is_global:
        return "This address is on a private network: use a public https:// address."
    return None


# The audit log's words for the editor's actions.
FLOW_WORDS = {
    "flow.created": "Flow created",
    "flow.changed": "Flow settings changed",
    "flow.status_changed": "Flow switched on, paused or back to draft",
    "flow_step.added": "Flow step added",
    "flow_step.changed": "Flow step changed",
    "flow_step.moved": "Flow step moved",
    "flow_step.deleted": "Flow step deleted",
}
