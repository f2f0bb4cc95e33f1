"""The flow editor's forms: the flow's settings (trigger and its parameters, filters as condition rows, goal,
re-entry, stores) and each kind of step, their success and failure paths (bad input re-renders the form with
its message and writes nothing), adding a step after a step or inside a branch, moving, deleting a subtree
(refused once customers went through it) and the preview of a send step for a sample customer."""

import re
from decimal import Decimal

import pytest

from dispensary.models import AuditRecord
from messaging.models import Flow, FlowStep, Segment
from pos.models import Promotion
from tests.factories import OrganizationFactory, StoreFactory
from tests.messaging.flow_editor_helpers import enrol, run, winback

pytestmark = pytest.mark.django_db

SETTINGS = {
    "name": "Win-back",
    "description": "",
    "trigger_kind": "inactivity",
    "days": "45",
    "at": "10:00",
    "filter_match": "all",
    "goal": "purchase",
    "reentry": "never",
    "filters-TOTAL_FORMS": "2",
    "filters-INITIAL_FORMS": "0",
    "filters-MIN_NUM_FORMS": "0",
    "filters-MAX_NUM_FORMS": "20",
    "filters-0-field": "days_since_last_purchase",
    "filters-0-op": "between",
    "filters-0-value": "30, 60",
    "filters-1-field": "",
    "filters-1-op": "eq",
    "filters-1-value": "",
}


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def flow(organization):
    return winback(organization)


def settings_url(steps) -> str:
    return f"/messaging/flows/{steps['flow'].pk}/settings/"


# --- Settings ---------------------------------------------------------------------------------------------------


def test_settings_form_shows_the_flow(client, manager, flow):
    client.force_login(manager)
    page = text(client.get(settings_url(flow)))
    assert '<option value="inactivity" selected>' in page
    assert 'name="days" value="30"' in page
    assert '<option value="consent_sms" selected>' in page


def test_settings_saved_and_audited(client, manager, flow, store, organization):
    hidden_store = StoreFactory(organization=organization)
    flow["flow"].stores.set([hidden_store])
    client.force_login(manager)
    response = client.post(
        settings_url(flow),
        {
            **SETTINGS,
            "reentry": "after_days",
            "reentry_days": "90",
            "stores": [str(store.pk)],
            "filters-1-field": "consent_sms",
            "filters-1-op": "is",
            "filters-1-value": "yes",
        },
    )
    assert response.status_code == 302
    saved = Flow.objects.get(pk=flow["flow"].pk)
    assert saved.trigger == {"type": "inactivity", "days": 45}
    assert saved.filters == [
        {"field": "days_since_last_purchase", "op": "between", "value": [30, 60]},
        {"field": "consent_sms", "op": "is", "value": True},
    ]
    assert (saved.reentry, saved.reentry_days, saved.goal) == ("after_days", 90, "purchase")
    # The store the manager cannot see stays.
    assert set(saved.stores.values_list("pk", flat=True)) == {store.pk, hidden_store.pk}
    record = AuditRecord.objects.get(action="flow.changed")
    assert record.before["trigger"] == {"type": "inactivity", "days": 30}
    assert record.after["trigger"] == {"type": "inactivity", "days": 45}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"days": ""}, "Say after how many days without a purchase."),
        ({"trigger_kind": "segment"}, "Choose the segment whose new members enter the flow."),
        ({"trigger_kind": "medical_card", "days": ""}, "Say how many days before the card expires."),
        ({"reentry": "after_days"}, "Say after how many days a customer may enter again."),
        ({"filters-0-value": "30"}, "Write two values separated by a comma, e.g. 30, 60."),
        ({"filters-0-value": "thirty, sixty"}, "Write a number."),
        (
            {"filters-0-field": "consent_sms", "filters-0-op": "eq", "filters-0-value": "yes"},
            "Use “is” with yes",
        ),
        ({"filters-0-field": "", "filters-0-value": "30"}, "Choose a field for this value."),
        (
            {"filters-0-field": "birthday_month", "filters-0-op": "eq", "filters-0-value": "13"},
            "month number",
        ),
        ({"trigger_kind": "explode"}, "Select a valid choice."),
    ],
)
def test_bad_settings_re_render_and_write_nothing(client, manager, flow, changes, message):
    client.force_login(manager)
    before = Flow.objects.filter(pk=flow["flow"].pk).values().get()
    response = client.post(settings_url(flow), {**SETTINGS, **changes})
    assert response.status_code == 400
    assert message in text(response)
    assert Flow.objects.filter(pk=flow["flow"].pk).values().get() == before
    assert not AuditRecord.objects.filter(action="flow.changed").exists()


def test_triggers_of_each_kind(client, manager, flow, organization):
    segment = Segment.objects.create(organization=organization, name="New VIPs")
    foreign = Segment.objects.create(organization=OrganizationFactory(), name="Theirs")
    client.force_login(manager)
    cases = [
        (
            {"trigger_kind": "first_purchase"},
            {"type": "event", "event": "pos.sale_completed", "first_purchase": True},
        ),
        ({"trigger_kind": "cart_abandoned"}, {"type": "event", "event": "pos.cart_abandoned"}),
        ({"trigger_kind": "segment", "segment": str(segment.pk)}, {"type": "segment", "segment": segment.pk}),
        ({"trigger_kind": "birthday", "at": "09:30"}, {"type": "date", "field": "birthday", "at": "09:30"}),
        (
            {"trigger_kind": "medical_card", "days": "30"},
            {"type": "date", "field": "medical_card_expires", "days_before": 30, "at": "10:00"},
        ),
    ]
    for changes, trigger in cases:
        assert client.post(settings_url(flow), {**SETTINGS, **changes}).status_code == 302, changes
        assert Flow.objects.get(pk=flow["flow"].pk).trigger == trigger
    response = client.post(
        settings_url(flow), {**SETTINGS, "trigger_kind": "segment", "segment": str(foreign.pk)}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in text(response)


def test_a_trigger_the_editor_cannot_rebuild_is_kept(client, manager, flow):
    special = {"type": "event", "event": "pos.tier_changed", "tier": 3, "spend_over": "500.00"}
    Flow.objects.filter(pk=flow["flow"].pk).update(trigger=special)
    client.force_login(manager)
    page = text(client.get(settings_url(flow)))
    assert (
        '<option value="current" selected>Keep: When a customer reaches a new loyalty tier</option>' in page
    )
    assert client.post(settings_url(flow), {**SETTINGS, "trigger_kind": "current"}).status_code == 302
    assert Flow.objects.get(pk=flow["flow"].pk).trigger == special


# --- Steps of each kind -----------------------------------------------------------------------------------------


@pytest.fixture
def promotion(organization):
    return Promotion.objects.create(
        organization=organization, name="20% off", kind="percent", value=Decimal("20")
    )


STEP_CASES = [
    ("delay", {"wait": "days", "amount": "3"}, {"days": 3}),
    ("delay", {"wait": "hours", "amount": "2"}, {"hours": 2}),
    ("delay", {"wait": "next_day_at", "at": "10:00"}, {"next_day_at": "10:00"}),
    ("condition", {"test": "clicked", "op": "eq"}, {"test": "clicked"}),
    (
        "condition",
        {"test": "property", "field": "points_balance", "op": "gte", "value": "300"},
        {"test": "property", "condition": {"field": "points_balance", "op": "gte", "value": 300}},
    ),
    (
        "ab_split",
        {"share_a": "30", "metric": "clicked", "after_days": "3"},
        {"share_a": 30, "winner": {"metric": "clicked", "after_days": 3}},
    ),
    ("ab_split", {"share_a": "50", "metric": ""}, {"share_a": 50}),
    ("send_sms", {"body": " Hi {first_name}! "}, {"body": "Hi {first_name}!"}),
    ("send_email", {"subject": "For you", "body": "Hello"}, {"subject": "For you", "body": "Hello"}),
    ("points", {"points": "50", "note": "Welcome back"}, {"points": 50, "note": "Welcome back"}),
    (
        "profile",
        {"field": "preferred_language", "value": "es"},
        {"field": "preferred_language", "value": "es"},
    ),
    ("webhook", {"url": "https://hooks.example.com/flow"}, {"url": "https://hooks.example.com/flow"}),
    ("alert_staff", {"message": "Call them"}, {"message": "Call them"}),
    ("exit", {"suppress_marketing": "on"}, {"suppress_marketing": True}),
    ("exit", {}, {"suppress_marketing": False}),
]


@pytest.mark.parametrize(("kind", "data", "config"), STEP_CASES)
def test_add_a_step_of_each_kind(client, manager, flow, kind, data, config):
    client.force_login(manager)
    url = f"/messaging/flows/{flow['flow'].pk}/steps/new/"
    assert client.get(url, {"kind": kind}).status_code == 200
    response = client.post(url, {"kind": kind, "name": "Mine", **data})
    assert response.status_code == 302, text(response)
    added = FlowStep.objects.get(flow=flow["flow"], name="Mine")
    assert (added.kind, added.config, added.parent_id, added.position) == (kind, config, None, 4)
    assert AuditRecord.objects.filter(action="flow_step.added", object_id=str(added.pk)).count() == 1


def test_add_a_coupon_step(client, manager, flow, promotion):
    foreign = Promotion.objects.create(
        organization=OrganizationFactory(), name="Theirs", kind="percent", value=Decimal("10")
    )
    client.force_login(manager)
    url = f"/messaging/flows/{flow['flow'].pk}/steps/new/"
    data = {"kind": "coupon", "promotion": str(promotion.pk), "valid_days": "14", "min_spend": "40"}
    bad = client.post(url, {**data, "promotion": str(foreign.pk)})
    assert bad.status_code == 400 and "Select a valid choice" in text(bad)
    assert client.post(url, data).status_code == 302
    added = FlowStep.objects.get(flow=flow["flow"], kind="coupon")
    assert added.config == {"promotion": promotion.pk, "valid_days": 14, "min_spend": "40.00"}
    assert "Issue a personal coupon for 20% off, valid 14 days, minimum spend $40.00" in text(
        client.get(f"/messaging/flows/{flow['flow'].pk}/")
    )


BAD_STEPS = [
    ("delay", {"wait": "days", "amount": ""}, "Say how many days."),
    ("delay", {"wait": "next_day_at", "at": ""}, "Say at what time."),
    ("delay", {"wait": "hours", "amount": "200"}, "Wait at most a week in hours"),
    ("condition", {"test": "property", "field": "", "op": "eq"}, "Choose the profile field to test."),
    (
        "condition",
        {"test": "property", "field": "points_balance", "op": "gt", "value": "lots"},
        "Write a number.",
    ),
    ("ab_split", {"share_a": "0"}, "Ensure this value is greater than or equal to 1."),
    ("ab_split", {"share_a": "50", "metric": "clicked", "after_days": ""}, "Say after how many days"),
    ("send_sms", {"body": ""}, "This field is required."),
    ("send_sms", {"body": "See https://evil.example.net/x"}, "does not lead to one of our sites"),
    ("send_email", {"subject": "", "body": "Hello"}, "This field is required."),
    ("points", {"points": "0"}, "Ensure this value is greater than or equal to 1."),
    ("webhook", {"url": "http://hooks.example.com/x"}, "Use an https:// address."),
    ("webhook", {"url": "https://10.1.2.3/x"}, "private network"),
    ("webhook", {"url": "https://127.0.0.1/x"}, "private network"),
    ("webhook", {"url": "https://[::1]/x"}, "private network"),
    ("webhook", {"url": "https://localhost/x"}, "private network"),
    ("webhook", {"url": "https://printer.local/x"}, "private network"),
    ("webhook", {"url": "https://user:pw@hooks.example.com/x"}, "Leave the user name and password out"),
    ("webhook", {"url": "https://hooks.example.com:port/x"}, "This is not a web address."),
    ("alert_staff", {"message": ""}, "This field is required."),
]


@pytest.mark.parametrize(("kind", "data", "message"), BAD_STEPS)
def test_bad_steps_re_render_and_write_nothing(client, manager, flow, kind, data, message):
    client.force_login(manager)
    response = client.post(f"/messaging/flows/{flow['flow'].pk}/steps/new/", {"kind": kind, **data})
    assert response.status_code == 400
    assert message in text(response)
    assert FlowStep.objects.filter(flow=flow["flow"]).count() == 7
    assert not AuditRecord.objects.filter(action="flow_step.added").exists()


def test_unknown_kind_shows_the_choice_of_kinds(client, manager, flow):
    client.force_login(manager)
    response = client.post(f"/messaging/flows/{flow['flow'].pk}/steps/new/", {"kind": "teleport"})
    assert response.status_code == 200
    assert "What should the step do?" in text(response)
    assert FlowStep.objects.filter(flow=flow["flow"]).count() == 7


# --- Where a step goes, moving and deleting ---------------------------------------------------------------------


def order(flow, parent=None, branch=""):
    return list(
        FlowStep.objects.filter(flow=flow, parent=parent, branch=branch)
        .order_by("position")
        .values_list("pk", "position")
    )


def test_add_after_a_step_and_inside_a_branch(client, manager, flow):
    client.force_login(manager)
    url = f"/messaging/flows/{flow['flow'].pk}/steps/new/"
    page = text(client.get(url, {"after": flow["text"].pk}))
    assert "Add a step after “Send a text" in page
    client.post(url, {"kind": "points", "points": "5", "after": flow["text"].pk, "name": "After text"})
    added = FlowStep.objects.get(name="After text")
    top = [pk for pk, _ in order(flow["flow"])]
    assert top == [flow["wait30"].pk, flow["text"].pk, added.pk, flow["wait7"].pk, flow["split"].pk]
    assert [position for _, position in order(flow["flow"])] == [0, 1, 2, 3, 4]
    # Inside a branch: at its end.
    page = text(client.get(url, {"parent": flow["split"].pk, "branch": "no"}))
    assert "in the branch “Otherwise”" in page
    client.post(
        url, {"kind": "points", "points": "5", "parent": flow["split"].pk, "branch": "no", "name": "In no"}
    )
    in_no = FlowStep.objects.get(name="In no")
    assert [pk for pk, _ in order(flow["flow"], flow["split"], "no")] == [
        flow["retext"].pk,
        flow["exit"].pk,
        in_no.pk,
    ]
    # After a step inside a branch: in that branch.
    client.post(url, {"kind": "points", "points": "5", "after": flow["retext"].pk, "name": "After retext"})
    after_retext = FlowStep.objects.get(name="After retext")
    assert [pk for pk, _ in order(flow["flow"], flow["split"], "no")] == [
        flow["retext"].pk,
        after_retext.pk,
        flow["exit"].pk,
        in_no.pk,
    ]
    # A branch a step does not have, and a step that does not exist, are 404.
    assert client.get(url, {"parent": flow["split"].pk, "branch": "a"}).status_code == 404
    assert client.get(url, {"parent": flow["text"].pk, "branch": "yes"}).status_code == 404
    assert client.get(url, {"after": "nope"}).status_code == 404


def test_move_up_and_down(client, manager, flow):
    client.force_login(manager)
    url = f"/messaging/flows/{flow['flow'].pk}/steps/{flow['wait7'].pk}/move/"
    client.post(url, {"direction": "up"})
    assert [pk for pk, _ in order(flow["flow"])] == [
        flow["wait30"].pk,
        flow["wait7"].pk,
        flow["text"].pk,
        flow["split"].pk,
    ]
    client.post(url, {"direction": "down"})
    client.post(url, {"direction": "down"})
    client.post(url, {"direction": "down"})  # already last: nothing moves
    assert [pk for pk, _ in order(flow["flow"])] == [
        flow["wait30"].pk,
        flow["text"].pk,
        flow["split"].pk,
        flow["wait7"].pk,
    ]
    assert AuditRecord.objects.filter(action="flow_step.moved").count() == 3
    response = client.post(url, {"direction": "sideways"}, follow=True)
    assert "Move a step up or down." in text(response)


def test_delete_a_split_takes_its_branches(client, manager, flow):
    client.force_login(manager)
    url = f"/messaging/flows/{flow['flow'].pk}/steps/{flow['split'].pk}/delete/"
    page = text(client.get(url))
    assert "The 3 steps under it (in its branches) go with it." in page
    assert "Delete 4 steps" in page
    client.post(url)
    assert set(FlowStep.objects.filter(flow=flow["flow"]).values_list("pk", flat=True)) == {
        flow["wait30"].pk,
        flow["text"].pk,
        flow["wait7"].pk,
    }
    record = AuditRecord.objects.get(action="flow_step.deleted")
    assert record.before["subtree"] == sorted(flow[name].pk for name in ("split", "email", "retext", "exit"))


def test_a_step_customers_went_through_cannot_be_deleted(client, manager, flow, store):
    run(enrol(flow["flow"], store=store), flow["retext"], "sent")
    client.force_login(manager)
    url = f"/messaging/flows/{flow['flow'].pk}/steps/{flow['split'].pk}/delete/"
    page = text(client.get(url))
    assert "cannot be deleted" in page and "Pause the flow" in page and "btn--danger" not in page
    response = client.post(url, follow=True)
    assert "cannot be deleted" in text(response)
    assert FlowStep.objects.filter(flow=flow["flow"]).count() == 7
    assert not AuditRecord.objects.filter(action="flow_step.deleted").exists()
    # Its untouched sibling may go.
    client.post(f"/messaging/flows/{flow['flow'].pk}/steps/{flow['email'].pk}/delete/")
    assert not FlowStep.objects.filter(pk=flow["email"].pk).exists()


# --- Editing a step and its preview ---------------------------------------------------------------------------


def test_edit_a_live_flows_step_keeps_what_the_form_does_not_show(client, manager, flow):
    FlowStep.objects.filter(pk=flow["text"].pk).update(config={"body": "Old", "template_key": "winback_1"})
    client.force_login(manager)
    url = f"/messaging/flows/{flow['flow'].pk}/steps/{flow['text'].pk}/"
    page = text(client.get(url))
    assert "The flow is live: the change applies to the next customers" in page
    assert client.post(url, {"body": "New words {first_name}"}).status_code == 302
    flow["text"].refresh_from_db()
    assert flow["text"].config == {"body": "New words {first_name}", "template_key": "winback_1"}
    record = AuditRecord.objects.get(action="flow_step.changed")
    assert (record.before["config"]["body"], record.after["config"]["body"]) == (
        "Old",
        "New words {first_name}",
    )
    bad = client.post(url, {"body": ""})
    assert bad.status_code == 400
    flow["text"].refresh_from_db()
    assert flow["text"].config["body"] == "New words {first_name}"


def test_delay_edit_replaces_the_wait(client, manager, flow):
    client.force_login(manager)
    url = f"/messaging/flows/{flow['flow'].pk}/steps/{flow['wait7'].pk}/"
    assert '<option value="days" selected>' in text(client.get(url))
    client.post(url, {"wait": "next_day_at", "at": "10:00"})
    flow["wait7"].refresh_from_db()
    assert flow["wait7"].config == {"next_day_at": "10:00"}


def test_preview_of_a_send_step_for_a_sample_customer(client, manager, flow, store):
    client.force_login(manager)
    page = text(client.get(f"/messaging/flows/{flow['flow'].pk}/steps/{flow['text'].pk}/"))
    body = re.search(r'id="preview-body">([^<]*)<', page).group(1)
    assert body == f"Hi Ada, see what&#x27;s new at {store.name} Reply STOP to opt out."
    length = len(f"Hi Ada, see what's new at {store.name} Reply STOP to opt out.")
    assert re.search(r'id="preview-count">([^<]*)<', page).group(1) == f"{length} characters · 1 part · GSM-7"
    email = text(client.get(f"/messaging/flows/{flow['flow'].pk}/steps/{flow['email'].pk}/"))
    assert '<span id="preview-subject">Picked for you</span>' in email
    assert 'id="preview-count"' not in email
    url = f"/messaging/flows/{flow['flow'].pk}/steps/preview/"
    long = text(client.post(url, {"kind": "send_sms", "body": "x" * 140}))
    assert "163 characters · 2 parts · GSM-7" in long
    emoji = text(client.post(url, {"kind": "send_sms", "body": "Happy birthday 🎂"}))
    assert "UCS-2" in emoji and 'id="preview-ucs2"' in emoji
    # Not a send step's form: no preview there.
    assert 'id="step-preview"' not in text(
        client.get(f"/messaging/flows/{flow['flow'].pk}/steps/{flow['wait7'].pk}/")
    )
