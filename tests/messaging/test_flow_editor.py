"""The flow editor's pages: the flows list (trigger in words, status, counts, revenue, switches), a flow's page
(its settings in words, the steps as a tree with branch headings in order, the counts of each step), fixed query
counts whatever the number of flows or steps, organization scoping and owners/managers only."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispensary.models import AuditRecord
from messaging.models import Flow, FlowEnrollment, FlowStep, Segment
from messaging.services_flow_editor import (
    condition_words,
    flow_status_set,
    flow_tree,
    flow_view,
    tree_flatten,
    trigger_words,
)
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.messaging.flow_editor_helpers import converted, enrol, run, sent, step, winback

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- Words ------------------------------------------------------------------------------------------------------


def test_triggers_in_plain_words(organization):
    segment = Segment.objects.create(organization=organization, name="Lapsed VIPs")
    names = {segment.pk: segment.name}
    assert trigger_words({"type": "event", "event": "pos.sale_completed", "first_purchase": True}) == (
        "When a customer makes their first purchase"
    )
    assert trigger_words({"type": "event", "event": "pos.cart_abandoned"}) == (
        "When a customer leaves a cart without buying"
    )
    assert trigger_words({"type": "inactivity", "days": 30}) == "30 days without a purchase"
    assert trigger_words({"type": "inactivity", "days": 1}) == "1 day without a purchase"
    assert trigger_words({"type": "date", "field": "birthday", "at": "10:00"}) == "On their birthday at 10:00"
    assert trigger_words(
        {"type": "date", "field": "medical_card_expires", "days_before": 30, "at": "09:00"}
    ) == ("30 days before their medical card expires at 09:00")
    assert trigger_words({"type": "segment", "segment": segment.pk}, names) == (
        "When a customer enters the segment “Lapsed VIPs”"
    )
    assert trigger_words({"type": "event", "event": "x.unknown"}) == "When “x.unknown” happens"
    assert trigger_words({}) == "No trigger chosen yet"
    assert trigger_words("garbage") == "No trigger chosen yet"


def test_conditions_in_plain_words():
    assert condition_words({"field": "days_since_last_purchase", "op": "gt", "value": 30}) == (
        "Days since the last purchase is more than 30"
    )
    assert condition_words({"field": "consent_sms", "op": "is", "value": True}) == "Texts allowed is yes"
    assert condition_words({"field": "lifetime_value", "op": "between", "value": [100, 500]}) == (
        "Lifetime spend ($) is between 100 and 500"
    )
    assert condition_words(
        {"field": "customer_type", "op": "in", "value": ["medical", "adult_use", "x"]}
    ) == ("Customer type is one of medical, adult_use, x")


# --- The tree -----------------------------------------------------------------------------------------------


def outline(nodes, indent=0) -> list[str]:
    lines = []
    for node in nodes:
        lines.append("  " * indent + node.words)
        for _branch, heading, children in node.branches:
            lines.append("  " * (indent + 1) + f"[{heading}]")
            lines.extend(outline(children, indent + 2))
    return lines


def test_tree_order_with_branches(organization):
    steps = winback(organization)
    flow = steps["flow"]
    # Positions written out of order, and an A/B split inside the "no" branch.
    steps["exit"].position = 5
    steps["exit"].save()
    ab = step(flow, "ab_split", {"share_a": 30}, parent=steps["split"], branch="no", position=3)
    step(flow, "points", {"points": 50}, parent=ab, branch="b")
    step(flow, "alert_staff", {"message": "Call them"}, parent=ab, branch="a")
    tree = flow_tree(list(FlowStep.objects.filter(flow=flow)))
    assert outline(tree) == [
        "Wait 30 days",
        "Send a text: “Hi {first_name}, see what's new at {store_name}”",
        "Wait 7 days",
        "Check: they opened a message of this flow?",
        "  [If they opened a message of this flow]",
        "    Send an email: “Picked for you”",
        "  [Otherwise]",
        "    Send a text: “Last try: 20% off”",
        "    A/B test: 30% get A, 70% get B",
        "      [Variant A (30%)]",
        "        Alert staff: “Call them”",
        "      [Variant B (70%)]",
        "        Add 50 points",
        "    End the flow and stop marketing messages to them",
    ]
    flat = tree_flatten(tree)
    assert [node.depth for node in flat] == [0, 0, 0, 0, 1, 1, 1, 2, 2, 1]
    assert [(node.first, node.last) for node in flat[:4]] == [
        (True, False),
        (False, False),
        (False, False),
        (False, True),
    ]


def test_counts_per_step(organization, store, register, budtender):
    steps = winback(organization)
    flow = steps["flow"]
    first, second, third = (enrol(flow, store=store) for _ in range(3))
    for enrollment in (first, second, third):
        run(enrollment, steps["wait30"], "waited")
    opened = sent(first, steps["text"], engaged=["opened", "clicked"])
    sent(second, steps["text"], engaged=["opened"])
    sent(third, steps["text"], status="refused")
    converted(opened, register, budtender, "52.50")
    run(first, steps["split"], "yes")
    run(second, steps["split"], "yes")
    run(third, steps["split"], "no")
    sent(third, steps["retext"], status="sent")
    view = flow_view(flow=flow)
    nodes = {node.step.pk: node for node in tree_flatten(view.tree)}
    text_node = nodes[steps["text"].pk]
    assert text_node.reached == 3
    assert text_node.outcomes == {"sent": 3}
    result = text_node.results
    assert (result.sent, result.delivered, result.opened, result.clicked, result.converted) == (2, 2, 2, 1, 1)
    assert result.revenue == Decimal("52.50")
    assert nodes[steps["split"].pk].outcomes == {"yes": 2, "no": 1}
    assert nodes[steps["split"].pk].results is None
    assert nodes[steps["retext"].pk].results.sent == 1
    assert nodes[steps["email"].pk].reached == 0
    assert nodes[steps["email"].pk].results.sent == 0
    assert (view.in_flow, view.entered) == (3, 3)
    assert view.trigger == "30 days without a purchase"
    assert view.filters == ["Texts allowed is yes"]


# --- The pages ------------------------------------------------------------------------------------------------


def test_list_page_shows_trigger_status_counts_and_revenue(
    client, manager, organization, store, register, budtender, clock
):
    clock.move_to(dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC))
    steps = winback(organization)
    flow = steps["flow"]
    recent = enrol(flow, store=store)
    enrol(
        flow,
        store=store,
        status=FlowEnrollment.Status.CONVERTED,
        entered_at=timezone.now() - dt.timedelta(days=40),
    )
    message = sent(recent, steps["text"])
    converted(message, register, budtender, "40.00")
    Flow.objects.create(
        organization=organization,
        name="Birthday",
        trigger={"type": "date", "field": "birthday", "at": "10:00"},
    )
    client.force_login(manager)
    page = text(client.get("/messaging/flows/"))
    row = re.search(rf'<tr id="flow-{flow.pk}">(.*?)</tr>', page).group(1)
    assert "30 days without a purchase" in row
    assert "Live" in row
    assert re.findall(r'<td class="num" data-label="[^"]*">([^<]*)</td>', row) == ["1", "1", "$40.00"]
    assert 'value="paused"' in row and 'value="draft"' in row and 'value="live"' not in row
    assert "On their birthday at 10:00" in page
    assert "Win-back" in page and "Create a blank flow" in page and "Use this flow" in page


def test_list_page_query_count_is_fixed(client, manager, organization, store):
    client.force_login(manager)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/messaging/flows/").status_code == 200
        return len(queries)

    steps = winback(organization, name="One")
    enrol(steps["flow"], store=store)
    few = count()
    for index in range(4):
        more = winback(organization, name=f"More {index}")
        sent(enrol(more["flow"], store=store), more["text"])
    assert count() == few


def test_detail_page_shows_settings_tree_and_counts(client, manager, organization, store):
    steps = winback(organization)
    flow = steps["flow"]
    first = enrol(flow, store=store)
    sent(first, steps["text"], engaged=["opened"])
    run(first, steps["split"], "yes")
    client.force_login(manager)
    response = client.get(f"/messaging/flows/{flow.pk}/")
    assert response.status_code == 200
    page = text(response)
    assert "30 days without a purchase" in page
    assert "Texts allowed is yes" in page
    assert "A purchase ends the flow" in page
    assert "Once per customer, never again" in page
    headings = re.findall(r'<p class="flow-branch__heading">([^<]*)</p>', page)
    assert headings == ["If they opened a message of this flow", "Otherwise"]
    order = [int(pk) for pk in re.findall(r'<li class="flow-step [^"]*" id="step-(\d+)"', page)]
    assert order == [
        steps[name].pk for name in ("wait30", "text", "wait7", "split", "email", "retext", "exit")
    ]
    text_box = re.search(rf'id="step-{steps["text"].pk}"(.*?)</li>', page).group(1)
    assert "Reached: <strong data-reached>1</strong>" in text_box
    assert "Sent 1" in text_box and "Opened 1" in text_box and "Revenue $0.00" in text_box
    # A step that ran has no Delete button; one that never ran has.
    assert f"/steps/{steps['text'].pk}/delete/" not in page
    assert f"/steps/{steps['email'].pk}/delete/" in page
    assert "cannot be deleted" in page  # the live flow's note


def test_detail_page_query_count_is_fixed_whatever_the_steps(client, manager, organization, store):
    client.force_login(manager)
    steps = winback(organization)
    flow = steps["flow"]
    promotion_flow_step = step(flow, "coupon", {"promotion": 999, "valid_days": 14}, position=9)
    enrol(flow, store=store)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/messaging/flows/{flow.pk}/").status_code == 200
        return len(queries)

    few = count()
    for index in range(10):
        extra = step(
            flow,
            "send_sms",
            {"body": f"More {index}"},
            parent=steps["split"],
            branch="no",
            position=10 + index,
        )
        sent(enrol(flow, store=store), extra)
        step(flow, "coupon", {"promotion": 1000 + index}, position=20 + index)
    assert promotion_flow_step.pk
    assert count() == few


def test_other_organizations_flows_are_404_and_budtenders_403(client, manager, budtender, organization):
    other = OrganizationFactory()
    foreign = winback(other)
    client.force_login(manager)
    flow_id, step_id = foreign["flow"].pk, foreign["text"].pk
    for url in (
        f"/messaging/flows/{flow_id}/",
        f"/messaging/flows/{flow_id}/settings/",
        f"/messaging/flows/{flow_id}/steps/new/",
        f"/messaging/flows/{flow_id}/steps/{step_id}/",
        f"/messaging/flows/{flow_id}/steps/{step_id}/delete/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/messaging/flows/{flow_id}/status/", {"status": "paused"}).status_code == 404
    assert client.post(f"/messaging/flows/{flow_id}/steps/{step_id}/delete/").status_code == 404
    assert (
        client.post(f"/messaging/flows/{flow_id}/steps/{step_id}/move/", {"direction": "up"}).status_code
        == 404
    )
    assert f'id="flow-{flow_id}"' not in text(client.get("/messaging/flows/"))
    # A step of another flow is 404 under this organization's flow.
    mine = winback(organization, name="Mine")
    assert client.get(f"/messaging/flows/{mine['flow'].pk}/steps/{step_id}/").status_code == 404
    assert client.get(f"/messaging/flows/{mine['flow'].pk}/steps/new/?after={step_id}").status_code == 404
    foreign["flow"].refresh_from_db()
    assert foreign["flow"].status == "live"
    assert FlowStep.objects.filter(pk=step_id).exists()

    client.force_login(budtender)
    assert client.get("/messaging/flows/").status_code == 403
    assert client.get(f"/messaging/flows/{mine['flow'].pk}/").status_code == 403
    assert client.post(f"/messaging/flows/{mine['flow'].pk}/status/", {"status": "paused"}).status_code == 403
    assert client.post("/messaging/flows/new/", {"name": "Sneaky"}).status_code == 403
    assert client.post(f"/messaging/flows/{mine['flow'].pk}/steps/preview/", {"body": "x"}).status_code == 403
    assert not Flow.objects.filter(name="Sneaky").exists()


def test_nav_link_for_managers_only(client, manager, budtender):
    client.force_login(manager)
    assert 'href="/messaging/flows/"' in client.get("/messaging/flows/").content.decode()
    client.force_login(budtender)
    assert 'href="/messaging/flows/"' not in client.get("/").content.decode()


def test_owner_may_manage_flows(client, organization, store):
    owner = UserFactory(organization=organization, roles=["owner"], stores=[store])
    client.force_login(owner)
    assert client.get("/messaging/flows/").status_code == 200


# --- Status switches ----------------------------------------------------------------------------------------


def test_switch_on_pause_and_off_are_audited(client, manager, organization, clock):
    clock.move_to(dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC))
    steps = winback(organization, status=Flow.Status.DRAFT)
    flow = steps["flow"]
    client.force_login(manager)
    response = client.post(f"/messaging/flows/{flow.pk}/status/", {"status": "live"})
    assert response.status_code == 302 and response["Location"] == "/messaging/flows/"
    flow.refresh_from_db()
    assert (flow.status, flow.went_live_at) == ("live", timezone.now())
    client.post(f"/messaging/flows/{flow.pk}/status/", {"status": "paused", "next": "detail"})
    client.post(f"/messaging/flows/{flow.pk}/status/", {"status": "draft"})
    flow.refresh_from_db()
    assert flow.status == "draft"
    records = AuditRecord.objects.filter(action="flow.status_changed", object_id=str(flow.pk)).order_by("id")
    assert [(r.before, r.after) for r in records] == [
        ({"status": "draft"}, {"status": "live", "enrollments_cancelled": 0}),
        ({"status": "live"}, {"status": "paused", "enrollments_cancelled": 0}),
        ({"status": "paused"}, {"status": "draft", "enrollments_cancelled": 0}),
    ]
    assert records[0].actor == manager


def test_bad_status_and_a_flow_without_steps_write_nothing(client, manager, organization):
    empty = Flow.objects.create(
        organization=organization, name="Empty", trigger={"type": "inactivity", "days": 30}
    )
    client.force_login(manager)
    response = client.post(f"/messaging/flows/{empty.pk}/status/", {"status": "live"}, follow=True)
    assert "needs at least one step" in text(response)
    response = client.post(f"/messaging/flows/{empty.pk}/status/", {"status": "exploded"}, follow=True)
    assert "Choose live, paused or draft." in text(response)
    empty.refresh_from_db()
    assert empty.status == "draft"
    assert not AuditRecord.objects.filter(action="flow.status_changed").exists()


def test_status_service_same_status_is_a_no_op(organization, manager):
    flow = winback(organization)["flow"]
    assert flow_status_set(flow=flow, status="live", actor=manager).status == "live"
    assert not AuditRecord.objects.filter(action="flow.status_changed").exists()


# --- Creating flows ---------------------------------------------------------------------------------------------


def test_blank_flow_is_created_as_a_draft(client, manager, organization):
    client.force_login(manager)
    response = client.post("/messaging/flows/new/", {"name": "  Thank you  "})
    flow = Flow.objects.get(organization=organization)
    assert response["Location"] == f"/messaging/flows/{flow.pk}/"
    assert (flow.name, flow.status, flow.created_by) == ("Thank you", "draft", manager)
    assert AuditRecord.objects.filter(action="flow.created", object_id=str(flow.pk)).count() == 1
    page = text(client.get(f"/messaging/flows/{flow.pk}/"))
    assert "No steps yet." in page and "When a customer makes their first purchase" in page


def test_blank_flow_needs_a_name_and_ready_made_needs_a_known_key(client, manager):
    client.force_login(manager)
    response = client.post("/messaging/flows/new/", {"name": "   "}, follow=True)
    assert "Give the new flow a name." in text(response)
    response = client.post("/messaging/flows/ready-made/", {"key": "nonsense"}, follow=True)
    assert "Choose one of the ready-made flows." in text(response)
    assert not Flow.objects.exists()


def test_the_list_works_with_another_store_of_the_organization(client, organization, store):
    other_store = StoreFactory(organization=organization)
    manager = UserFactory(organization=organization, roles=["manager"], stores=[other_store])
    flow = winback(organization)["flow"]
    client.force_login(manager)
    assert f'id="flow-{flow.pk}"' in text(client.get("/messaging/flows/"))
