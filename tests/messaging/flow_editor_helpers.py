"""Flows written as rows for the flow editor's tests: a win-back flow with a conditional split, an A/B flow,
customers going through them (enrollments, step runs) and the messages their send steps made."""

import datetime as dt
import itertools
import uuid
from decimal import Decimal

from django.utils import timezone

from messaging.models import (
    Flow,
    FlowEnrollment,
    FlowStep,
    FlowStepRun,
    MessageConversion,
    MessageOrigin,
    MessageStatusEvent,
    OutboundMessage,
)
from pos.models import Sale
from tests.factories import CustomerFactory

_numbers = itertools.count(1)


def step(flow, kind, config, *, parent=None, branch="", position=0, name=""):
    return FlowStep.objects.create(
        flow=flow, kind=kind, config=config, parent=parent, branch=branch, position=position, name=name
    )


def winback(organization, *, status=Flow.Status.LIVE, name="Win-back"):
    """Wait 30 days, text, wait 7 days, split on opened: yes -> email; no -> text, then end (suppress)."""
    flow = Flow.objects.create(
        organization=organization,
        name=name,
        status=status,
        trigger={"type": "inactivity", "days": 30},
        filters=[{"field": "consent_sms", "op": "is", "value": True}],
    )
    steps = {"flow": flow}
    steps["wait30"] = step(flow, "delay", {"days": 30}, position=0)
    steps["text"] = step(
        flow, "send_sms", {"body": "Hi {first_name}, see what's new at {store_name}"}, position=1
    )
    steps["wait7"] = step(flow, "delay", {"days": 7}, position=2)
    steps["split"] = step(flow, "condition", {"test": "opened"}, position=3)
    steps["email"] = step(
        flow,
        "send_email",
        {"subject": "Picked for you", "body": "Hello {first_name}"},
        parent=steps["split"],
        branch="yes",
    )
    steps["retext"] = step(
        flow, "send_sms", {"body": "Last try: 20% off"}, parent=steps["split"], branch="no", position=0
    )
    steps["exit"] = step(
        flow, "exit", {"suppress_marketing": True}, parent=steps["split"], branch="no", position=1
    )
    return steps


def enrol(flow, *, store=None, status=FlowEnrollment.Status.ACTIVE, entered_at=None, customer=None):
    customer = customer or CustomerFactory(organization=flow.organization)
    return FlowEnrollment.objects.create(
        flow=flow,
        customer=customer,
        store=store,
        trigger_key=f"t{next(_numbers)}",
        status=status,
        entered_at=entered_at or timezone.now(),
    )


def run(enrollment, flow_step, outcome="", message=None):
    return FlowStepRun.objects.create(
        enrollment=enrollment, step=flow_step, ran_at=timezone.now(), outcome=outcome, message=message
    )


def sent(enrollment, flow_step, *, status=OutboundMessage.Status.DELIVERED, engaged=(), store=None):
    """The message a send step made for this enrollment (with its origin), and the run that made it."""
    message = OutboundMessage.objects.create(
        organization=flow_step.flow.organization,
        store=store,
        customer=enrollment.customer,
        channel="sms" if flow_step.kind == "send_sms" else "email",
        category="marketing",
        purpose="flow",
        to=enrollment.customer.phone,
        body="words",
        status=status,
    )
    MessageOrigin.objects.create(message=message, flow=flow_step.flow, flow_step=flow_step)
    for name in engaged:
        MessageStatusEvent.objects.create(
            message=message, status=name, source="webhook", occurred_at=timezone.now()
        )
    run(enrollment, flow_step, "sent", message)
    return message


def converted(message, register, staff, total="40.00"):
    when = timezone.now()
    sale = Sale.objects.create(
        store=register.store,
        register=register,
        customer=message.customer,
        customer_type="adult_use",
        staff=staff,
        local_date=when.astimezone(register.store.tz).date(),
        completed_at=when,
        receipt_number=f"FE-{next(_numbers)}",
        idempotency_key=str(uuid.uuid4()),
        subtotal=Decimal(total),
        total=Decimal(total),
        status=Sale.Status.COMPLETED,
    )
    return MessageConversion.objects.create(
        message=message,
        sale=sale,
        customer=message.customer,
        kind="code",
        revenue=Decimal(total),
        occurred_at=when + dt.timedelta(minutes=1),
    )
