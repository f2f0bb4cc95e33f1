"""The flows engine: entering (live flows only, the stores, filters, re-entry rules), the runner's claims (two
workers, a killed worker), a step never done twice, filters re-checked before every step, a STOP mid-flow,
delays across a daylight-saving change, A/B splits and their winner, switching a flow off, clear errors for
bad definitions, and the webhook posted once across a lost answer."""

import datetime as dt
import json
import uuid

import httpx
import pytest

from dispensary.models import AuditRecord, EventDelivery
from messaging import flow_handlers
from messaging.flows import (
    FlowDefinitionError,
    delay_until,
    flow_enrol,
    flow_status_set,
    flow_step_counts,
    flows_run_due,
    webhook_signature,
)
from messaging.inbound import inbound_sms_receive
from messaging.models import Flow, FlowEnrollment, FlowStep, FlowStepRun, MessageStatusEvent, OutboundMessage
from messaging.retention import retention_key
from tests.messaging.flow_helpers import deliver, reachable, sent
from tests.messaging.inbound_helpers import STORE_NUMBER

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 2, 2, 18, 0, tzinfo=UTC)  # 10:00 in San Francisco


def make_flow(organization, steps, *, status="live", **fields) -> Flow:
    """A flow from a list of (kind, name, config, children-by-branch) specs."""
    flow = Flow.objects.create(
        organization=organization,
        name=fields.pop("name", "Test flow"),
        trigger=fields.pop("trigger", {"type": "event", "event": "customer.created"}),
        goal=fields.pop("goal", ""),
        status=status,
        **fields,
    )
    _add(flow, steps, None)
    return flow


def _add(flow, steps, parent, branch=""):
    for position, (kind, name, config, *children) in enumerate(steps):
        step = FlowStep.objects.create(
            flow=flow, parent=parent, branch=branch, position=position, kind=kind, name=name, config=config
        )
        for child_branch, child_steps in (children[0] if children else {}).items():
            _add(flow, child_steps, step, child_branch)


TEXT = ("send_sms", "Hello", {"body": "Hi {first_name}"})
WAIT = ("delay", "Two days", {"days": 2})


@pytest.fixture
def ada(organization, store, clock):
    clock.move_to(NOW)
    return reachable(organization, store, at=NOW)


# --- Entering -----------------------------------------------------------------------------------------------


def test_only_live_flows_of_the_customer_organization_and_stores_enrol(organization, store, ada):
    from tests.factories import OrganizationFactory, StoreFactory

    draft = make_flow(organization, [TEXT], status="draft")
    assert flow_enrol(flow=draft, customer=ada, trigger_key="x") is None
    other = make_flow(OrganizationFactory(), [TEXT])
    assert flow_enrol(flow=other, customer=ada, trigger_key="x") is None
    elsewhere = make_flow(organization, [TEXT])
    elsewhere.stores.set([StoreFactory(organization=organization)])
    assert flow_enrol(flow=elsewhere, customer=ada, trigger_key="x") is None
    here = make_flow(organization, [TEXT])
    here.stores.set([store])
    enrollment = flow_enrol(flow=here, customer=ada, trigger_key="x")
    assert (enrollment.store, enrollment.status, enrollment.next_run_at) == (store, "active", NOW)
    assert FlowEnrollment.objects.count() == 1


def test_filters_are_checked_at_entry(organization, ada):
    flow = make_flow(
        organization, [TEXT], filters=[{"field": "customer_type", "op": "eq", "value": "medical"}]
    )
    assert flow_enrol(flow=flow, customer=ada, trigger_key="x") is None
    ada.customer_type = "medical"
    ada.save()
    assert flow_enrol(flow=flow, customer=ada, trigger_key="x") is not None


@pytest.mark.parametrize(
    ("reentry", "days", "second", "third"),
    [("never", None, False, False), ("after_days", 10, False, True), ("always", None, True, True)],
)
def test_reentry_rules(organization, ada, clock, reentry, days, second, third):
    flow = make_flow(organization, [TEXT], reentry=reentry, reentry_days=days)
    assert flow_enrol(flow=flow, customer=ada, trigger_key="sale:1") is not None
    assert flow_enrol(flow=flow, customer=ada, trigger_key="sale:1") is None  # the same trigger: never twice
    flows_run_due(NOW)  # the first enrollment finishes
    clock.move_to(NOW + dt.timedelta(days=3))
    assert (flow_enrol(flow=flow, customer=ada, trigger_key="sale:2") is not None) is second
    clock.move_to(NOW + dt.timedelta(days=11))
    assert (flow_enrol(flow=flow, customer=ada, trigger_key="sale:3") is not None) is third


def test_customer_created_event_enrols_once(organization, store, clock):
    from dispensary.event_types import CustomerCreated
    from dispensary.events import publish

    clock.move_to(NOW)
    flow = make_flow(organization, [TEXT])
    customer = reachable(organization, store, at=NOW)
    from django.db import transaction

    for _ in range(2):
        with transaction.atomic():
            publish(
                CustomerCreated(
                    customer_id=customer.pk, organization_id=organization.pk, customer_type="adult_use"
                )
            )
    assert deliver() == ["succeeded", "succeeded"]
    assert list(FlowEnrollment.objects.values_list("flow", "customer", "trigger_key")) == [
        (flow.pk, customer.pk, "created")
    ]


# --- The runner -------------------------------------------------------------------------------------------


def test_steps_run_in_order_with_the_wait_and_counts(organization, ada):
    flow = make_flow(organization, [TEXT, WAIT, ("send_email", "Later", {"subject": "Hi", "body": "Again"})])
    flow_enrol(flow=flow, customer=ada, trigger_key="x")
    assert flows_run_due(NOW) == 2  # the text, then the wait begins
    assert sent(ada) == [("sms", "Hello")]
    enrollment = FlowEnrollment.objects.get()
    assert (enrollment.next_step.name, enrollment.next_run_at, enrollment.claim) == (
        "Later",
        NOW + dt.timedelta(days=2),
        None,
    )
    counts = flow_step_counts(flow=flow)
    steps = {step.name: step.pk for step in flow.steps.all()}
    assert counts[steps["Hello"]] == {"ran": 1, "outcomes": {"sent": 1}, "waiting": 0}
    assert counts[steps["Later"]] == {"ran": 0, "outcomes": {}, "waiting": 1}
    assert flows_run_due(NOW + dt.timedelta(days=1)) == 0
    assert flows_run_due(NOW + dt.timedelta(days=2)) == 1
    assert sent(ada) == [("sms", "Hello"), ("email", "Later")]
    assert FlowEnrollment.objects.get().status == "completed"


def test_a_claimed_enrollment_is_skipped_until_its_lease_ends(organization, ada):
    flow = make_flow(organization, [TEXT])
    enrollment = flow_enrol(flow=flow, customer=ada, trigger_key="x")
    # A worker claimed it and was killed before doing anything.
    FlowEnrollment.objects.filter(pk=enrollment.pk).update(
        claim=uuid.uuid4(), claimed_until=NOW + dt.timedelta(minutes=5)
    )
    assert flows_run_due(NOW + dt.timedelta(minutes=1)) == 0  # a second worker leaves it alone
    assert not OutboundMessage.objects.exists()
    assert flows_run_due(NOW + dt.timedelta(minutes=6)) == 1  # the lease ended: resumed
    assert sent(ada) == [("sms", "Hello")]
    assert flows_run_due(NOW + dt.timedelta(minutes=7)) == 0


def test_a_step_is_never_done_twice_across_a_crash_and_a_lost_move(organization, ada, monkeypatch):
    flow = make_flow(organization, [TEXT, WAIT])
    enrollment = flow_enrol(flow=flow, customer=ada, trigger_key="x")
    step = flow.steps.get(name="Hello")

    record = FlowStepRun.objects.create

    def crash(**fields):
        if fields["step"].kind == "send_sms":
            raise RuntimeError("worker killed")
        return record(**fields)

    monkeypatch.setattr("messaging.flows.FlowStepRun.objects.create", crash)
    other = flow_enrol(
        flow=make_flow(organization, [WAIT, TEXT], name="Other"), customer=ada, trigger_key="y"
    )
    assert flows_run_due(NOW) == 1  # the crash is logged; the other enrollment still ran
    assert FlowEnrollment.objects.get(pk=other.pk).next_run_at == NOW + dt.timedelta(days=2)
    monkeypatch.undo()
    assert not OutboundMessage.objects.exists()  # rolled back with its step
    assert not FlowStepRun.objects.filter(enrollment=enrollment).exists()
    # The claim of the crashed worker holds until its lease ends; then the step runs once.
    assert flows_run_due(NOW + dt.timedelta(minutes=6)) == 2
    message = OutboundMessage.objects.get()
    assert message.key == retention_key("flow", enrollment.pk, step.pk)
    # The move on was lost (put back as before): the recorded run is not done again.
    FlowEnrollment.objects.filter(pk=enrollment.pk).update(status="active", next_step=step, next_run_at=NOW)
    assert flows_run_due(NOW + dt.timedelta(minutes=7)) == 2
    assert OutboundMessage.objects.count() == 1 and FlowStepRun.objects.filter(step=step).count() == 1


def test_filters_are_rechecked_before_every_step(organization, ada):
    flow = make_flow(
        organization, [WAIT, TEXT], filters=[{"field": "customer_type", "op": "eq", "value": "adult_use"}]
    )
    flow_enrol(flow=flow, customer=ada, trigger_key="x")
    flows_run_due(NOW)
    ada.customer_type = "medical"
    ada.save()
    flows_run_due(NOW + dt.timedelta(days=2))
    enrollment = FlowEnrollment.objects.get()
    assert (enrollment.status, enrollment.end_reason) == ("filtered", "No longer fits the flow's filters.")
    assert not OutboundMessage.objects.exists()


def test_a_stop_mid_flow_stops_it(organization, store, shop, clock):
    clock.move_to(NOW)
    customer = reachable(organization, shop, at=NOW, channels=("sms",))
    flow = make_flow(organization, [TEXT, WAIT, ("send_sms", "Second", {"body": "Again"})])
    flow_enrol(flow=flow, customer=customer, trigger_key="x")
    flows_run_due(NOW)
    inbound_sms_receive(
        from_number=customer.phone, to_number=STORE_NUMBER, body="STOP", provider_message_id="SM1"
    )
    flows_run_due(NOW + dt.timedelta(days=2))
    enrollment = FlowEnrollment.objects.get()
    assert (enrollment.status, enrollment.end_reason) == (
        "stopped",
        "Cannot be reached for marketing any more.",
    )
    assert sent(customer) == [("sms", "Hello")]


def test_switching_a_flow_off_cancels_its_enrollments_and_is_audited(organization, ada, manager):
    flow = make_flow(organization, [WAIT, TEXT])
    flow_enrol(flow=flow, customer=ada, trigger_key="x")
    flows_run_due(NOW)
    flow_status_set(flow=flow, status="paused", actor=manager)
    enrollment = FlowEnrollment.objects.get()
    assert (enrollment.status, enrollment.end_reason, enrollment.next_run_at) == (
        "cancelled",
        "The flow was switched off.",
        None,
    )
    record = AuditRecord.objects.get(action="flow.status_changed")
    assert (record.before, record.after) == (
        {"status": "live"},
        {"status": "paused", "enrollments_cancelled": 1},
    )
    assert flows_run_due(NOW + dt.timedelta(days=3)) == 0 and not OutboundMessage.objects.exists()


# --- Delays ---------------------------------------------------------------------------------------------


def test_delays_keep_the_store_time_across_daylight_saving(store):
    zone = store.tz
    saturday = dt.datetime(2026, 3, 7, 18, 0, tzinfo=UTC)  # 10:00 PST, the day before the change
    entered = saturday
    assert delay_until({"days": 2}, start=saturday, entered_at=entered, zone=zone) == dt.datetime(
        2026, 3, 9, 17, 0, tzinfo=UTC
    )  # 10:00 PDT
    assert delay_until({"hours": 48}, start=saturday, entered_at=entered, zone=zone) == dt.datetime(
        2026, 3, 9, 18, 0, tzinfo=UTC
    )
    assert delay_until(
        {"next_day_at": "10:00"}, start=saturday, entered_at=entered, zone=zone
    ) == dt.datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    # 02:30 does not exist on March 8 in San Francisco: the wait ends just after the gap.
    assert delay_until(
        {"next_day_at": "02:30"}, start=saturday, entered_at=entered, zone=zone
    ) == dt.datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert delay_until(
        {"days_after_entry": 30, "at": "11:00"}, start=saturday, entered_at=entered, zone=zone
    ) == (dt.datetime(2026, 4, 6, 18, 0, tzinfo=UTC))


# --- Splits ---------------------------------------------------------------------------------------------


def test_conditional_split_on_a_property(organization, store, clock):
    clock.move_to(NOW)
    flow = make_flow(
        organization,
        [
            (
                "condition",
                "Medical?",
                {"test": "property", "condition": {"field": "customer_type", "op": "eq", "value": "medical"}},
                {
                    "yes": [("send_sms", "Patients", {"body": "For patients"})],
                    "no": [("send_sms", "Adults", {"body": "For adults"})],
                },
            ),
            ("send_email", "Both", {"subject": "Hi", "body": "Everyone"}),
        ],
    )
    patient = reachable(organization, store, at=NOW, customer_type="medical")
    adult = reachable(organization, store, at=NOW)
    for customer in (patient, adult):
        flow_enrol(flow=flow, customer=customer, trigger_key="x")
    flows_run_due(NOW)
    assert sent(patient) == [("sms", "Patients"), ("email", "Both")]
    assert sent(adult) == [("sms", "Adults"), ("email", "Both")]


def test_ab_split_assigns_by_share_then_sends_everyone_to_the_winner(organization, store, clock):
    clock.move_to(NOW)
    flow = make_flow(
        organization,
        [
            (
                "ab_split",
                "Subject test",
                {"share_a": 50, "winner": {"metric": "opened", "after_days": 3}},
                {
                    "a": [("send_email", "A", {"subject": "Plain", "body": "A"})],
                    "b": [("send_email", "B", {"subject": "Bold", "body": "B"})],
                },
            )
        ],
    )
    people = [reachable(organization, store, at=NOW) for _ in range(12)]
    for customer in people:
        flow_enrol(flow=flow, customer=customer, trigger_key="x")
    flows_run_due(NOW)
    runs = dict(
        FlowStepRun.objects.filter(step__name="Subject test").values_list("enrollment__customer", "outcome")
    )
    assert sorted(set(runs.values())) == ["a", "b"]
    messages = OutboundMessage.objects.select_related("origin")
    assert {m.origin.variant for m in messages} == {"a", "b"}
    assert all(m.origin.variant == runs[m.customer_id] for m in messages)
    for message in messages.filter(origin__variant="b"):
        MessageStatusEvent.objects.create(message=message, status="opened", source="webhook", occurred_at=NOW)
    later = reachable(organization, store, at=NOW)
    clock.move_to(NOW + dt.timedelta(days=2))
    flow_enrol(flow=flow, customer=later, trigger_key="x")
    flows_run_due(NOW + dt.timedelta(days=2))
    assert FlowStep.objects.get(name="Subject test").winner == ""  # not yet: 3 days
    clock.move_to(NOW + dt.timedelta(days=3))
    newcomers = [reachable(organization, store, at=NOW) for _ in range(4)]
    for customer in newcomers:
        flow_enrol(flow=flow, customer=customer, trigger_key="x")
    flows_run_due(NOW + dt.timedelta(days=3))
    split = FlowStep.objects.get(name="Subject test")
    assert (split.winner, split.winner_decided_at) == ("b", NOW + dt.timedelta(days=3))
    assert [sent(customer) for customer in newcomers] == [[("email", "B")]] * 4


# --- Bad definitions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "steps", "words"),
    [
        (
            {"type": "weather"},
            [TEXT],
            'The trigger must be one of event, spend, segment, date, inactivity, reorder; it is "weather".',
        ),
        (
            {"type": "inactivity", "days": 0},
            [TEXT],
            "Trigger: Days without a purchase must be more than zero.",
        ),
        ({"type": "event", "event": "customer.created"}, [], "A flow needs at least one step."),
        (
            {"type": "event", "event": "customer.created"},
            [("delay", "Wait", {"days": 2, "hours": 1})],
            "A wait needs exactly one of days, hours, minutes, next_day_at or days_after_entry.",
        ),
        (
            {"type": "event", "event": "customer.created"},
            [("delay", "Wait", {"next_day_at": "25:00"})],
            '"25:00" is not a time of day like 10:00.',
        ),
        (
            {"type": "event", "event": "customer.created"},
            [("send_email", "Mail", {"body": "Hi"})],
            "An email needs a subject.",
        ),
        (
            {"type": "event", "event": "customer.created"},
            [("coupon", "Gift", {"promotion": None})],
            "Choose the promotion the coupon gives.",
        ),
        (
            {"type": "event", "event": "customer.created"},
            [
                (
                    "condition",
                    "If",
                    {"test": "property", "condition": {"field": "shoe_size", "op": "eq", "value": 9}},
                )
            ],
            "Its condition: Unknown field “shoe_size”.",
        ),
        (
            {"type": "event", "event": "customer.created"},
            [("ab_split", "AB", {"share_a": 100})],
            "The share of variant A is a whole percent between 1 and 99.",
        ),
        (
            {"type": "event", "event": "customer.created"},
            [("profile", "P", {"field": "phone", "value": "+1"})],
            "A profile step changes one of notes, customer_type, postal_code.",
        ),
    ],
)
def test_bad_definitions_are_refused_with_clear_words(organization, manager, trigger, steps, words):
    flow = make_flow(organization, steps, status="draft", trigger=trigger)
    with pytest.raises(FlowDefinitionError) as error:
        flow_status_set(flow=flow, status="live", actor=manager)
    assert error.value.message == f"The flow cannot run: {words}"
    flow.refresh_from_db()
    assert flow.status == "draft" and not AuditRecord.objects.filter(action="flow.status_changed").exists()


# --- The webhook ------------------------------------------------------------------------------------------


class Receiver:
    """A fake receiver that applies each idempotency key once; `drop_answer` loses the answer after applying."""

    def __init__(self):
        self.applied: dict[str, dict] = {}
        self.posts = 0
        self.drop_answer = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.posts += 1
        body = request.read()
        assert request.headers["X-Signature"] == f"sha256={webhook_signature(body)}"
        self.applied.setdefault(request.headers["Idempotency-Key"], json.loads(body))
        if self.drop_answer:
            self.drop_answer = False
            raise httpx.ReadTimeout("answer lost", request=request)
        return httpx.Response(200, json={"ok": True})


def test_webhook_is_applied_once_across_a_lost_answer(organization, ada, monkeypatch):
    receiver = Receiver()
    transport = httpx.MockTransport(receiver)
    monkeypatch.setattr(
        flow_handlers.httpx,
        "post",
        lambda url, **kw: httpx.Client(transport=transport).post(
            url, **{k: v for k, v in kw.items() if k != "timeout"}
        ),
    )
    flow = make_flow(organization, [("webhook", "Tell the CRM", {"url": "https://crm.example/hooks"})])
    enrollment = flow_enrol(flow=flow, customer=ada, trigger_key="x")
    flows_run_due(NOW)
    receiver.drop_answer = True
    assert deliver() == ["retry"]
    EventDelivery.objects.filter(handler__startswith="messaging.flow_handlers.").update(next_attempt_at=NOW)
    assert deliver() == ["succeeded"]
    assert deliver() == []  # nothing left: a redelivery would find the step posted
    step = flow.steps.get()
    key = str(retention_key("flow-webhook", enrollment.pk, step.pk))
    assert receiver.posts == 2 and list(receiver.applied) == [key]
    assert receiver.applied[key]["customer"]["id"] == ada.pk
    assert FlowStepRun.objects.get(step=step).outcome == "posted"
