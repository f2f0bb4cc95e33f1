"""Flows in the demo: the welcome series and the win-back switched on (their coupons give a demo promotion), with a
few customers part-way through each, so the flow pages show counts per step. Idempotent: flows are found by
their ready-made key, and customers already enrolled are left alone."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from dispensary.models import User
from messaging.flow_library import flow_create_from_library
from messaging.flows import flow_enrol, flow_status_set, flows_run_due
from messaging.models import Flow, FlowEnrollment, FlowStep

DEMO_PROMOTION = "Flows demo: 15% off"
ENROLLED_PER_FLOW = 2  # few: the demo loads in seconds


def _promotion(organization):
    from pos.models import Promotion

    promotion, _ = Promotion.objects.get_or_create(
        organization=organization,
        name=DEMO_PROMOTION,
        defaults={"kind": Promotion.Kind.PERCENT, "value": Decimal("15"), "scope": Promotion.Scope.CART},
    )
    return promotion


def _flow(organization, key: str, actor, promotion) -> Flow:
    flow = Flow.objects.filter(organization=organization, template=key).order_by("pk").first()
    if flow is None:
        flow = flow_create_from_library(organization=organization, key=key, actor=actor)
        for step in FlowStep.objects.filter(flow=flow, kind=FlowStep.Kind.COUPON):
            step.config = {**step.config, "promotion": promotion.pk}
            step.save(update_fields=["config"])
    if flow.status != Flow.Status.LIVE:
        flow = flow_status_set(flow=flow, status=Flow.Status.LIVE, actor=actor)
    return flow


def flows_demo(organization, stores, customers) -> int:
    """Switch on welcome and win-back and put a few customers in each (entered some days ago, walked to where
    they would be now). Returns how many enrollments were added."""
    stores = list(stores.values()) if isinstance(stores, dict) else list(stores)
    customers = [customer for customer in customers if customer.organization_id == organization.pk]
    if not stores or not customers:
        return 0
    actor = User.objects.filter(organization=organization, username="manager").first() or "demo"
    now = timezone.now()
    added = 0
    with transaction.atomic():
        promotion = _promotion(organization)
        welcome = _flow(organization, "welcome", actor, promotion)
        winback = _flow(organization, "winback", actor, promotion)
        plan = [
            (welcome, customers[:ENROLLED_PER_FLOW], (0, 3)),
            (winback, customers[ENROLLED_PER_FLOW : 2 * ENROLLED_PER_FLOW], (1, 9)),
        ]
        for flow, people, days_ago in plan:
            for customer, days in zip(people, days_ago, strict=False):
                if FlowEnrollment.objects.filter(flow=flow, customer=customer).exists():
                    continue
                entered = now - dt.timedelta(days=days, hours=2)
                enrollment = flow_enrol(
                    flow=flow, customer=customer, trigger_key=f"demo:{flow.template}", now=entered
                )
                added += enrollment is not None
    # Walk them forward as the runner would have: to each next due moment in turn, up to now.
    for _ in range(40):
        due = (
            FlowEnrollment.objects.filter(
                flow__organization=organization, status=FlowEnrollment.Status.ACTIVE
            )
            .filter(next_run_at__lte=now)
            .order_by("next_run_at")
            .values_list("next_run_at", flat=True)
            .first()
        )
        if due is None:
            break
        flows_run_due(due)
    return added
