"""Sales, voids and refunds through the point of sale's services while the state misbehaves, then the sync queue
run to the end: the fault-injection test (tests/compliance/test_state_report_faults.py) and `make bench`
(tests/bench/state_reports.py) both drive it and read the same figures.

The state (the Metrc simulator) answers about one call in five with 429 (Retry-After: 1) or 500, loses some
writes before applying them and the answers of others after applying them (a read timeout, a dropped
connection, a 504), and the sender is killed now and then right after a write reached the state (the report
stays claimed, "sent", until its lease runs out). Sending runs as a worker would: after the operations, in
passes, not inside them.
"""

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import httpx
from django.conf import settings
from django.utils import timezone

from compliance.identity import id_verify
from compliance.models import SyncLane, SyncRecord
from compliance.reporting import sync
from compliance.traceability import registry
from compliance.traceability.metrc import MetrcProvider, metrc_unit
from compliance.traceability.simulator import Faults, MetrcSimulator
from dispensary import events
from dispensary.models import Store
from inventory.models import Package
from pos.models import DrawerSession, Register, Sale
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from pos.services.sales import sale_refund, sale_void
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, receive
from tests.pos.sale_helpers import checkout

VENDOR, USER = "faults-vendor", "faults-user"
PRODUCTS = 6
LOST_ANSWERS = ("timeout", "drop", "504")


class WorkerKilled(BaseException):
    """The sender's process dies: nothing in it catches this (it is not an Exception)."""


@dataclass
class Figures:
    operations: Counter
    sales: int
    reported_once: int
    duplicates: int
    never_reported: int
    pending: int
    refused: int
    quantity_mismatches: int
    packages: int
    state_calls: int
    answers_lost: int
    kills: int
    settled_by_reading: int
    passes: int
    seconds: float
    refusals: list[str]

    def line(self) -> str:
        ops = ", ".join(f"{count} {name}" for name, count in sorted(self.operations.items()))
        return (
            f"{ops}; {self.state_calls} calls to the state, ~20% answered 429/500, "
            f"{self.answers_lost} answers lost (before or after the state applied the write), {self.kills} senders "
            f"killed mid-send, {self.settled_by_reading} reports settled by reading the state | "
            f"sales reported exactly once {self.reported_once}/{self.sales}, duplicates {self.duplicates}, "
            f"never reported {self.never_reported}, pending {self.pending}, refused {self.refused}, "
            f"package quantities differing from the ledger {self.quantity_mismatches}/{self.packages} "
            f"({self.passes} sender passes, {self.seconds:.1f} s)"
        )


class KillingTransport(httpx.BaseTransport):
    """The simulator in process; every `kill_every`-th write reaches the state and is applied, then the
    sender dies before it reads the answer."""

    def __init__(self, simulator: MetrcSimulator, kill_every: int):
        self.inner = simulator.transport()
        self.kill_every = kill_every
        self.writes = 0
        self.kills = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method != "GET":
            self.writes += 1
            if self.kill_every and self.writes % self.kill_every == 0:
                self.kills += 1
                raise WorkerKilled
        return response


class LostAnswerCounter:
    def __init__(self, simulator: MetrcSimulator):
        self.count = 0
        original = simulator._lost_answer

        def counted():
            self.count += 1
            return original()

        simulator._lost_answer = counted


def _setup(simulator: MetrcSimulator, rng: random.Random):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    manager = UserFactory(organization=organization, roles=["manager"], stores=[store])
    simulator.add_facility(store.license_adult_use, jurisdiction=store.jurisdiction, user_keys=[USER])
    products, packages = [], []
    for _ in range(PRODUCTS):
        product = ProductFactory(organization=organization)
        package = receive(store, product, 5000, expires_on=timezone.localdate() + dt.timedelta(days=365))
        simulator.seed_package(
            store.license_adult_use, package.tag, 5000, metrc_unit(package.unit), product.name
        )
        products.append(product)
        packages.append(package)
    register = Register.objects.create(store=store, name="Faults")
    DrawerSession.objects.create(
        register=register,
        store=store,
        opened_by=manager,
        opened_at=timezone.now(),
        opening_amount=Decimal(500),
    )
    verification = id_verify(
        store=store, staff=manager, minimum_age=21, date_of_birth=dt.date(1988, 3, 14)
    ).verification
    return store, manager, products, packages, register, verification


def _operate(
    store,
    manager,
    products,
    register,
    verification,
    numbers: range,
    rng: random.Random,
    open_sales: list[int],
) -> Counter:
    done: Counter = Counter()
    for number in numbers:
        roll = rng.random()
        # A sale refunded in full is no longer open for a void or a refund.
        open_sales[:] = list(
            Sale.objects.filter(pk__in=open_sales, status=Sale.Status.COMPLETED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if open_sales and roll < 0.1:
            sale = Sale.objects.get(pk=open_sales.pop(rng.randrange(len(open_sales))))
            sale_void(sale=sale, actor=manager, approver=manager)
            done["voids"] += 1
            continue
        if open_sales and roll < 0.2:
            sale = Sale.objects.get(pk=rng.choice(open_sales))
            lines = list(sale.lines.all())
            line = next((line for line in lines if line.remaining_quantity >= 1), None)
            # A refund keeps at least one unit on the receipt: emptying a receipt is a void at the state
            # (DELETE), which belongs with the refund rules, not with the transport under test here.
            if line is not None and sum(line.remaining_quantity for line in lines) > 1:
                restock = rng.random() < 0.5
                sale_refund(
                    sale=sale, lines=[(line, Decimal(1), restock)], reason="Changed mind", actor=manager,
                    approver=manager,
                )  # fmt: skip
                done["refunds to stock" if restock else "refunds to waste"] += 1
                continue
        lines = [
            QuoteLineInput(product.pk, Decimal(rng.choice([1, 1, 2]))) for product in rng.sample(products, 2)
        ]
        sale = checkout(
            store=store, register=register, staff=manager, customer=None, customer_type="adult_use", lines=lines,
            tenders=[TenderInput("cash", Decimal(1000))], idempotency_key=f"faults-{number}",
            id_verification=verification,
        )  # fmt: skip
        open_sales.append(sale.pk)
        done["sales"] += 1
    return done


def _send_pass(store: Store, transport: KillingTransport) -> None:
    """One worker run over the store's queue; a killed worker leaves its lane leased and its report claimed."""
    try:
        sync.sync_send_store(store_id=store.pk)
    except WorkerKilled:
        lease = dt.timedelta(seconds=settings.STATE_SYNC["LEASE_SECONDS"])
        SyncLane.objects.filter(store=store).update(leased_until=timezone.now() + lease, lease_owner="dead")


def run(
    count: int = 1000,
    *,
    seed: int = 10,
    deadline_seconds: float = 600,
    wait: Callable[[float], None] = time.sleep,
) -> Figures:
    """Needs a database (a test's or the bench's); sending is driven here. `wait` lets the time pass that
    retries and leases wait for (the test and the bench move a travelling clock instead of sleeping)."""
    started = time.monotonic()
    rng = random.Random(seed)
    simulator = MetrcSimulator(
        seed=seed,
        faults=Faults(
            fail_probability=0.2,
            fail_statuses=(429, 500),
            fail_retry_after="1",
            timeout_probability=0.02,  # lost before the state applies the write
            lose_after_probability=0.05,  # applied, then the answer is lost
            timeout_seconds=0.001,
            get_rate_limit=None,
        ),
    )
    simulator.record_requests = False
    simulator.add_credentials(VENDOR, USER)
    lost = LostAnswerCounter(simulator)
    transport = KillingTransport(simulator, kill_every=37)
    store, manager, products, packages, register, verification = _setup(simulator, rng)

    def provider(for_store, **kwargs):
        return MetrcProvider(
            base_url="http://simulator.invalid", vendor_key=VENDOR, user_key=USER,
            license_number=for_store.license_adult_use, jurisdiction=for_store.jurisdiction,
            transport=transport, timeout=0.5, backoff_base=0.001, backoff_max=0.002, max_attempts=3,
        )  # fmt: skip

    saved = (registry.provider_for_store, sync.dispatch_store_send, settings.STATE_SYNC)
    registry.provider_for_store = provider
    sync.dispatch_store_send = lambda store_id: None  # queued for the worker passes below
    settings.STATE_SYNC = {
        **settings.STATE_SYNC,
        "BACKOFF_BASE_SECONDS": 0.05,
        "BACKOFF_MAX_SECONDS": 0.2,
        "LEASE_SECONDS": 0.5,
    }
    passes = 0
    try:
        operations, open_sales = Counter(), []
        for first in range(0, count, 50):  # operations, then a worker pass, as a busy afternoon goes
            for index, mode in enumerate(LOST_ANSWERS):
                if (first // 50) % len(LOST_ANSWERS) == index:
                    simulator.set_faults(lost_answer=mode)
            operations += _operate(
                store, manager, products, register, verification, range(first, min(first + 50, count)), rng,
                open_sales,
            )  # fmt: skip
            events.outbox_sweep(now=timezone.now() + dt.timedelta(hours=1))
            _send_pass(store, transport)
            passes += 1
        while time.monotonic() - started < deadline_seconds:
            events.outbox_sweep(now=timezone.now() + dt.timedelta(hours=1))
            if not SyncRecord.objects.filter(
                store=store, status__in=[SyncRecord.Status.PENDING, SyncRecord.Status.SENT]
            ).exists():
                break
            _send_pass(store, transport)
            passes += 1
            wait(
                1.0
            )  # Retry-After (1 s, plus jitter up to 1 s), backoff and leases (0.5 s) run out meanwhile
    finally:
        registry.provider_for_store, sync.dispatch_store_send, settings.STATE_SYNC = saved
    return _figures(simulator, store, packages, operations, lost.count, transport.kills, passes, started)


def _figures(simulator, store, packages, operations, lost, kills, passes, started) -> Figures:
    numbers = Counter(
        receipt.get("ExternalReceiptNumber") for receipt in simulator.receipts(store.license_adult_use)
    )
    sale_ids = list(Sale.objects.filter(store=store).values_list("pk", flat=True))
    expected = [f"{store.code}-{sale_id}" for sale_id in sale_ids]
    records = SyncRecord.objects.filter(store=store)
    mismatches = sum(
        simulator.package(store.license_adult_use, package.tag).quantity != package.quantity_on_hand
        for package in Package.objects.filter(pk__in=[p.pk for p in packages])
    )
    return Figures(
        operations=operations,
        sales=len(expected),
        reported_once=sum(numbers[number] == 1 for number in expected),
        duplicates=sum(max(numbers[number] - 1, 0) for number in expected),
        never_reported=sum(numbers[number] == 0 for number in expected),
        pending=records.filter(status__in=[SyncRecord.Status.PENDING, SyncRecord.Status.SENT]).count(),
        refused=records.filter(status=SyncRecord.Status.FAILED).count(),
        quantity_mismatches=mismatches,
        packages=len(packages),
        state_calls=simulator.call_count,
        answers_lost=lost,
        kills=kills,
        settled_by_reading=records.filter(state_answer__has_key="found_by").count(),
        passes=passes,
        seconds=time.monotonic() - started,
        refusals=[
            f"{kind} #{pk}: {error}"
            for pk, kind, error in records.filter(status=SyncRecord.Status.FAILED).values_list(
                "pk", "kind", "last_error"
            )
        ],
    )
