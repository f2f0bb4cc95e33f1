"""The sync queue: every report to the state is a SyncRecord, sent in order per store and package, retried
when the state is unreachable, and left for a person when the state refuses it.

Sending never happens inside a database transaction: a record is claimed (status "sent") in a short
transaction, the provider is called, and the answer is written in another. A sale never waits on the state:
records are created by event handlers after the sale has committed, and sent by a task."""

import datetime as dt
import logging
import random
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from compliance.models import SyncLane, SyncRecord
from compliance.reporting.events import StateReportFailed, StateReportOverdue
from compliance.traceability.base import Operation, Rejected, TraceabilityError, TransientFailure
from dispensary import events
from dispensary.audit import audit_record
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import Store, User

logger = logging.getLogger(__name__)

# Reports that need the state's id of an earlier report (the receipt a void or an update changes).
NEEDS_RECEIPT_ID = {Operation.SALES_RECEIPT_VOID.value, Operation.SALES_RECEIPT_UPDATE.value}


def _config() -> dict:
    return settings.STATE_SYNC


def _backoff(attempts: int) -> dt.timedelta:
    config = _config()
    ceiling = min(config["BACKOFF_MAX_SECONDS"], config["BACKOFF_BASE_SECONDS"] * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=random.uniform(ceiling / 2, ceiling))


# --- Creating records (from event handlers, in their transaction) ----------------------------------------


def sync_record_create(
    *,
    store: Store,
    kind: str,
    payload: list[dict],
    order_keys: Iterable[str] = (),
    source_event: uuid.UUID | str | None = None,
    reference: tuple[str, str] = ("", ""),
    external_number: str = "",
) -> SyncRecord:
    """Queue a report. The same event never queues the same report twice (a unique constraint decides), and
    the send is dispatched when the caller's transaction commits."""
    if kind not in {operation.value for operation in Operation}:
        raise ValidationFailed(f"Unknown report kind {kind!r}.")
    record = SyncRecord(
        store=store,
        kind=kind,
        payload=payload,
        order_keys=sorted(set(order_keys)),
        source_event=source_event,
        reference_type=reference[0],
        reference_id=str(reference[1]),
        external_number=external_number,
        next_attempt_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        return SyncRecord.objects.get(source_event=source_event, kind=kind, store=store)
    transaction.on_commit(lambda: dispatch_store_send(store.pk), robust=True)
    return record


def dispatch_store_send(store_id: int) -> None:
    """Send the store's due reports now: a Celery task with a broker, in this process without one."""
    if settings.CELERY_BROKER_URL:
        from compliance.reporting.tasks import sync_send_store_task

        sync_send_store_task.apply_async(args=[store_id])
    else:
        sync_send_store(store_id=store_id)


# --- Sending --------------------------------------------------------------------------------------------


def _lease(store_id: int, owner: str, seconds: float) -> bool:
    """Take the store's lane if nobody holds it (one UPDATE decides between competing senders)."""
    SyncLane.objects.get_or_create(store_id=store_id)
    now = timezone.now()
    taken = (
        SyncLane.objects.filter(store_id=store_id)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now) | Q(lease_owner=owner))
        .update(leased_until=now + dt.timedelta(seconds=seconds), lease_owner=owner)
    )
    return taken == 1


def _release(store_id: int, owner: str) -> None:
    SyncLane.objects.filter(store_id=store_id, lease_owner=owner).update(leased_until=None, lease_owner="")


def sync_send_store(*, store_id: int, provider=None, limit: int = 500) -> dict[str, int]:
    """Send the store's due reports in order. A report touching a package (or a sale) waits while an earlier
    report touching it is unsent, failed or waiting for a retry. Returns counts by outcome."""
    owner = uuid.uuid4().hex
    counts = {"accepted": 0, "failed": 0, "retry": 0, "blocked": 0}
    if not _lease(store_id, owner, _config()["LEASE_SECONDS"]):
        return counts
    try:
        store = Store.objects.select_related("organization").get(pk=store_id)
        if provider is None:
            from compliance.traceability.registry import provider_for_store

            provider = provider_for_store(store)
        now = timezone.now()
        blocked: set[str] = set()
        open_records = SyncRecord.objects.filter(
            store_id=store_id,
            status__in=[SyncRecord.Status.PENDING, SyncRecord.Status.SENT, SyncRecord.Status.FAILED],
        ).order_by("id")[:limit]
        for record in open_records:
            keys = set(record.order_keys)
            due = record.status == SyncRecord.Status.PENDING and (
                record.next_attempt_at is None or record.next_attempt_at <= now
            )
            if record.status == SyncRecord.Status.SENT:
                due = record.sent_at is None or record.sent_at < now - dt.timedelta(
                    seconds=_config()["LEASE_SECONDS"]
                )
            if not due or keys & blocked:
                blocked |= keys
                counts["blocked"] += 1 if due else 0
                continue
            outcome = sync_record_send(record=record, provider=provider)
            counts[outcome] += 1
            if outcome != "accepted":
                blocked |= keys
            _lease(store_id, owner, _config()["LEASE_SECONDS"])  # keep the lane while working
    finally:
        _release(store_id, owner)
    return counts


def _claim(record: SyncRecord) -> SyncRecord | None:
    with transaction.atomic():
        locked = SyncRecord.objects.select_for_update(of=("self",)).filter(pk=record.pk).first()
        if locked is None or locked.status not in (SyncRecord.Status.PENDING, SyncRecord.Status.SENT):
            return None
        locked.attempts += 1
        locked.status = SyncRecord.Status.SENT
        locked.sent_at = timezone.now()
        locked.save(update_fields=["attempts", "status", "sent_at"])
        return locked


def _receipt_for(record: SyncRecord, provider) -> tuple[SyncRecord | None, int | None]:
    """The report that created the sale's receipt, and the state's id of that receipt: from the accepted
    create, or by asking the state for our receipt number."""
    create = (
        SyncRecord.objects.filter(
            store_id=record.store_id,
            kind=Operation.SALES_RECEIPT_CREATE.value,
            reference_type=record.reference_type,
            reference_id=record.reference_id,
        )
        .order_by("id")
        .first()
    )
    if create is not None and create.state_answer and create.state_answer.get("ids"):
        return create, create.state_answer["ids"][0]
    number = create.external_number if create else ""
    lookup = getattr(provider, "receipt_id_by_external_number", None)
    if number and lookup is not None:
        return create, lookup(number)
    return create, None


def sync_record_send(*, record: SyncRecord, provider) -> str:
    """Send one report. Returns "accepted", "failed" (the state refused it: a person must act) or "retry"."""
    claimed = _claim(record)
    if claimed is None:
        return "blocked"
    payload = claimed.payload
    outcome_unknown = bool(claimed.state_answer and claimed.state_answer.get("outcome_unknown"))
    try:
        if (
            claimed.kind == Operation.SALES_RECEIPT_CREATE.value
            and outcome_unknown
            and claimed.external_number
        ):
            # The last attempt may have reached the state before its answer was lost: ask before resending,
            # so that a sale is reported exactly once.
            lookup = getattr(provider, "receipt_id_by_external_number", None)
            existing = lookup(claimed.external_number) if lookup else None
            if existing is not None:
                return _accepted(claimed, {"ids": [existing], "found_by": "external_number"})
        if claimed.kind in NEEDS_RECEIPT_ID:
            create, receipt_id = _receipt_for(claimed, provider)
            if receipt_id is None:
                return _failed(
                    claimed,
                    "The state's id of this sale's receipt is unknown (its report was not accepted or was entered "
                    "by hand): change the receipt in Metrc by hand, then mark this report as entered manually.",
                    answer=None,
                )
            if claimed.kind == Operation.SALES_RECEIPT_UPDATE.value and create is not None:
                # An update restates the whole receipt: the original's fields with the new transactions.
                payload = [{**create.payload[0], **obj, "Id": receipt_id} for obj in payload]
            else:
                payload = [{**obj, "Id": receipt_id} for obj in payload]
        result = provider.submit(Operation(claimed.kind), payload)
    except Rejected as error:
        answer = {
            "status_code": error.status_code,
            "errors": [{"row": e.row, "message": e.message} for e in error.errors],
        }
        return _failed(claimed, str(error), answer=answer)
    except TransientFailure as error:
        # No answer at all (a timeout, a dropped connection) or a gateway timeout leaves open whether the state
        # applied the write; a refusal by status (429, 500, 503) means it did not.
        unknown = error.status_code in (None, 504) or outcome_unknown
        return _retry(claimed, str(error), retry_after=error.retry_after, outcome_unknown=unknown)
    except TraceabilityError as error:
        return _retry(claimed, str(error), retry_after=None, outcome_unknown=True)
    return _accepted(claimed, {"ids": list(result.ids), "warnings": list(result.warnings)})


def _accepted(record: SyncRecord, answer: dict) -> str:
    SyncRecord.objects.filter(pk=record.pk).update(
        status=SyncRecord.Status.ACCEPTED,
        accepted_at=timezone.now(),
        state_answer=answer,
        last_error="",
        next_attempt_at=None,
    )
    return "accepted"


def _failed(record: SyncRecord, message: str, *, answer) -> str:
    with transaction.atomic():
        SyncRecord.objects.filter(pk=record.pk).update(
            status=SyncRecord.Status.FAILED,
            last_error=message[:4000],
            state_answer=answer,
            next_attempt_at=None,
            alerted_at=timezone.now(),
        )
        events.publish(
            StateReportFailed(
                organization_id=record.store.organization_id,
                store_id=record.store_id,
                sync_record_id=record.pk,
                kind=record.kind,
                message=message[:500],
            )
        )
    return "failed"


def _retry(record: SyncRecord, message: str, *, retry_after: float | None, outcome_unknown: bool) -> str:
    delay = _backoff(record.attempts)
    if retry_after:
        delay = max(delay, dt.timedelta(seconds=retry_after))
    SyncRecord.objects.filter(pk=record.pk).update(
        status=SyncRecord.Status.PENDING,
        last_error=message[:4000],
        next_attempt_at=timezone.now() + delay,
        state_answer={"outcome_unknown": True} if outcome_unknown else None,
    )
    return "retry"


def sync_send_due() -> int:
    """Send every store's due reports (the periodic schedule calls this). Returns how many stores ran."""
    now = timezone.now()
    stores = (
        SyncRecord.objects.filter(
            Q(status=SyncRecord.Status.PENDING, next_attempt_at__lte=now)
            | Q(
                status=SyncRecord.Status.SENT,
                sent_at__lt=now - dt.timedelta(seconds=_config()["LEASE_SECONDS"]),
            )
        )
        .values_list("store_id", flat=True)
        .distinct()
    )
    store_ids = sorted(set(stores))
    for store_id in store_ids:
        dispatch_store_send(store_id)
    return len(store_ids)


def sync_alert_overdue() -> int:
    """Publish StateReportOverdue, once per report, for reports still unsent after the configured wait."""
    cutoff = timezone.now() - dt.timedelta(minutes=_config()["ALERT_AFTER_MINUTES"])
    overdue = list(
        SyncRecord.objects.filter(
            status__in=[SyncRecord.Status.PENDING, SyncRecord.Status.SENT],
            created_at__lt=cutoff,
            alerted_at__isnull=True,
        ).select_related("store")[:500]
    )
    for record in overdue:
        with transaction.atomic():
            if SyncRecord.objects.filter(pk=record.pk, alerted_at__isnull=True).update(
                alerted_at=timezone.now()
            ):
                events.publish(
                    StateReportOverdue(
                        organization_id=record.store.organization_id,
                        store_id=record.store_id,
                        sync_record_id=record.pk,
                        kind=record.kind,
                        waiting_minutes=int((timezone.now() - record.created_at).total_seconds() // 60),
                    )
                )
    return len(overdue)


# --- What a manager does with a failed report -------------------------------------------------------------


def _lock_open(record: SyncRecord) -> SyncRecord:
    locked = SyncRecord.objects.select_for_update(of=("self",)).select_related("store").get(pk=record.pk)
    if locked.status in (SyncRecord.Status.ACCEPTED, SyncRecord.Status.MANUAL):
        raise Conflict(f"This report is already {locked.get_status_display().lower()}.")
    return locked


@transaction.atomic
def sync_record_retry(*, record: SyncRecord, actor, payload: list[dict] | None = None) -> SyncRecord:
    """Send again now; with `payload`, the edited objects replace the ones that were refused."""
    locked = _lock_open(record)
    before = {"status": locked.status, "payload": locked.payload if payload is not None else None}
    if payload is not None:
        if not isinstance(payload, list) or not payload or not all(isinstance(obj, dict) for obj in payload):
            raise ValidationFailed(
                "The report must be a JSON list of objects.", details={"payload": ["A list of objects."]}
            )
        locked.payload = payload
    locked.status = SyncRecord.Status.PENDING
    locked.next_attempt_at = timezone.now()
    locked.alerted_at = None
    locked.save(update_fields=["payload", "status", "next_attempt_at", "alerted_at"])
    audit_record(
        actor=actor,
        action="state_report.edited_and_resent" if payload is not None else "state_report.retried",
        instance=locked,
        before=before,
        after={"status": locked.status, "payload": locked.payload if payload is not None else None},
        organization=locked.store.organization,
        store=locked.store,
    )
    store_id = locked.store_id
    transaction.on_commit(lambda: dispatch_store_send(store_id), robust=True)
    return locked


@transaction.atomic
def sync_record_mark_manual(*, record: SyncRecord, actor, note: str) -> SyncRecord:
    """The report was entered by hand in Metrc: it leaves the queue, and reports waiting on it go ahead."""
    if not (note or "").strip():
        raise ValidationFailed(
            "Say what was entered in Metrc (for the audit).", details={"note": ["Required."]}
        )
    locked = _lock_open(record)
    before = {"status": locked.status}
    locked.status = SyncRecord.Status.MANUAL
    locked.resolved_by = actor if isinstance(actor, User) else None
    locked.resolution_note = note.strip()
    locked.next_attempt_at = None
    locked.save(update_fields=["status", "resolved_by", "resolution_note", "next_attempt_at"])
    audit_record(
        actor=actor,
        action="state_report.entered_manually",
        instance=locked,
        before=before,
        after={"status": locked.status, "note": locked.resolution_note},
        organization=locked.store.organization,
        store=locked.store,
    )
    store_id = locked.store_id
    transaction.on_commit(lambda: dispatch_store_send(store_id), robust=True)
    return locked


def sync_status_summary(*, stores) -> dict:
    """Counts by status and the age of the oldest unsent report, for the stores given (one query each)."""
    records = SyncRecord.objects.filter(store__in=stores)
    counts = {status: 0 for status in SyncRecord.Status.values}
    for row in records.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    oldest = records.filter(status__in=[SyncRecord.Status.PENDING, SyncRecord.Status.SENT]).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    return {"counts": counts, "oldest_unsent_at": oldest}
