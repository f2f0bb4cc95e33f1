"""The state sync page: status at a glance, failed and pending reports with the state's answer, and the
actions on a refused report (retry, edit and resend, mark as entered manually)."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.models import SyncRecord
from dispensary.models import AuditRecord
from tests.compliance.web.conftest import HTMX

pytestmark = pytest.mark.django_db
SYNC = reverse("compliance:sync_index")


def record_url(record, action=""):
    name = f"compliance:sync_record_{action}" if action else "compliance:sync_record"
    return reverse(name, args=[record.pk])


def test_anonymous_is_sent_to_login(client):
    response = client.get(SYNC)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["budtender", "driver", "inventory_manager"])
def test_roles_without_the_permission_are_refused(role, staff, login):
    assert login(staff(role)).get(SYNC).status_code == 403


@pytest.mark.parametrize("role", ["manager", "owner", "compliance_officer"])
def test_managers_owners_and_compliance_officers_see_it(role, staff, login):
    response = login(staff(role)).get(SYNC)
    assert response.status_code == 200
    assert b"State sync" in response.content


def test_budtender_cannot_act_on_a_report(staff, login, store, queue):
    (record,) = queue(store)
    client = login(staff("budtender"))
    assert client.get(record_url(record)).status_code == 403
    assert client.post(record_url(record, "retry")).status_code == 403
    record.refresh_from_db()
    assert record.status == "failed"


def test_overview_counts_banner_and_lists(staff, login, store, queue):
    failed = queue(store, mode="reject", count=2)
    pending = queue(store, mode="down", count=1)
    accepted = queue(store, mode="accept", count=1)
    assert [r.status for r in failed + pending + accepted] == ["failed", "failed", "pending", "accepted"]
    response = login(staff("manager")).get(SYNC)
    body = response.content.decode()
    assert response.status_code == 200
    assert "2 reports refused by the state." in body
    assert "Package 1A4" in body and "is not in inventory." in body  # the row error
    assert "The state&#x27;s API did not answer." in body  # the pending one's last error
    assert failed[0].payload[0]["Label"] in body
    open_ids = [r.pk for r in response.context["page"].object_list]
    assert open_ids == [failed[0].pk, failed[1].pk, pending[0].pk]  # failed first
    assert [r.pk for r in response.context["recent"]] == [accepted[0].pk]
    overview = response.context["overview"]
    assert (overview["failed"], overview["unsent"], overview["overdue"]) == (2, 1, False)
    assert overview["last_accepted_at"] is not None


def test_a_report_waiting_too_long_raises_the_banner(staff, login, store, queue, settings):
    (record,) = queue(store, mode="down")
    SyncRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - dt.timedelta(minutes=45))
    settings.STATE_SYNC = {**settings.STATE_SYNC, "ALERT_AFTER_MINUTES": 15}
    response = login(staff("manager")).get(SYNC)
    assert response.context["overview"]["overdue"] is True
    assert "The oldest unsent report has waited" in response.content.decode()


def test_no_banner_when_all_is_well(staff, login, store, queue):
    queue(store, mode="accept")
    body = login(staff("manager")).get(SYNC).content.decode()
    assert "refused by the state" not in body and "has waited" not in body


def test_status_filter_and_its_htmx_partial(staff, login, store, queue):
    failed = queue(store, mode="reject")
    pending = queue(store, mode="down")
    client = login(staff("manager"))
    response = client.get(SYNC, {"status": "pending"}, **HTMX, HTTP_HX_TARGET="sync-results")
    assert [r.pk for r in response.context["page"].object_list] == [pending[0].pk]
    assert "compliance/_sync_results.html" in [t.name for t in response.templates]
    assert "compliance/sync_index.html" not in [t.name for t in response.templates]
    response = client.get(SYNC, {"status": "failed"})
    assert [r.pk for r in response.context["page"].object_list] == [failed[0].pk]
    response = client.get(SYNC, {"status": "bogus"})  # unknown: the default list
    assert {r.pk for r in response.context["page"].object_list} == {failed[0].pk, pending[0].pk}


def test_the_list_shows_only_the_current_store(staff, login, store, sister_store, queue):
    queue(sister_store, mode="reject")
    client = login(staff("manager", stores=[store, sister_store]))
    session = client.session
    session["current_store_id"] = store.pk
    session.save()
    response = client.get(SYNC)
    assert list(response.context["page"].object_list) == []
    assert response.context["overview"]["failed"] == 0


def test_another_stores_report_is_not_found(staff, login, store, sister_store, queue):
    (record,) = queue(sister_store)
    client = login(staff("manager"))  # works at `store` only
    assert client.get(record_url(record)).status_code == 404
    for action in ("retry", "resend", "manual"):
        assert client.post(record_url(record, action), {"note": "x", "payload": "[{}]"}).status_code == 404
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("failed", 1)


def test_the_record_page_pretty_prints_payload_and_answer(staff, login, store, queue):
    (record,) = queue(store)
    response = login(staff("compliance_officer")).get(record_url(record))
    body = response.content.decode()
    assert response.status_code == 200
    assert json.dumps(record.payload, indent=2).replace('"', "&quot;") in body
    assert "&quot;status_code&quot;: 400" in body
    assert "Row 0" in body and "Edit and resend" in body


@pytest.mark.django_db(transaction=True)  # the resend runs on commit, as in the embedded runtime
def test_retry_sends_again(staff, login, store, queue, state):
    (record,) = queue(store)
    state.mode = "accept"
    response = login(staff("manager")).post(record_url(record, "retry"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("accepted", 2)
    assert AuditRecord.objects.filter(action="state_report.retried", object_id=str(record.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_edit_and_resend_sends_the_edited_objects(staff, login, store, queue, state):
    (record,) = queue(store)
    state.mode = "accept"
    edited = [{"Label": "1A4000000000000000999999", "Quantity": -1, "UnitOfMeasure": "Each"}]
    response = login(staff("manager")).post(
        record_url(record, "resend"), {"payload": json.dumps(edited)}, **HTMX
    )
    assert response.status_code == 200
    assert "Edited and sent again. Status now: accepted." in response.content.decode()
    record.refresh_from_db()
    assert (record.status, record.payload) == ("accepted", edited)
    assert state.sent[-1][1] == edited


@pytest.mark.parametrize(
    "text, message",
    [
        ("[{'Label': 1}]", "This is not valid JSON"),
        ("{}", "must be a JSON list of objects"),
        ("[]", "must be a JSON list of objects"),
        ("[1, 2]", "must be a JSON list of objects"),
        ("", "This field is required."),
    ],
)
def test_edit_and_resend_with_bad_json_changes_nothing(staff, login, store, queue, state, text, message):
    (record,) = queue(store)
    sent, audits = len(state.sent), AuditRecord.objects.count()
    response = login(staff("manager")).post(record_url(record, "resend"), {"payload": text}, **HTMX)
    assert response.status_code == 200
    assert message in response.content.decode()
    before = record.payload
    record.refresh_from_db()
    assert (record.status, record.payload, record.attempts) == ("failed", before, 1)
    assert (len(state.sent), AuditRecord.objects.count()) == (sent, audits)


def test_mark_manual_needs_a_note(staff, login, store, queue):
    (record,) = queue(store)
    client = login(staff("manager"))
    audits = AuditRecord.objects.count()
    for note in ("", "   "):
        response = client.post(record_url(record, "manual"), {"note": note}, **HTMX)
        assert response.status_code == 200 and "This field is required." in response.content.decode()
    record.refresh_from_db()
    assert (record.status, record.resolution_note) == ("failed", "")
    assert AuditRecord.objects.count() == audits


def test_mark_manual_with_a_note(staff, login, store, queue):
    (record,) = queue(store)
    user = staff("compliance_officer")
    response = login(user).post(
        record_url(record, "manual"), {"note": "Entered as adjustment 7731 in Metrc."}
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.resolved_by, record.resolution_note) == (
        "manual",
        user,
        "Entered as adjustment 7731 in Metrc.",
    )
    page = login(user).get(record_url(record)).content.decode()
    assert "Entered as adjustment 7731 in Metrc." in page and "Save and resend" not in page


def test_acting_on_a_settled_report_is_refused(staff, login, store, queue):
    (record,) = queue(store, mode="accept")
    client = login(staff("manager"))
    response = client.post(record_url(record, "retry"), **HTMX)
    assert "already accepted" in response.content.decode()
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("accepted", 1)


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("url_name", ["sync_index"])
def test_the_sync_page_query_count_does_not_grow(staff, login, store, queue, url_name):
    client = login(staff("manager"))
    queue(store, mode="reject", count=3)
    queue(store, mode="accept", count=2)
    few = _queries(client, SYNC)
    queue(store, mode="reject", count=20)
    queue(store, mode="accept", count=15)
    assert SyncRecord.objects.count() == 40
    many = _queries(client, SYNC)
    assert few == many
    assert many <= 14


def _report(store, state, mode, *, kind="sales_receipt.create", keys, django_capture_on_commit_callbacks):
    from django.db import transaction

    from compliance.reporting.sync import sync_record_create

    state.mode = mode
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            record = sync_record_create(
                store=store,
                kind=kind,
                payload=[{"Transactions": []}],
                order_keys=keys,
                reference=("sale", "1"),
            )
    record.refresh_from_db()
    return record


def test_a_refused_sale_shows_the_report_of_its_sale_it_holds_back_and_nothing_else(
    staff, login, store, state, django_capture_on_commit_callbacks
):
    tag = "1A4000000000000000999001"
    refused = _report(
        store,
        state,
        "reject",
        keys=[tag, "sale:1"],
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    other_sale = _report(
        store,
        state,
        "accept",
        keys=[tag, "sale:2"],
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    state.mode = "down"
    void = SyncRecord.objects.create(
        store=store, kind="sales_receipt.void", payload=[{}], order_keys=[tag, "sale:1"], reference_type="sale",
        reference_id="1", next_attempt_at=timezone.now(),
    )  # fmt: skip
    assert (refused.status, other_sale.status, void.status) == ("failed", "accepted", "pending")
    client = login(staff("manager"))

    body = client.get(record_url(refused)).content.decode()
    assert "The state did not take this report." in body
    assert "Holding back 1 later report of the same sale" in body
    assert f'href="{record_url(void)}"' in body and f"#{void.pk} · Sale voided at the state" in body

    body = client.get(record_url(void)).content.decode()
    assert f'Waits for <a href="{record_url(refused)}">report #{refused.pk}</a>' in body

    body = client.get(SYNC).content.decode()
    assert f'Waits for <a href="{record_url(refused)}">#{refused.pk}</a>' in body
    assert body.count("Waits for") == 1  # the refused sale itself waits for nothing


def test_a_report_whose_answer_was_lost_says_it_is_checked_before_any_resend(staff, login, store, queue):
    (record,) = queue(store, mode="down")
    SyncRecord.objects.filter(pk=record.pk).update(state_answer={"outcome_unknown": True})
    body = login(staff("manager")).get(record_url(record)).content.decode()
    assert "The state&#x27;s answer to the last attempt was lost." in body
    assert "never applied twice" in body
