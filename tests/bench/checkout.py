"""Checkout throughput on PostgreSQL: 1, 4 and 16 registers completing 5-line sales at once, through the
service layer (one process per register) and through HTTP (tests/bench/checkout_http.py), with pgbench's
TPC-B figure on the same server for scale. Printed, never asserted on time.

Deliveries of the sales' events (the state report, receipts) are not part of a checkout: in production they
run on Celery workers after the commit. The service-layer runs hold dispatch back; the HTTP runs give gunicorn
`BENCH_CELERY_BROKER_URL` when set (deliveries are queued, not run), otherwise deliveries run in the request
after the commit, as in the embedded default, and the figures say so.

    BENCH_CHECKOUT_SALES=240 BENCH_CHECKOUT_HTTP_SALES=48 BENCH_CHECKOUT_REGISTERS=1,4,16 python -m tests.bench.run
    BENCH_CHECKOUT_HTTP=0 BENCH_CHECKOUT_REGISTERS=1,4 python -m tests.bench.run checkout   # service layer alone
"""

import datetime as dt
import multiprocessing
import os
import pathlib
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from decimal import Decimal

from django.conf import settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.identity import id_verify
from dispensary import events
from dispensary.models import Organization, Store, User
from dispensary.roles import Role
from inventory.models import Product, ProductLimitAmount
from inventory.services import package_receive
from pos.models import DrawerSession, Register, Sale
from pos.selectors.quote import CartInput, QuoteLineInput, quote
from pos.services import TenderInput, sale_complete
from tests.bench.results import record

SALES = int(os.environ.get("BENCH_CHECKOUT_SALES", "240"))  # per concurrency level, spread over the registers
LEVELS = [int(n) for n in os.environ.get("BENCH_CHECKOUT_REGISTERS", "1,4,16").split(",")]
PRODUCTS = 60
LINES = 5
PGBENCH_SECONDS = int(os.environ.get("BENCH_PGBENCH_SECONDS", "8"))
GUNICORN_LOG = pathlib.Path(tempfile.gettempdir()) / f"bench-gunicorn-{os.getpid()}.log"
PASSWORD = "bench-password-2026"


def setup_store() -> tuple[Store, User, list[int]]:
    organization = Organization.objects.create(name="Bench checkout", slug=f"bench-checkout-{os.getpid()}")
    store = Store.objects.create(
        organization=organization,
        name="Bench checkout store",
        code="benchco",
        license_adult_use="BENCH-CO-1",
        jurisdiction="US-CA",
        time_zone="America/Los_Angeles",
        address_line1="1 Bench St",
        city="Oakland",
        region="CA",
        postal_code="94607",
    )
    staff = User.objects.create_user(
        username=f"bench-budtender-{os.getpid()}", password=PASSWORD, organization=organization
    )
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    staff.groups.add(Group.objects.get(name=Role.BUDTENDER.value))
    assign_perm("dispensary.access_store", staff, store)
    product_ids = []
    for number in range(PRODUCTS):
        product = Product.objects.create(
            organization=organization,
            name=f"Bench pre-roll {number}",
            category=Product.Category.PRE_ROLL,
            sku=f"BENCH-{number:03d}",
            price=Decimal("12.50") + number % 7,
        )
        ProductLimitAmount.objects.create(product=product, bucket="flower_g", amount=Decimal("1"))
        package_receive(
            store=store,
            product=product,
            tag=f"1A4BENCH{number:016d}",
            quantity=Decimal("1000000"),
            actor=staff,
            location="sales_floor",
            expires_on=timezone.localdate() + dt.timedelta(days=365),
        )
        product_ids.append(product.pk)
    return store, staff, product_ids


def registers_for(store: Store, staff: User, count: int, level: int) -> list[int]:
    ids = []
    for number in range(count):
        register = Register.objects.create(store=store, name=f"L{level} R{number + 1}")
        DrawerSession.objects.create(
            register=register,
            store=store,
            opened_by=staff,
            opened_at=timezone.now(),
            opening_amount=Decimal("300.00"),
        )
        ids.append(register.pk)
    return ids


def _sale_lines(rng: random.Random, product_ids: list[int]) -> tuple[QuoteLineInput, ...]:
    return tuple(QuoteLineInput(product_id, Decimal("1")) for product_id in rng.sample(product_ids, LINES))


def _sale(store, register, staff, verification, lines, key: str):
    """One whole sale as the register makes it: the cart quoted once, then completed with that quote."""
    priced = quote(
        CartInput(store=store, customer_type="adult_use", lines=lines, id_verification=verification)
    )
    return sale_complete(
        quote=priced,
        tenders=[TenderInput("cash", Decimal("200"))],
        register=register,
        staff=staff,
        idempotency_key=key,
    )


def _service_worker(register_id: int, count: int, product_ids: list[int], seed: int, results, ready) -> None:
    """One register in its own process and connection: one sale that warms the process (its connection, the
    rules, taxes and products it keeps, its prepared statements), as a register that has been open a while;
    then, once every register is warm (`ready`, a barrier), `count` sales, each timed."""
    try:
        _service_register(register_id, count, product_ids, seed, results, ready)
    except Exception:  # noqa: BLE001 - the parent must hear of any failure instead of waiting for a result
        import traceback

        results.put(("failed", traceback.format_exc()))


def _service_register(
    register_id: int, count: int, product_ids: list[int], seed: int, results, ready
) -> None:
    connections.close_all()
    events.dispatch = lambda delivery_ids: None  # deliveries belong to the workers, not the checkout
    register = Register.objects.select_related("store").get(pk=register_id)
    store = register.store
    staff = User.objects.get(username=f"bench-budtender-{os.getppid()}")
    verification = id_verify(
        store=store, staff=staff, minimum_age=21, date_of_birth=dt.date(1988, 3, 14)
    ).verification
    rng = random.Random(seed)
    _sale(store, register, staff, verification, _sale_lines(rng, product_ids), f"bench-{register_id}-warm")
    ready.wait(timeout=300)
    durations, started = [], time.perf_counter()
    for number in range(count):
        begin = time.perf_counter()
        _sale(
            store,
            register,
            staff,
            verification,
            _sale_lines(rng, product_ids),
            f"bench-{register_id}-{number}",
        )
        durations.append(time.perf_counter() - begin)
    results.put((started, time.perf_counter(), durations))
    connections.close_all()


def _run_level(level: int, register_ids: list[int], product_ids: list[int], target, extra=()) -> tuple:
    per_register = max(SALES // level, 5)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    connections.close_all()
    processes = [
        context.Process(target=target, args=(register_id, per_register, product_ids, index, results, *extra))
        for index, register_id in enumerate(register_ids)
    ]
    for process in processes:
        process.start()
    gathered = _gather(results, processes)
    start = min(started for started, _, _ in gathered)
    end = max(ended for _, ended, _ in gathered)
    durations = sorted(d for _, _, run in gathered for d in run)
    return len(durations), end - start, durations


def _gather(results, processes) -> list:
    gathered = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    failures = [item[1] for item in gathered if item[0] == "failed"]
    if failures:
        log = GUNICORN_LOG.read_text()[-3000:] if GUNICORN_LOG.exists() else ""
        raise RuntimeError(f"a bench register failed:\n{failures[0]}\n{log}")
    return gathered


def _figures(count: int, seconds: float, durations: list[float]) -> str:
    p50 = statistics.median(durations) * 1000
    p95 = durations[min(len(durations) - 1, int(len(durations) * 0.95))] * 1000
    return f"{count / seconds:,.1f} sales/s, p50 {p50:.1f} ms, p95 {p95:.1f} ms ({count} sales in {seconds:.1f} s)"


def queries_per_checkout(store: Store, staff: User, product_ids: list[int]) -> tuple[int, int]:
    """The queries of one 5-line sale: (quoting the cart, completing it), in a real transaction as in
    production, after one sale has filled the process's kept rules, taxes and promotions. The events'
    deliveries run after the commit on the workers and are not counted."""
    register = Register.objects.get(pk=registers_for(store, staff, 1, 0)[0])
    verification = id_verify(store=store, staff=staff, minimum_age=21, date_of_birth=dt.date(1988, 3, 14))
    dispatch, events.dispatch = events.dispatch, lambda delivery_ids: None
    lines = _sale_lines(random.Random(5), product_ids)
    try:
        _sale(store, register, staff, verification.verification, lines, "bench-queries-warm")
        with CaptureQueriesContext(connection) as quoting:
            priced = quote(
                CartInput(
                    store=store,
                    customer_type="adult_use",
                    lines=lines,
                    id_verification=verification.verification,
                )
            )
        with CaptureQueriesContext(connection) as completing:
            sale_complete(
                quote=priced,
                tenders=[TenderInput("cash", Decimal("200"))],
                register=register,
                staff=staff,
                idempotency_key="bench-queries",
            )
    finally:
        events.dispatch = dispatch
    return _statements(quoting), _statements(completing)


def _statements(captured) -> int:
    """The queries, not counting the transaction's BEGIN and COMMIT (as tests/pos/test_sale_complete.py)."""
    return sum(1 for query in captured.captured_queries if query["sql"] not in ("BEGIN", "COMMIT"))


def pgbench_tps(clients: int) -> float | None:
    """pgbench's TPC-B-like run against a scratch database on the same server: its tps (None without
    pgbench or without a figure)."""
    binary = shutil.which("pgbench") or next(
        iter(sorted(p for p in _glob("/usr/lib/postgresql/*/bin/pgbench"))), None
    )
    if binary is None:
        print("checkout: pgbench not installed: no TPC-B figure to compare with")
        return None
    database = settings.DATABASES["default"]
    env = {**os.environ, "PGPASSWORD": str(database.get("PASSWORD") or "")}
    args = ["-h", str(database.get("HOST") or "127.0.0.1"), "-p", str(database.get("PORT") or 5432)]
    args += ["-U", str(database.get("USER") or "postgres")]
    name = f"pgbench_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        subprocess.run([binary, *args, "-i", "-q", "-s", "4", name], check=True, env=env, capture_output=True)
        run = subprocess.run(
            [
                binary,
                *args,
                "-n",
                "-c",
                str(clients),
                "-j",
                str(min(clients, 2)),
                "-T",
                str(PGBENCH_SECONDS),
                name,
            ],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
        found = re.search(r"tps = ([\d.]+)", run.stdout)
        if found is None:
            print(f"checkout: pgbench printed no tps: {run.stdout[-300:]}")
            return None
        return float(found.group(1))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _glob(pattern: str) -> list[str]:
    import glob

    return glob.glob(pattern)


def bench_checkout(database_label: str) -> None:
    if connection.vendor != "postgresql":
        print("checkout: needs PostgreSQL for concurrent registers; skipped on SQLite")
        return
    store, staff, product_ids = setup_store()
    quoting, completing = queries_per_checkout(store, staff, product_ids)
    record("queries_per_sale", quoting + completing)  # the whole sale, as the service figures time it
    print(
        f"checkout: {completing} queries complete a quoted {LINES}-line sale and {quoting} quote it, besides "
        f"BEGIN and COMMIT (service layer, anonymous adult-use sale, cash) ({database_label})"
    )
    for level in LEVELS:
        register_ids = registers_for(store, staff, level, level)
        ready = multiprocessing.get_context("fork").Barrier(level)
        count, seconds, durations = _run_level(
            level, register_ids, product_ids, _service_worker, extra=(ready,)
        )
        tps = pgbench_tps(level)
        record("service_sales_per_s", count / seconds, by=level)
        ratio = ""
        if tps:
            record("pgbench_tps", tps, by=level)
            ratio = f" = {100 * count / seconds / tps:.1f}% of pgbench"
        print(
            f"checkout: {level:>2} register(s), service layer (quote + complete): {_figures(count, seconds, durations)}; "
            f"pgbench TPC-B on the same server with {level} client(s): "
            f"{f'{tps:,.0f} tps' if tps else 'no figure'}{ratio} ({database_label})"
        )
    completed = Sale.objects.filter(store=store).count()
    expected = 2 + sum(
        (max(SALES // level, 5) + 1) * level for level in LEVELS
    )  # +1: each register's warm-up
    assert completed == expected, f"{completed} sales recorded, {expected} made"
    if os.environ.get("BENCH_CHECKOUT_HTTP") == "0":
        return
    from tests.bench.checkout_http import HTTP_SALES, bench_checkout_http

    bench_checkout_http(
        store, staff, lambda count, level: registers_for(store, staff, count, level), database_label
    )
    completed = Sale.objects.filter(store=store).count()
    expected += sum(max(HTTP_SALES // level, 3) * level for level in LEVELS)
    assert completed == expected, f"{completed} sales recorded, {expected} made"
