"""The state sync page: how the store's reports to the state stand, the failed and pending ones with the
state's answer, and what a manager does with a refused report (retry, edit and resend, or record that it
was entered by hand in Metrc)."""

import datetime as dt
import json

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, Max, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from compliance.forms import SyncFilterForm, SyncManualForm, SyncResendForm
from compliance.models import SyncRecord
from compliance.reporting.sync import (
    sync_holding_back,
    sync_record_mark_manual,
    sync_record_retry,
    sync_status_summary,
    sync_waits_for,
)
from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view

PAGE_SIZE = 25
RECENT_SIZE = 10
OPEN_STATUSES = [SyncRecord.Status.FAILED, SyncRecord.Status.PENDING, SyncRecord.Status.SENT]
RESOLVABLE = {SyncRecord.Status.FAILED, SyncRecord.Status.PENDING, SyncRecord.Status.SENT}


def sync_subject(record: SyncRecord) -> dict:
    """What a report is about, as staff name it: the sale number and the package tags it touches."""
    sale = record.reference_id if record.reference_type == "sale" else ""
    tags = [key for key in record.order_keys or [] if ":" not in key]
    if not tags:
        tags = [obj["Label"] for obj in record.payload or [] if isinstance(obj, dict) and obj.get("Label")]
    return {"sale": sale, "tags": tags, "external_number": record.external_number}


def sync_row_errors(record: SyncRecord) -> list[dict]:
    answer = record.state_answer if isinstance(record.state_answer, dict) else {}
    return [error for error in answer.get("errors") or [] if isinstance(error, dict)]


def sync_situation(record: SyncRecord) -> str:
    """Where the report stands and what happens next, in plain words."""
    answer = record.state_answer if isinstance(record.state_answer, dict) else {}
    if record.status == SyncRecord.Status.FAILED:
        return (
            "The state did not take this report. Fix what it says below and send it again, or enter it in Metrc "
            "by hand and mark it here. Other reports go ahead meanwhile; only later reports of the same sale "
            "wait for this one."
        )
    if record.status == SyncRecord.Status.SENT or answer.get("outcome_unknown"):
        return (
            "The state's answer to the last attempt was lost. Before sending anything again, the platform reads "
            "the state's records to see whether it was applied, so it is never applied twice."
        )
    if record.status == SyncRecord.Status.PENDING and record.attempts:
        return "The state could not take it just now (busy or unreachable); it is sent again at the next try."
    if record.status == SyncRecord.Status.PENDING:
        return "Waiting to be sent."
    if answer.get("found_by"):
        return "Accepted: the state's records showed it had been applied although its answer was lost."
    return ""


def _decorate(records, *, waits_for: dict | None = None) -> list[SyncRecord]:
    for record in records:
        record.subject = sync_subject(record)
        record.row_errors = sync_row_errors(record)
        record.waits_for = (waits_for or {}).get(record.pk, [])
    return records


def _overview(store) -> dict:
    summary = sync_status_summary(stores=[store])
    now = timezone.now()
    oldest = summary["oldest_unsent_at"]
    alert_after = dt.timedelta(minutes=settings.STATE_SYNC["ALERT_AFTER_MINUTES"])
    last_accepted = SyncRecord.objects.filter(store=store, status=SyncRecord.Status.ACCEPTED).aggregate(
        last=Max("accepted_at")
    )["last"]
    counts = summary["counts"]
    return {
        "counts": counts,
        "oldest_unsent_at": oldest,
        "oldest_age": (now - oldest) if oldest else None,
        "overdue": oldest is not None and now - oldest > alert_after,
        "alert_after_minutes": settings.STATE_SYNC["ALERT_AFTER_MINUTES"],
        "failed": counts.get(SyncRecord.Status.FAILED, 0),
        "unsent": counts.get(SyncRecord.Status.PENDING, 0) + counts.get(SyncRecord.Status.SENT, 0),
        "last_accepted_at": last_accepted,
    }


@staff_view("compliance.view_syncrecord")
def sync_index(request):
    store = request.store
    form = SyncFilterForm(request.GET)
    status = form.status_value()
    records = SyncRecord.objects.filter(store=store, status__in=[status] if status else OPEN_STATUSES)
    # Failed first (a person must act), then oldest first: the order the state will receive them.
    records = records.annotate(
        waiting=Case(When(status=SyncRecord.Status.FAILED, then=Value(0)), default=Value(1))
    ).order_by("waiting", "id")
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    _decorate(rows, waits_for=sync_waits_for(store=store, records=rows))
    page.object_list = rows
    context = {"form": form, "status": status, "page": page}
    if request.htmx and request.htmx.target == "sync-results":
        return render(request, "compliance/_sync_results.html", context)
    context["overview"] = _overview(store)
    context["recent"] = _decorate(
        list(
            SyncRecord.objects.filter(
                store=store, status__in=[SyncRecord.Status.ACCEPTED, SyncRecord.Status.MANUAL]
            ).order_by("-id")[:RECENT_SIZE]
        )
    )
    return render(request, "compliance/sync_index.html", context)


def _store_record(request, pk: int) -> SyncRecord:
    """A report of the current store; another store's report is not found."""
    return get_object_or_404(SyncRecord.objects.select_related("resolved_by"), pk=pk, store=request.store)


def _record_context(
    request, record: SyncRecord, *, resend_form=None, manual_form=None, open_action=""
) -> dict:
    can_resolve = record.status in RESOLVABLE and request.user.has_perm("compliance.resolve_syncrecord")
    context = {
        "record": record,
        "situation": sync_situation(record),
        "waits_for": sync_waits_for(store=request.store, records=[record]).get(record.pk, []),
        "holding_back": sync_holding_back(record=record),
        "subject": sync_subject(record),
        "row_errors": sync_row_errors(record),
        "payload_text": json.dumps(record.payload, indent=2, ensure_ascii=False, sort_keys=False),
        "answer_text": (
            json.dumps(record.state_answer, indent=2, ensure_ascii=False)
            if record.state_answer is not None
            else ""
        ),
        "can_resolve": can_resolve,
        "open_action": open_action,
    }
    if can_resolve:
        context["resend_form"] = resend_form or SyncResendForm(
            auto_id="resend_%s", initial={"payload": context["payload_text"]}
        )
        context["manual_form"] = manual_form or SyncManualForm(auto_id="manual_%s")
    return context


def _record_response(request, record: SyncRecord, *, notice: str = "", problem: str = "", **forms):
    context = _record_context(request, record, **forms)
    context["notice"], context["problem"] = notice, problem
    template = "compliance/_sync_record_body.html" if request.htmx else "compliance/sync_record.html"
    return render(request, template, context)


@staff_view("compliance.view_syncrecord")
def sync_record_detail(request, pk: int):
    return _record_response(request, _store_record(request, pk))


def _after_action(request, record: SyncRecord, done: str):
    # Without a broker the resend runs as soon as the action commits: say where the report stands now.
    record = _store_record(request, record.pk)
    notice = f"{done} Status now: {record.get_status_display().lower()}."
    if request.htmx:
        return _record_response(request, record, notice=notice)
    messages.success(request, notice)
    return redirect("compliance:sync_record", pk=record.pk)


def _refused(request, record: SyncRecord, error: ApplicationError, **forms):
    if not request.htmx:
        messages.error(request, error.message)
        return redirect("compliance:sync_record", pk=record.pk)
    return _record_response(request, _store_record(request, record.pk), problem=error.message, **forms)


@require_POST
@staff_view("compliance.view_syncrecord", "compliance.resolve_syncrecord")
def sync_record_retry_view(request, pk: int):
    record = _store_record(request, pk)
    try:
        sync_record_retry(record=record, actor=request.user)
    except ApplicationError as error:
        return _refused(request, record, error)
    return _after_action(request, record, "Sent again.")


@require_POST
@staff_view("compliance.view_syncrecord", "compliance.resolve_syncrecord")
def sync_record_resend_view(request, pk: int):
    record = _store_record(request, pk)
    form = SyncResendForm(request.POST, auto_id="resend_%s")
    if form.is_valid():
        try:
            sync_record_retry(record=record, actor=request.user, payload=form.cleaned_data["payload"])
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            return _after_action(request, record, "Edited and sent again.")
    return _record_response(request, record, resend_form=form, open_action="resend")


@require_POST
@staff_view("compliance.view_syncrecord", "compliance.resolve_syncrecord")
def sync_record_manual_view(request, pk: int):
    record = _store_record(request, pk)
    form = SyncManualForm(request.POST, auto_id="manual_%s")
    if form.is_valid():
        try:
            sync_record_mark_manual(record=record, actor=request.user, note=form.cleaned_data["note"])
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            return _after_action(request, record, "Marked as entered manually in Metrc.")
    return _record_response(request, record, manual_form=form, open_action="manual")
