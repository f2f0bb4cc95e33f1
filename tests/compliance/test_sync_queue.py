"""The sync queue against the Metrc simulator: reports are created by event handlers, sent in order per
package, retried when the state is unreachable, and left for a person when the state refuses them."""

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from compliance.models import SyncRecord
from compliance.reporting.sync import (
    sync_alert_overdue,
    sync_record_mark_manual,
    sync_record_retry,
    sync_send_due,
    sync_send_store,
)
from compliance.traceability import registry
from compliance.traceability.metrc import MetrcProvider
from compliance.traceability.simulator import MetrcSimulator
from dispensary import events
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import AuditRecord, OutboxEvent
from inventory.services import Reference, StockRequest, stock_sell
from inventory.services.stock import package_adjust
from pos.events import SaleCompleted, SaleRefunded, SaleVoided
from tests.inventory.factories import ProductFactory, receive

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
VENDOR, USER = "vendor-key", "user-key"


@pytest.fixture
def state_sync_fast(settings):
    settings.STATE_SYNC = {
        **settings.STATE_SYNC,
        "BACKOFF_BASE_SECONDS": 0.01,
        "BACKOFF_MAX_SECONDS": 0.02,
        "LEASE_SECONDS": 5,
    }


@pytest.fixture
def simulator(store, monkeypatch, state_sync_fast):
    """A simulator that knows the store's licence, and every send of the queue going to it."""
    sim = MetrcSimulator()
    sim.add_credentials(VENDOR, USER)
    sim.add_facility(store.license_adult_use, jurisdiction=store.jurisdiction, user_keys=[USER])
    sim.set_faults(get_rate_limit=None)

    def provider(for_store, **kwargs):
        return MetrcProvider(
            base_url="http://simulator.invalid",
            vendor_key=VENDOR,
            user_key=USER,
            license_number=for_store.license_adult_use,
            jurisdiction=for_store.jurisdiction,
            transport=sim.transport(),
            backoff_base=0.001,
            backoff_max=0.002,
            max_attempts=3,
        )

    monkeypatch.setattr(registry, "provider_for_store", provider)
    return sim


@pytest.fixture
def product(organization):
    return ProductFactory(organization=organization)


def stocked(store, product, simulator, quantity=10, **kwargs):
    package = receive(store, product, quantity, **kwargs)
    simulator.seed_package(store.license_adult_use, package.tag, quantity, "Each", product.name)
    return package


def sell(store, product, quantity, *, sale_id, customer_type="adult_use", package=None):
    """A sale as the checkout makes it: stock out through the ledger and SaleCompleted, in one transaction."""
    with transaction.atomic():
        takes = stock_sell(
            store=store,
            requests=[StockRequest(product.pk, D(quantity), package_id=package.pk if package else None)],
            actor=None,
            reference=Reference("sale", str(sale_id)),
        )
        from inventory.models import Package

        labels = dict(Package.objects.filter(pk__in=[t.package_id for t in takes]).values_list("pk", "tag"))
        events.publish(
            SaleCompleted(
                sale_id=sale_id,
                organization_id=store.organization_id,
                store_id=store.pk,
                completed_at=timezone.now().isoformat(),
                customer_type=customer_type,
                lines=[
                    {
                        "package_label": labels[t.package_id],
                        "quantity": str(t.quantity),
                        "unit": "each",
                        "total_amount": str(D("45.00") * t.quantity),
                        "excise_tax": "6.75",
                    }
                    for t in takes
                ],
            )
        )
    return takes


def test_a_sale_is_reported_once_and_accepted(store, product, simulator):
    package = stocked(store, product, simulator)
    sell(store, product, 3, sale_id=101)
    record = SyncRecord.objects.get()
    assert (record.kind, record.status, record.attempts) == ("sales_receipt.create", "accepted", 1)
    assert record.reference_id == "101" and record.external_number == f"{store.code}-101"
    assert record.order_keys == sorted([package.tag, "sale:101"])
    receipt = record.payload[0]
    assert receipt["SalesCustomerType"] == "Consumer"
    assert "+" not in receipt["SalesDateTime"] and "Z" not in receipt["SalesDateTime"]
    assert receipt["Transactions"][0]["PackageLabel"] == package.tag
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(7)
    assert len(simulator.receipts(store.license_adult_use)) == 1
    assert record.state_answer["ids"]


def test_void_and_refund_use_the_state_receipt_id(store, product, simulator):
    package = stocked(store, product, simulator)
    sell(store, product, 4, sale_id=7)
    with transaction.atomic():
        events.publish(
            SaleRefunded(
                sale_id=7,
                organization_id=store.organization_id,
                store_id=store.pk,
                refund_id=1,
                refunded_at=timezone.now().isoformat(),
                remaining_lines=[
                    {"package_label": package.tag, "quantity": "3", "unit": "each", "total_amount": "135.00"}
                ],
            )
        )
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(7)
    with transaction.atomic():
        events.publish(
            SaleVoided(
                sale_id=7,
                organization_id=store.organization_id,
                store_id=store.pk,
                voided_at=timezone.now().isoformat(),
            )
        )
    kinds = list(SyncRecord.objects.order_by("id").values_list("kind", "status"))
    assert kinds == [
        ("sales_receipt.create", "accepted"),
        ("sales_receipt.update", "accepted"),
        ("sales_receipt.void", "accepted"),
    ]
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(10)


def test_a_refused_report_holds_back_only_its_own_sale(store, product, simulator, manager):
    """A sale the state refuses leaves later sales of the same package free to go (the state applied
    nothing); only the void of the refused sale waits, until a person resolves the sale's report."""
    package = stocked(store, product, simulator, quantity=5)
    simulator.queue_response(400, methods=["POST"])  # the state refuses the first receipt
    sell(store, product, 1, sale_id=1, package=package)
    failed = SyncRecord.objects.get(reference_id="1")
    assert failed.status == "failed"
    assert failed.state_answer["status_code"] == 400
    assert OutboxEvent.objects.filter(name="compliance.state_report_failed").count() == 1

    sell(store, product, 1, sale_id=2, package=package)  # the same package: not held back
    package_adjust(package=package, quantity="-1", reason="damaged", actor=manager)  # nor its adjustment
    assert SyncRecord.objects.get(reference_id="2").status == "accepted"
    assert SyncRecord.objects.get(kind="package.adjust").status == "accepted"
    with transaction.atomic():
        events.publish(
            SaleVoided(
                sale_id=1,
                organization_id=store.organization_id,
                store_id=store.pk,
                voided_at=timezone.now().isoformat(),
            )
        )
    void = SyncRecord.objects.get(kind="sales_receipt.void")
    assert void.status == "pending" and void.attempts == 0  # it waits for its sale's receipt
    assert sync_send_store(store_id=store.pk)["blocked"] == 1

    with pytest.raises(ValidationFailed):
        sync_record_mark_manual(record=failed, actor=manager, note="  ")
    sync_record_retry(record=failed, actor=manager)  # a person sends it again: accepted, then the void goes
    failed.refresh_from_db()
    void.refresh_from_db()
    assert (failed.status, void.status) == ("accepted", "accepted")
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(3)  # 5 - 1 - 1 (void: +1 -1)
    assert AuditRecord.objects.filter(action="state_report.retried").count() == 1
    with pytest.raises(Conflict):
        sync_record_retry(record=failed, actor=manager)


def test_a_report_entered_by_hand_releases_its_sale(store, product, simulator, manager):
    unknown = receive(store, product, 5)  # never seeded at the state: the state refuses sales from it
    sell(store, product, 1, sale_id=1, package=unknown)
    failed = SyncRecord.objects.get(reference_id="1")
    assert failed.status == "failed" and failed.state_answer["errors"][0]["row"] == 0
    simulator.seed_package(store.license_adult_use, unknown.tag, 5, "Each", product.name)
    sync_record_mark_manual(record=failed, actor=manager, note="Entered receipt 1 by hand in Metrc")
    assert AuditRecord.objects.filter(action="state_report.entered_manually").count() == 1
    with pytest.raises(Conflict):
        sync_record_retry(record=failed, actor=manager)


def test_edit_and_resend(store, product, simulator, manager):
    package = stocked(store, product, simulator)
    package_adjust(package=package, quantity="-1", reason="damaged", actor=manager)
    record = SyncRecord.objects.get()
    assert record.status == "accepted"
    sell(store, product, 1, sale_id=5)
    simulator.set_faults(fail_every=1, fail_status=400)
    package_adjust(package=package, quantity="-1", reason="entry_error", actor=manager)
    simulator.set_faults(fail_every=None)
    failed = SyncRecord.objects.filter(kind="package.adjust").order_by("-id").first()
    assert failed.status == "failed"
    with pytest.raises(ValidationFailed):
        sync_record_retry(record=failed, actor=manager, payload={"not": "a list"})
    edited = [{**failed.payload[0], "ReasonNote": "Miscount at intake"}]
    sync_record_retry(record=failed, actor=manager, payload=edited)
    failed.refresh_from_db()
    assert failed.status == "accepted"
    assert failed.payload[0]["ReasonNote"] == "Miscount at intake"
    audit = AuditRecord.objects.get(action="state_report.edited_and_resent")
    assert audit.after["payload"][0]["ReasonNote"] == "Miscount at intake"


def test_unreachable_state_is_retried_later_and_the_sale_is_not_held_up(store, product, simulator, settings):
    settings.STATE_SYNC = {**settings.STATE_SYNC, "BACKOFF_BASE_SECONDS": 60, "BACKOFF_MAX_SECONDS": 60}
    package = stocked(store, product, simulator)
    simulator.set_faults(fail_every=1, fail_status=503)
    sell(store, product, 2, sale_id=9)  # the sale commits although the state answers 503
    record = SyncRecord.objects.get()
    assert record.status == "pending" and record.attempts == 1 and "503" in record.last_error
    assert 30 <= (record.next_attempt_at - record.sent_at).total_seconds() <= 61
    simulator.set_faults(fail_every=None)
    # Before the retry time nothing is sent; after it the sweeper sends it.
    assert sync_send_store(store_id=store.pk)["accepted"] == 0
    SyncRecord.objects.filter(pk=record.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert sync_send_due() == 1
    record.refresh_from_db()
    assert record.status == "accepted" and record.attempts == 2
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(8)


def test_adjustments_of_one_package_are_sent_in_order(store, product, simulator, manager):
    package = stocked(store, product, simulator)
    simulator.set_faults(fail_every=1, fail_status=503)
    for delta in ("-1", "-2", "+1"):
        package_adjust(package=package, quantity=delta, reason="scale_variance", actor=manager)
    assert set(SyncRecord.objects.values_list("status", flat=True)) == {"pending"}
    # Only the first was tried (once per send, each adjustment's commit sends): the later ones waited behind it.
    first, *later = SyncRecord.objects.order_by("id").values_list("attempts", flat=True)
    assert first >= 1 and later == [0, 0]
    simulator.set_faults(fail_every=None)
    SyncRecord.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    sync_send_due()
    quantities = [r.payload[0]["Quantity"] for r in SyncRecord.objects.order_by("accepted_at", "id")]
    assert quantities == [-1, -2, 1]
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(8)


def test_a_report_waiting_too_long_raises_one_alert(store, product, simulator, settings):
    stocked(store, product, simulator)
    simulator.set_faults(fail_every=1, fail_status=503)
    sell(store, product, 1, sale_id=3)
    SyncRecord.objects.update(created_at=timezone.now() - dt.timedelta(minutes=16))
    assert sync_alert_overdue() == 1
    assert sync_alert_overdue() == 0
    assert OutboxEvent.objects.filter(name="compliance.state_report_overdue").count() == 1


def test_a_redelivered_event_queues_one_report(store, product, simulator):
    stocked(store, product, simulator)
    sell(store, product, 1, sale_id=11)
    delivery = OutboxEvent.objects.get(name="pos.sale_completed").deliveries.get(
        handler__startswith="compliance."
    )
    # Force a second run of the handler for the same event, as a duplicate delivery would.
    from compliance.reporting.handlers import on_sale_completed_report_receipt
    from dispensary.events import _DELIVERING, event_types

    event = event_types()["pos.sale_completed"].from_payload(delivery.event.payload)
    token = _DELIVERING.set(str(delivery.event.uuid))
    try:
        with transaction.atomic():
            on_sale_completed_report_receipt(event)
    finally:
        _DELIVERING.reset(token)
    assert SyncRecord.objects.count() == 1


def test_fault_injection_a_thousand_sales_each_reported_exactly_once(
    store, organization, simulator, monkeypatch
):
    """The state fails one call in five and rate-limits reads; every sale still reaches it exactly once, and
    its package quantities end equal to the platform's ledger."""
    import random

    from inventory.models import Package

    simulator.set_faults(
        fail_every=5,
        fail_status=500,
        get_rate_limit=5,
        # Now and then the state applies a receipt and the answer is lost: the queue's look-ups (reads, rate
        # limited to 5 a second here) must find it rather than send it again.
        timeout_every=23,
        timeout_after_processing=True,
        timeout_seconds=0.01,
    )
    # No retries inside the provider: every failure goes back to the queue, which must retry it.
    real_provider = registry.provider_for_store
    monkeypatch.setattr(
        registry,
        "provider_for_store",
        lambda for_store, **kw: _single_attempt(real_provider(for_store, **kw)),
    )
    products = [ProductFactory(organization=organization) for _ in range(4)]
    packages = [stocked(store, product, simulator, quantity=300) for product in products for _ in range(2)]
    rng = random.Random(5)
    sales = 1000
    for sale_id in range(1, sales + 1):
        sell(store, rng.choice(products), rng.choice([1, 1, 2]), sale_id=sale_id)
    # Retry rounds until everything is accepted, bounded in time (a busy machine needs more rounds).
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if not SyncRecord.objects.exclude(status="accepted").exists():
            break
        SyncRecord.objects.filter(status="pending").update(
            next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
        )
        sync_send_due()
        time.sleep(0.25)  # the read limit is per second
    assert SyncRecord.objects.filter(kind="sales_receipt.create").count() == sales
    # The first package of each product ran out: its finishing was reported after its last sale.
    assert SyncRecord.objects.filter(kind="package.finish").count() == 4
    assert not SyncRecord.objects.exclude(status="accepted").exists()
    assert SyncRecord.objects.filter(attempts__gt=1).count() > 100  # the faults really happened
    receipts = simulator.receipts(store.license_adult_use)
    assert len(receipts) == sales
    numbers = [r.get("ExternalReceiptNumber") or r.get("externalReceiptNumber") for r in receipts]
    assert len(set(numbers)) == sales
    for package in Package.objects.filter(pk__in=[p.pk for p in packages]):
        assert simulator.package(store.license_adult_use, package.tag).quantity == package.quantity_on_hand


def _single_attempt(provider):
    provider.max_attempts = 1
    return provider


def test_a_sale_whose_answer_was_lost_is_not_reported_twice(store, organization, simulator):
    """The state applies the receipt but the answer never arrives (a timeout): before resending, the queue asks
    the state for our receipt number and finds it, so the sale is on the state's books once."""
    products = [ProductFactory(organization=organization) for _ in range(2)]
    packages = [stocked(store, product, simulator, quantity=100) for product in products]
    simulator.set_faults(timeout_every=3, timeout_after_processing=True, timeout_seconds=0.01)
    for sale_id in range(1, 31):
        sell(store, products[sale_id % 2], 1, sale_id=sale_id)
    simulator.set_faults(timeout_every=None)
    for _ in range(10):
        if not SyncRecord.objects.exclude(status="accepted").exists():
            break
        SyncRecord.objects.filter(status="pending").update(
            next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
        )
        sync_send_due()
    assert SyncRecord.objects.filter(status="accepted").count() == 30
    found = SyncRecord.objects.filter(state_answer__found_by="external_number").count()
    assert found > 0, "some answers were lost and recovered by the lookup"
    assert len(simulator.receipts(store.license_adult_use)) == 30
    from inventory.models import Package

    for package in Package.objects.filter(pk__in=[p.pk for p in packages]):
        assert simulator.package(store.license_adult_use, package.tag).quantity == package.quantity_on_hand


def _run_due_reports(store) -> None:
    """Time passes: every waiting report is due, and the sweeper sends it."""
    SyncRecord.objects.filter(status="pending").update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    SyncRecord.objects.filter(status="sent").update(sent_at=timezone.now() - dt.timedelta(minutes=5))
    sync_send_due()


def _writes(simulator, method: str, path_start: str) -> int:
    return sum(1 for r in simulator.requests if r.method == method and r.path.startswith(path_start))


def _void(store, sale_id) -> None:
    with transaction.atomic():
        events.publish(
            SaleVoided(
                sale_id=sale_id,
                organization_id=store.organization_id,
                store_id=store.pk,
                voided_at=timezone.now().isoformat(),
            )
        )


def test_a_void_whose_answer_was_lost_is_settled_by_reading_the_receipt(store, product, simulator):
    package = stocked(store, product, simulator)
    sell(store, product, 4, sale_id=7)
    simulator.set_faults(lose_after_every=1, lost_answer="504")  # the state voids it, the answer is lost
    _void(store, 7)
    void = SyncRecord.objects.get(kind="sales_receipt.void")
    assert void.status == "pending" and void.state_answer["outcome_unknown"] is True
    simulator.set_faults(lose_after_every=None)
    _run_due_reports(store)
    void.refresh_from_db()
    assert (void.status, void.state_answer["found_by"]) == ("accepted", "receipt_archived")
    assert _writes(simulator, "DELETE", "/sales/v2/receipts/") == 1  # never sent twice
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(10)


def test_a_void_answered_already_voided_on_a_resend_is_done(store, product, simulator, monkeypatch):
    stocked(store, product, simulator)
    sell(store, product, 1, sale_id=8)
    simulator.set_faults(lose_after_every=1, lost_answer="drop")
    _void(store, 8)
    simulator.set_faults(lose_after_every=None)
    # A state whose receipt read still shows it active (a lagging replica): the resend answers "already voided".
    monkeypatch.setattr(
        MetrcProvider, "receipt_get", lambda self, receipt_id: {"Id": receipt_id, "IsArchived": False}
    )
    _run_due_reports(store)
    void = SyncRecord.objects.get(kind="sales_receipt.void")
    assert (void.status, void.state_answer["found_by"]) == ("accepted", "already_voided")


@pytest.mark.parametrize(
    ("lost", "adjust_posts"),
    [
        ({"lose_after_every": 1, "lost_answer": "drop"}, 1),
        ({"lost_before": True}, 2),
    ],
    ids=["lost-after-applying", "lost-before-applying"],
)
def test_an_adjustment_whose_answer_was_lost_is_applied_once(
    store, product, simulator, manager, lost, adjust_posts
):
    package = stocked(store, product, simulator)
    if lost.pop("lost_before", False):
        simulator.queue_response(504, methods=["POST"], timeout=True)  # lost before the state applies it
    simulator.set_faults(**lost, timeout_seconds=0.001)
    package_adjust(package=package, quantity="-1", reason="damaged", actor=manager)
    record = SyncRecord.objects.get(kind="package.adjust")
    assert record.status == "pending" and record.state_answer["outcome_unknown"] is True
    assert D(record.state_answer["before"][package.tag]) == 10  # read just before sending
    simulator.set_faults(lose_after_every=None, timeout_every=None)
    _run_due_reports(store)
    record.refresh_from_db()
    assert record.status == "accepted"
    assert _writes(simulator, "POST", "/packages/v2/adjust") == adjust_posts
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(9)


def test_an_adjustment_the_state_changed_otherwise_goes_to_a_person(store, product, simulator, manager):
    package = stocked(store, product, simulator)
    simulator.set_faults(lose_after_every=1)
    package_adjust(package=package, quantity="-1", reason="damaged", actor=manager)
    simulator.set_faults(lose_after_every=None)
    simulator.seed_package(store.license_adult_use, package.tag, 4, "Each", product.name)  # changed by hand
    _run_due_reports(store)
    record = SyncRecord.objects.get(kind="package.adjust")
    assert record.status == "failed"
    assert "cannot show whether it was applied" in record.last_error and "holds 4" in record.last_error
    assert _writes(simulator, "POST", "/packages/v2/adjust") == 1


def test_a_refund_update_whose_answer_was_lost_is_settled_by_the_receipts_lines(store, product, simulator):
    package = stocked(store, product, simulator)
    sell(store, product, 4, sale_id=12)
    simulator.set_faults(lose_after_every=1, lost_answer="timeout", timeout_seconds=0.001)
    with transaction.atomic():
        events.publish(
            SaleRefunded(
                sale_id=12, organization_id=store.organization_id, store_id=store.pk, refund_id=1,
                refunded_at=timezone.now().isoformat(),
                remaining_lines=[{"package_label": package.tag, "quantity": "3", "unit": "each", "total_amount": "135.00"}],
            )
        )  # fmt: skip
    simulator.set_faults(lose_after_every=None)
    _run_due_reports(store)
    update = SyncRecord.objects.get(kind="sales_receipt.update")
    assert (update.status, update.state_answer["found_by"]) == ("accepted", "receipt_lines")
    assert _writes(simulator, "PUT", "/sales/v2/receipts") == 1
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(7)


def test_a_sender_killed_after_claiming_is_settled_before_any_resend(store, product, simulator):
    package = stocked(store, product, simulator)
    simulator.set_faults(lose_after_every=1)
    sell(store, product, 2, sale_id=21)
    simulator.set_faults(lose_after_every=None)
    # As if the sender had died between sending and hearing the answer: claimed ("sent"), nothing recorded.
    SyncRecord.objects.update(status="sent", state_answer=None, sent_at=timezone.now())
    assert sync_send_store(store_id=store.pk)["accepted"] == 0  # its lease has not run out yet
    _run_due_reports(store)
    record = SyncRecord.objects.get()
    assert (record.status, record.state_answer["found_by"]) == ("accepted", "external_number")
    assert _writes(simulator, "POST", "/sales/v2/receipts") == 1
    assert simulator.package(store.license_adult_use, package.tag).quantity == D(8)


def test_a_receipt_sent_without_our_number_is_found_by_its_time_and_packages(store, product, simulator):
    from compliance.traceability.base import Operation
    from compliance.traceability.metrc import receipt_object, transaction_object

    package = stocked(store, product, simulator)
    sold_at = timezone.now()
    receipt = receipt_object(
        sold_at, store.tz, "adult_use", transactions=[transaction_object(package.tag, 2, "each", "90.00")]
    )
    registry.provider_for_store(store).submit(Operation.SALES_RECEIPT_CREATE, [receipt])  # reached the state
    record = SyncRecord.objects.create(
        store=store, kind="sales_receipt.create", payload=[receipt], order_keys=[package.tag],
        state_answer={"outcome_unknown": True}, next_attempt_at=timezone.now(),
    )  # fmt: skip
    sync_send_store(store_id=store.pk)
    record.refresh_from_db()
    assert (record.status, record.state_answer["found_by"]) == ("accepted", "time_and_packages")
    assert record.state_answer["ids"] == [simulator.receipts(store.license_adult_use)[0]["Id"]]
    assert len(simulator.receipts(store.license_adult_use)) == 1


def test_an_answer_that_will_never_change_goes_to_a_person_at_once(store, product, simulator):
    stocked(store, product, simulator)
    simulator.queue_response(501, methods=["POST"])
    sell(store, product, 1, sale_id=30)
    record = SyncRecord.objects.get()
    assert (record.status, record.attempts, record.state_answer["status_code"]) == ("failed", 1, 501)


def test_a_429_waits_at_least_its_retry_after(store, product, simulator):
    stocked(store, product, simulator)
    simulator.queue_response(429, count=3, retry_after="120", methods=["POST"])
    sell(store, product, 1, sale_id=31)
    record = SyncRecord.objects.get()
    assert record.status == "pending" and not record.state_answer  # refused: nothing to settle
    assert 120 <= (record.next_attempt_at - record.sent_at).total_seconds() <= 122
    assert _writes(simulator, "POST", "/sales/v2/receipts") == 1  # not retried inside the provider either


def test_on_the_embedded_default_a_sale_does_not_wait_for_the_state(
    store, product, simulator, settings, monkeypatch
):
    from compliance.reporting.sync import background_sender
    from dispensary import events

    settings.STATE_SYNC = {**settings.STATE_SYNC, "IN_PROCESS": "background"}
    # Only the state's handlers react to the sale here: the test database is SQLite in memory, which has no
    # busy wait, so the other handlers' writes on this thread after the commit (segments, flows, attribution)
    # could find a table locked by the background sender (a file database on the embedded default waits).
    for name, handlers in list(events._HANDLERS.items()):
        monkeypatch.setitem(
            events._HANDLERS,
            name,
            {key: handler for key, handler in handlers.items() if key.startswith("compliance.")},
        )
    stocked(store, product, simulator)
    simulator.set_faults(latency_seconds=1.0)  # a slow state
    started = time.monotonic()
    sell(store, product, 1, sale_id=40)
    assert time.monotonic() - started < 1.0
    assert background_sender.wait(timeout=30)
    record = SyncRecord.objects.get()
    assert record.status == "accepted"
    assert len(simulator.receipts(store.license_adult_use)) == 1
