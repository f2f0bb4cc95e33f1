"""The sync queue: every report to the state is a SyncRecord, sent in order per store and package, retried
when the state is unreachable, and left for a person when the state refuses it.

Sending never happens inside a database transaction: a record is claimed (status "sent") in a short
transaction, the provider is called, and the answer is written in another. A sale never waits on the state:
records are created by event handlers after the sale has committed, and sent by a task."""

import atexit
import datetime as dt
import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connections, transaction
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
DELIVERY_KINDS = {
    operation.value
    for operation in Operation
    if operation.value.startswith(("sales_delivery.", "retailer_delivery."))
}

# Who follows the state's answers to reports of a reference type (e.g. a delivery trip): called with the
# record and its outcome in the transaction that records the answer (register in AppConfig.ready()).
_SETTLED: dict[str, list] = {}


def sync_settled_register(reference_type: str, function) -> None:
    """`function(record=, accepted=, ids=, message=)` hears each accepted or refused report of the type."""
    hooks = _SETTLED.setdefault(reference_type, [])
    if function not in hooks:
        hooks.append(function)


def _settled(record: SyncRecord, *, accepted: bool, ids: list, message: str) -> None:
    for function in _SETTLED.get(record.reference_type, ()):
        function(record=record, accepted=accepted, ids=ids, message=message)


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
    license_number: str = "",
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
        license_number=license_number,
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
    """Send the store's due reports soon: a Celery task with a broker; without one, this process's background
    sender (or at once with STATE_SYNC["IN_PROCESS"] = "inline", as the tests do). Either way the request that
    committed the sale answers without waiting for the state."""
    if settings.CELERY_BROKER_URL:
        from compliance.reporting.tasks import sync_send_store_task

        sync_send_store_task.apply_async(args=[store_id])
    elif _config().get("IN_PROCESS", "background") == "inline":
        sync_send_store(store_id=store_id)
    else:
        background_sender.submit(store_id)


class BackgroundSender:
    """The embedded default's worker: one daemon thread per process sends the stores' reports after the
    requests that queued them have answered. A store queued while it is being sent is sent once more after.
    Reports left unsent when the process stops stay pending in the database, where the periodic sweep (or
    the next process) finds them; one claimed but unanswered is settled with the state before any resend."""

    def __init__(self):
        self._queue: queue.Queue[int] = queue.Queue()
        self._waiting: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._exit_wait_registered = False

    def submit(self, store_id: int) -> None:
        with self._lock:
            if store_id in self._waiting:
                return
            self._waiting.add(store_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="state-sync-sender", daemon=True)
                self._thread.start()
                if not self._exit_wait_registered:
                    # A command (load_demo) or a stopping server sends what it queued before it exits,
                    # within a bound; whatever is left stays pending for the periodic sweep.
                    atexit.register(self.wait, EXIT_WAIT_SECONDS)
                    self._exit_wait_registered = True
        self._queue.put(store_id)

    def _run(self) -> None:
        while True:
            store_id = self._queue.get()
            with self._lock:
                self._waiting.discard(store_id)
            try:
                sync_send_store(store_id=store_id)
            except Exception:  # noqa: BLE001 - the thread outlives one store's failure, as a Celery worker would
                logger.exception(
                    "Sending the reports of store %s failed; the periodic sweep retries them", store_id
                )
            finally:
                connections.close_all()  # this thread's connections only
                self._queue.task_done()

    def wait(self, timeout: float = 30.0) -> bool:
        """Until everything queued so far is sent (tests, management commands); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


EXIT_WAIT_SECONDS = 30
background_sender = BackgroundSender()


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


def _waits_on_keys(record: SyncRecord) -> set[str]:
    """The keys a refused report holds back: only its own sale's (the void or update of a receipt the state
    never accepted cannot go first). Other reports of the same packages go ahead: the state applied nothing."""
    return {key for key in record.order_keys or [] if ":" in key}


def sync_send_store(*, store_id: int, provider=None, limit: int = 500) -> dict[str, int]:
    """Send the store's due reports in order. A report waits while an earlier report of the same package or
    sale is unsettled (waiting for a retry, or sent without an answer yet), and while an earlier report of
    the same sale was refused; a refused report holds back nothing else. Returns counts by outcome."""
    owner = uuid.uuid4().hex
    counts = {"accepted": 0, "failed": 0, "retry": 0, "blocked": 0}
    if not _lease(store_id, owner, _config()["LEASE_SECONDS"]):
        return counts
    try:
        store = Store.objects.select_related("organization").get(pk=store_id)
        providers = _ProvidersByLicense(store, provider)
        now = timezone.now()
        stale = now - dt.timedelta(seconds=_config()["LEASE_SECONDS"])
        # Refused reports wait for a person; they hold back later reports of their own sale only.
        refused: list[tuple[int, set[str]]] = [
            (pk, _waits_on_keys(SyncRecord(order_keys=keys)))
            for pk, keys in SyncRecord.objects.filter(
                store_id=store_id, status=SyncRecord.Status.FAILED
            ).values_list("id", "order_keys")
        ]
        open_records = SyncRecord.objects.filter(
            store_id=store_id, status__in=[SyncRecord.Status.PENDING, SyncRecord.Status.SENT]
        ).order_by("id")[:limit]
        blocked: set[str] = set()
        for record in open_records:
            keys = set(record.order_keys)
            if record.status == SyncRecord.Status.SENT:
                # Sent by a sender that has not come back (killed mid-send): settle it once its lease is over.
                due = record.sent_at is None or record.sent_at < stale
            else:
                due = record.next_attempt_at is None or record.next_attempt_at <= now
            held = keys & blocked or any(pk < record.pk and keys & waits for pk, waits in refused)
            if not due or held:
                blocked |= keys
                counts["blocked"] += 1 if due else 0
                continue
            outcome = sync_record_send(record=record, provider=providers.get(record.license_number))
            counts[outcome] += 1
            if outcome == "failed":
                refused.append((record.pk, _waits_on_keys(record)))
            elif outcome != "accepted":
                blocked |= keys
            _lease(store_id, owner, _config()["LEASE_SECONDS"])  # keep the lane while working
    finally:
        _release(store_id, owner)
    return counts


class _ProvidersByLicense:
    """One provider per licence of the store a report goes under; `given` (tests, benches) serves them all."""

    def __init__(self, store: Store, given=None):
        self.store, self.given, self.cache = store, given, {}

    def get(self, license_number: str):
        if self.given is not None:
            return self.given
        if license_number not in self.cache:
            from compliance.traceability.registry import provider_for_store

            self.cache[license_number] = provider_for_store(self.store, license_number=license_number or None)
        return self.cache[license_number]


def _claim(record: SyncRecord) -> tuple[SyncRecord, bool] | None:
    """Mark the report as being sent (a short transaction of its own). Answers the record and whether an
    earlier attempt may have reached the state: its answer was lost, or its sender stopped after claiming."""
    with transaction.atomic():
        locked = SyncRecord.objects.select_for_update(of=("self",)).filter(pk=record.pk).first()
        if locked is None or locked.status not in (SyncRecord.Status.PENDING, SyncRecord.Status.SENT):
            return None
        answer = locked.state_answer if isinstance(locked.state_answer, dict) else {}
        unknown = locked.status == SyncRecord.Status.SENT or bool(answer.get("outcome_unknown"))
        locked.attempts += 1
        locked.status = SyncRecord.Status.SENT
        locked.sent_at = timezone.now()
        locked.save(update_fields=["attempts", "status", "sent_at"])
        return locked, unknown


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


def _progress(record: SyncRecord) -> tuple[int, list]:
    """How many leading objects of a report split into batches the state has accepted, and their ids."""
    answer = record.state_answer if isinstance(record.state_answer, dict) else {}
    return int(answer.get("done") or 0), list(answer.get("done_ids") or [])


def _lines(receipt: dict) -> list[tuple[str, Decimal]]:
    """A receipt's live lines as (package label, quantity): ours say Quantity, the state's QuantitySold, and
    the state keeps lines an update replaced with an ArchivedDate."""
    lines = _field(receipt, "Transactions") or []
    found = []
    for line in lines:
        if not isinstance(line, dict) or _field(line, "ArchivedDate"):
            continue
        quantity = _field(line, "QuantitySold")
        if quantity is None:
            quantity = _field(line, "Quantity")
        found.append((str(_field(line, "PackageLabel")), Decimal(str(quantity))))
    return sorted(found)


def _archived(receipt: dict) -> bool:
    """Voided at the state: Metrc v2 gives the receipt an ArchivedDate (some answers also say IsArchived)."""
    return bool(_field(receipt, "ArchivedDate") or _field(receipt, "IsArchived"))


def _field(obj: dict, name: str):
    if name in obj:
        return obj[name]
    lowered = name.lower()
    return next((value for key, value in obj.items() if key.lower() == lowered), None)


class _Undecided(Exception):
    """The state's records cannot say whether a lost write was applied: a person must look."""


def _settle(kind: str, batch: list[dict], provider, *, before: dict) -> list | None:
    """Whether the state applied `batch` (the objects of a write whose answer was lost), by reading its
    records: the state's ids when it did, None when it did not; raises _Undecided when the records cannot
    tell. Only reads that Metrc v2 offers (shared/reference/metrc)."""
    if kind == Operation.SALES_RECEIPT_CREATE.value:
        ids = []
        for obj in batch:
            number = _field(obj, "ExternalReceiptNumber")
            if number:
                found = provider.receipt_by_external_number(str(number))
            else:  # no number of ours: by its time and packages
                sold_at, lines = str(_field(obj, "SalesDateTime") or ""), _lines(obj)
                found = next(
                    (
                        receipt
                        for receipt in provider.receipts_sold_around(sold_at)
                        if str(_field(receipt, "SalesDateTime") or "")[:19] == sold_at[:19]
                        and _lines(receipt) == lines
                    ),
                    None,
                )
            ids.append(None if found is None else _field(found, "Id"))
        if all(receipt_id is None for receipt_id in ids):
            return None
        if any(receipt_id is None for receipt_id in ids):
            raise _Undecided("Only some receipts of this report are at the state.")
        return ids
    if kind == Operation.SALES_RECEIPT_VOID.value:
        for obj in batch:
            receipt = provider.receipt_get(int(_field(obj, "Id")))
            if receipt is not None and not _archived(receipt):
                return None
        return [int(_field(obj, "Id")) for obj in batch]  # archived or gone: voided
    if kind == Operation.SALES_RECEIPT_UPDATE.value:
        for obj in batch:
            receipt = provider.receipt_get(int(_field(obj, "Id")))
            if receipt is None or _lines(receipt) != _lines(obj):
                return None  # an update restates the whole receipt: sending it again is harmless
        return [int(_field(obj, "Id")) for obj in batch]
    if kind == Operation.PACKAGE_ADJUST.value:
        # The package's quantity at the state before the write, read just before it was sent (the report
        # held back every later report of the package meanwhile): unchanged, or changed by exactly this write.
        change: dict[str, Decimal] = {}
        for obj in batch:
            label = str(_field(obj, "Label"))
            change[label] = change.get(label, Decimal(0)) + Decimal(str(_field(obj, "Quantity")))
        applied = []
        for label, delta in change.items():
            if label not in before:
                raise _Undecided(f"The quantity of package {label} before the adjustment is unknown.")
            package = provider.package_get(label)
            now = None if package is None else Decimal(str(_field(package, "Quantity")))
            if now == Decimal(before[label]) + delta:
                applied.append(True)
            elif now == Decimal(before[label]):
                applied.append(False)
            else:
                raise _Undecided(
                    f"Package {label} holds {now} at the state; it held {before[label]} before the adjustment "
                    f"of {delta}."
                )
        if all(applied):
            return []
        if not any(applied):
            return None
        raise _Undecided("Only some packages of this adjustment changed at the state.")
    if kind in (Operation.PACKAGE_FINISH.value, Operation.PACKAGE_UNFINISH.value):
        # A package is finished or not at the state: the write happened when the package is as it asks.
        wanted = kind == Operation.PACKAGE_FINISH.value
        states = []
        for obj in batch:
            package = provider.package_get(str(_field(obj, "Label")))
            if package is None:
                raise _Undecided(f"The state knows no package {_field(obj, 'Label')}.")
            states.append(bool(_field(package, "IsFinished") or _field(package, "FinishedDate")) == wanted)
        if all(states):
            return []
        if not any(states):
            return None
        raise _Undecided("Only some packages of this report are as it asks at the state.")
    if kind in DELIVERY_KINDS and hasattr(provider, "delivery_write_found"):
        # Delivery records are found again by keys we control (their time to the second, driver, plate,
        # packages or recipient and lines): the provider's look-up.
        found = [provider.delivery_write_found(Operation(kind), obj) for obj in batch]
        if all(value is None for value in found):
            return None
        if any(value is None for value in found):
            raise _Undecided("Only some delivery records of this report are at the state.")
        return found
    raise _Undecided("The state offers no read that shows whether this report was applied.")


def _quantities_before(kind: str, objects: list[dict], provider) -> dict[str, str]:
    """For an adjustment: each package's quantity at the state just before sending (to settle a lost answer)."""
    if kind != Operation.PACKAGE_ADJUST.value:
        return {}
    before = {}
    for label in dict.fromkeys(str(_field(obj, "Label")) for obj in objects):
        package = provider.package_get(label)
        if package is not None:
            before[label] = str(Decimal(str(_field(package, "Quantity"))))
    return before


LOST_ANSWER_HELP = (
    "The state's answer to this report was lost and its records cannot show whether it was applied: {reason} "
    "Check the package or receipt in Metrc, then mark this report as entered manually (if it is there) or send "
    "it again (if it is not)."
)


def sync_record_send(*, record: SyncRecord, provider) -> str:
    """Send one report. Returns "accepted", "failed" (the state refused it: a person must act) or "retry".

    A report whose last attempt may have reached the state (its answer was lost, or its sender stopped after
    claiming it) is first settled by reading the state's records, so no write is ever applied twice."""
    claim = _claim(record)
    if claim is None:
        return "blocked"
    claimed, unknown = claim
    was_unknown = unknown
    done, done_ids = _progress(claimed)
    answer = claimed.state_answer if isinstance(claimed.state_answer, dict) else {}
    try:
        payload = claimed.payload
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
        remaining = payload[done:]
        batch_size = getattr(provider, "batch_size", 10)
        if unknown:
            try:
                found = _settle(
                    claimed.kind, remaining[:batch_size], provider, before=answer.get("before") or {}
                )
            except _Undecided as error:
                return _failed(
                    claimed, LOST_ANSWER_HELP.format(reason=error), answer={**answer, "settled": False}
                )
            unknown = False  # settled: applied (found) or not
            if found is not None:
                done, done_ids = done + len(remaining[:batch_size]), done_ids + list(found)
                remaining = payload[done:]
                if not remaining:
                    return _accepted(claimed, {"ids": done_ids, "found_by": _found_by(claimed.kind, payload)})
        before = _quantities_before(claimed.kind, remaining, provider)
        # Written just before sending: what settling needs if this sender stops mid-send, and the time the
        # write leaves (reads above may have been slow), from which another sender waits a lease before
        # settling it.
        SyncRecord.objects.filter(pk=claimed.pk).update(
            sent_at=timezone.now(),
            state_answer={"done": done, "done_ids": done_ids, "before": before} if before or done else None,
        )
        result = provider.submit(Operation(claimed.kind), remaining)
    except Rejected as error:
        if was_unknown and claimed.kind == Operation.SALES_RECEIPT_VOID.value and _already_voided(error):
            return _accepted(claimed, {"ids": done_ids, "found_by": "already_voided"})
        answer = {
            "status_code": error.status_code,
            "errors": [{"row": done + e.row, "message": e.message} for e in error.errors],
            "done": done + error.accepted_count,
            "done_ids": done_ids + list(error.accepted_ids),
        }
        return _failed(claimed, str(error), answer=answer)
    except TransientFailure as error:
        progress = {"done": done + error.accepted_count, "done_ids": done_ids + list(error.accepted_ids)}
        if error.outcome_unknown and claimed.kind == Operation.PACKAGE_ADJUST.value:
            # Earlier batches of this write changed the quantities the uncertain batch started from.
            before = dict(before)
            for obj in remaining[: error.accepted_count]:
                label = str(_field(obj, "Label"))
                if label in before:
                    before[label] = str(Decimal(before[label]) + Decimal(str(_field(obj, "Quantity"))))
            progress["before"] = before
        return _retry(
            claimed,
            str(error),
            retry_after=error.retry_after,
            outcome_unknown=error.outcome_unknown or unknown,  # a read failed before it was settled
            progress={**answer, **progress} if unknown else progress,
        )
    except TraceabilityError as error:
        return _retry(claimed, str(error), retry_after=None, outcome_unknown=True, progress={})
    return _accepted(claimed, {"ids": done_ids + list(result.ids), "warnings": list(result.warnings)})


_FOUND_BY = {
    Operation.SALES_RECEIPT_CREATE.value: "external_number",
    Operation.SALES_RECEIPT_VOID.value: "receipt_archived",
    Operation.SALES_RECEIPT_UPDATE.value: "receipt_lines",
    Operation.PACKAGE_ADJUST.value: "package_quantity",
}


def _found_by(kind: str, payload: list[dict]) -> str:
    if kind in DELIVERY_KINDS:
        return "delivery_lookup"
    if kind == Operation.SALES_RECEIPT_CREATE.value and not all(
        _field(obj, "ExternalReceiptNumber") for obj in payload
    ):
        return "time_and_packages"
    return _FOUND_BY[kind]


def _already_voided(error: Rejected) -> bool:
    text = " ".join([str(error), *(row.message for row in error.errors)]).lower()
    return error.status_code == 404 or any(word in text for word in ("archived", "voided", "not found"))


def _accepted(record: SyncRecord, answer: dict) -> str:
    with transaction.atomic():
        SyncRecord.objects.filter(pk=record.pk).update(
            status=SyncRecord.Status.ACCEPTED,
            accepted_at=timezone.now(),
            state_answer=answer,
            last_error="",
            next_attempt_at=None,
        )
        _settled(record, accepted=True, ids=list(answer.get("ids") or []), message="")
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
        answer_dict = answer if isinstance(answer, dict) else {}
        # The state's own words (Rejected.messages, one per refused object) when it gave them.
        words = [str(row.get("message")) for row in answer_dict.get("errors") or [] if row.get("message")]
        _settled(
            record,
            accepted=False,
            ids=list(answer_dict.get("done_ids") or []),
            message=" ".join(words) or message,
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


def _retry(
    record: SyncRecord, message: str, *, retry_after: float | None, outcome_unknown: bool, progress: dict
) -> str:
    delay = _backoff(record.attempts)
    if retry_after:
        delay = max(delay, dt.timedelta(seconds=retry_after + random.uniform(0, 1)))
    answer = {key: value for key, value in progress.items() if value}  # what settling or resending needs
    if outcome_unknown:
        answer["outcome_unknown"] = True
    SyncRecord.objects.filter(pk=record.pk).update(
        status=SyncRecord.Status.PENDING,
        last_error=message[:4000],
        next_attempt_at=timezone.now() + delay,
        state_answer=answer or None,
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
    # A person sends it again after looking: a lost answer the state's records could not settle is now
    # settled by them. Objects the state accepted from a report split into batches are not sent again.
    answer = locked.state_answer if isinstance(locked.state_answer, dict) else {}
    if locked.status == SyncRecord.Status.SENT:
        locked.state_answer = {**answer, "outcome_unknown": True}  # its sender may have reached the state
    elif locked.status == SyncRecord.Status.FAILED:
        progress = {"done": answer.get("done", 0), "done_ids": answer.get("done_ids", [])}
        locked.state_answer = progress if payload is None else None
    locked.status = SyncRecord.Status.PENDING
    locked.next_attempt_at = timezone.now()
    locked.alerted_at = None
    locked.save(update_fields=["payload", "state_answer", "status", "next_attempt_at", "alerted_at"])
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


def _holds(earlier_status: str, earlier_keys: set[str], later_keys: set[str]) -> bool:
    """Whether an earlier report holds back a later one, as sync_send_store decides: an unsettled report
    (waiting or sent) holds back later reports of its packages and sale; a refused one those of its sale."""
    if earlier_status == SyncRecord.Status.FAILED:
        return bool(_waits_on_keys(SyncRecord(order_keys=list(earlier_keys))) & later_keys)
    return bool(earlier_keys & later_keys)


OPEN = (SyncRecord.Status.PENDING, SyncRecord.Status.SENT, SyncRecord.Status.FAILED)


def sync_waits_for(*, store: Store, records: list[SyncRecord], limit: int = 2000) -> dict[int, list[int]]:
    """For each unsent report given, the earlier open reports it waits for (one query)."""
    unsent = [r for r in records if r.status in (SyncRecord.Status.PENDING, SyncRecord.Status.SENT)]
    if not unsent:
        return {}
    earlier = list(
        SyncRecord.objects.filter(store=store, status__in=OPEN, id__lt=max(r.pk for r in unsent))
        .order_by("id")
        .values_list("id", "status", "order_keys")[:limit]
    )
    return {
        record.pk: [
            pk
            for pk, status, keys in earlier
            if pk < record.pk and _holds(status, set(keys or []), set(record.order_keys or []))
        ]
        for record in unsent
    }


def sync_holding_back(*, record: SyncRecord, limit: int = 50) -> list[SyncRecord]:
    """The later unsent reports this one holds back (one query)."""
    if record.status not in OPEN:
        return []
    keys = set(record.order_keys or [])
    later = SyncRecord.objects.filter(
        store_id=record.store_id,
        status__in=[SyncRecord.Status.PENDING, SyncRecord.Status.SENT],
        id__gt=record.pk,
    ).order_by("id")[:1000]
    return [other for other in later if _holds(record.status, keys, set(other.order_keys or []))][:limit]


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
