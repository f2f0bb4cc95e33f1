"""Checkout through HTTP: gunicorn serving the register page on PostgreSQL, one client process per register,
each making whole 5-line anonymous sales exactly as the register page does (every request it sends: the new
cart, posted by the last receipt's New sale button, and its page; the ID; five scans each answered out of band;
the completion and the receipt the page then shows. A new cart is already an anonymous adult-use sale: no
customer request). Printed per number of
registers: sales per second and the p50/p95 of every request; recorded in bench-results.json. Never asserted on
time.

Deliveries of the sales' events (the state report, receipts) are not part of a checkout: in production they are
queued to Celery after the commit. Given `BENCH_CELERY_BROKER_URL`, gunicorn queues them there (a broker
round trip per delivery, nothing run in the request); without it they run in the request after the commit, as in
the embedded default, and the printout says so.

Each register is one keep-alive connection driven by http.client (what a browser keeps open to its server),
sending the headers the page sends (the session and CSRF cookies, X-CSRFToken, htmx's HX-Request and
HX-Current-URL): a load generator that costs little CPU, so the figures are the server's. Its CPU time per
request is printed too.

Static files are served as in production: collected with hashed names (WhiteNoise's manifest storage) and
cached for good by the browser, so a register loads them once; the bench checks the headers and then, as a
browser with a warm cache, does not ask again.
"""

import http.client
import json
import os
import pathlib
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.cookies import SimpleCookie

from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from dispensary.models import Store, User
from inventory.models import Package
from tests.bench import results

HTTP_SALES = int(os.environ.get("BENCH_CHECKOUT_HTTP_SALES", "48"))
LEVELS = [int(n) for n in os.environ.get("BENCH_CHECKOUT_REGISTERS", "1,4,16").split(",")]
LINES = 5
PASSWORD = "bench-password-2026"
GUNICORN_LOG = pathlib.Path(tempfile.gettempdir()) / f"bench-gunicorn-{os.getpid()}.log"
# As the register page's htmx sends them (htmx adds the current URL; the page's script adds the rows it shows).
HTMX = {"HX-Request": "true"}
ROW = re.compile(r'data-line="(\d+)" data-row-key="(\w+)"')
DELETED = re.compile(r'id="cart-line-(\d+)" hx-swap-oob="delete"')


def _workers() -> int:
    """Two cores: a worker per core and one more; threads let a worker use the time a request waits on
    PostgreSQL."""
    return int(os.environ.get("BENCH_GUNICORN_WORKERS", str((os.cpu_count() or 1) + 1)))


THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "4"))


def _database_url() -> str:
    database = settings.DATABASES["default"]
    return (
        f"postgres://{database['USER']}:{database.get('PASSWORD') or ''}@{database.get('HOST') or '127.0.0.1'}:"
        f"{database.get('PORT') or 5432}/{database['NAME']}"
    )


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cache_url() -> str:
    """BENCH_CACHE_URL, else the broker's Redis (the cache's keys are its own): as in production, where CACHE_URL
    is set whenever several processes serve. Empty: local memory, and then no access cache (each worker would
    miss the others' changes)."""
    if os.environ.get("BENCH_CACHE_URL") is not None:
        return os.environ["BENCH_CACHE_URL"]
    broker = os.environ.get("BENCH_CELERY_BROKER_URL", "")
    return broker if broker.startswith("redis://") else ""


def _environment(static_root: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "false",
        "DB_CONN_MAX_AGE": "600",  # persistent connections, as in production
        "CELERY_BROKER_URL": os.environ.get("BENCH_CELERY_BROKER_URL", ""),
        # A cache every worker shares (README, production advice): the signed-in member, their permissions and
        # stores, sessions, rules and products are then read once per process and version, not per request.
        "CACHE_URL": _cache_url(),
        "ACCESS_CACHE": "true" if _cache_url() else "false",
        "STATIC_ROOT": static_root,
        "STATICFILES_MANIFEST": "true",
        "DJANGO_SETTINGS_MODULE": "dispensary.settings",
    }


def start_gunicorn(static_root: str) -> tuple[subprocess.Popen, str]:
    env = _environment(static_root)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        env=env,
        check=True,
        cwd=pathlib.Path(__file__).resolve().parents[2],
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "dispensary.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(_workers()),
            "--threads",
            str(THREADS),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=GUNICORN_LOG.open("w"),
    )
    import httpx

    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/login/", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {GUNICORN_LOG.read_text()[-2000:]}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not answer within 30 s")


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user and system) used so far by gunicorn: the master and its workers (Linux /proc; None
    elsewhere). Unlike a rate, it does not depend on what else the machine is running."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, found = 0, False
    for entry in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime, stime
            found = True
    return total / ticks if found else None


def _database_cpu_seconds(name: str) -> float | None:
    """CPU time used so far by the PostgreSQL backends serving database `name` (when the server runs on this
    machine: Linux /proc, processes titled "postgres: user database ..."). Backends live as long as gunicorn's
    persistent connections, so the difference over a level is theirs."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, found = 0, False
    for entry in pathlib.Path("/proc").glob("[0-9]*"):
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
            if len(title) < 3 or title[0] != "postgres:" or title[2] != name:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        found = True
    return total / ticks if found else None


class Browser:
    """One register's keep-alive connection: cookies kept, forms and JSON posted, redirects not followed."""

    def __init__(self, base: str):
        self.base = base
        self.host, port = urllib.parse.urlsplit(base).netloc.split(":")
        self.port = int(port)
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, *, data=None, json_body=None, headers=None) -> "Answer":
        sent = {"Host": f"{self.host}:{self.port}", "Accept-Encoding": "identity", **(headers or {})}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.connection.request(method, url, body=body, headers=sent)
                response = self.connection.getresponse()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # gunicorn closed an idle keep-alive connection: open another, as a browser does.
                self.connection.close()
                if attempt == 2:
                    raise
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return Answer(response.status, response.headers, content)

    def close(self) -> None:
        self.connection.close()


class Answer:
    def __init__(self, status: int, headers, content: bytes):
        self.status_code, self.headers, self.content = status, headers, content

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self):
        return json.loads(self.content)


def _log_in(client: Browser, base: str, username: str) -> dict:
    client.request("GET", "/login/")
    answer = client.request(
        "POST",
        "/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        headers={"Referer": f"{base}/login/"},
    )
    assert answer.status_code == 302, f"login failed: {answer.status_code}"
    return {"X-CSRFToken": client.cookies["csrftoken"], "Referer": f"{base}/pos/register/"}


def static_check(base: str, username: str) -> str:
    """The register page's own assets: hashed names, cached for good."""
    client = Browser(base)
    try:
        _log_in(client, base, username)
        page = client.request("GET", "/pos/register/").text
        found = re.findall(r'(?:src|href)="(/static/[^"]+\.(?:js|css))"', page)
        assert found, "the page links no static files"
        hashed, immutable = 0, 0
        for url in found:
            answer = client.request("GET", url)
            assert answer.status_code == 200, f"{url}: {answer.status_code}"
            hashed += bool(re.search(r"\.[0-9a-f]{12}\.(js|css)$", url))
            cache = answer.headers.get("cache-control", "")
            immutable += "immutable" in cache and int(re.search(r"max-age=(\d+)", cache).group(1)) >= 31536000
    finally:
        client.close()
    return f"{hashed} of {len(found)} static files hashed, {immutable} cached for a year or more (immutable)"


def _http_worker(register_id: int, count: int, seed: int, results_queue, base, tags, username):
    try:
        _http_register(register_id, count, seed, results_queue, base, tags, username)
    except Exception:  # noqa: BLE001 - the parent must hear of any failure instead of waiting for a result
        import traceback

        results_queue.put(("failed", traceback.format_exc()))


def _kind(method: str, url: str) -> str:
    """A request's kind for the breakdown: the last word of its path ("scan", "id", "complete"...)."""
    words = [word for word in url.split("/") if word and not word.isdigit()]
    if method == "GET":
        return "receipt" if "receipt" in words else "page"
    return words[-1]


def _seen(shown: dict[str, str], html: str) -> None:
    """What the page's script keeps of the rows after an answer: the rows swapped in, less the deleted."""
    for line_id, key in ROW.findall(html):
        shown[line_id] = key
    for line_id in DELETED.findall(html):
        shown.pop(line_id, None)


def _http_register(register_id, count, seed, results_queue, base, tags, username) -> None:
    rng = random.Random(seed)
    client = Browser(base)
    try:
        headers = _log_in(client, base, username)
        chosen = client.request(
            "POST", "/pos/register/choose/", data={"register": register_id}, headers=headers
        )
        assert chosen.status_code == 302
        requests, sales = [], []
        cpu, started = time.process_time(), time.perf_counter()

        def timed(method, url, expect, **kwargs):
            begin = time.perf_counter()
            answer = client.request(method, url, **kwargs)
            requests.append((_kind(method, url), time.perf_counter() - begin))
            assert answer.status_code == expect, f"{url}: {answer.status_code} {answer.text[:300]}"
            return answer

        for _ in range(count):
            begin = time.perf_counter()
            cart_url = timed("POST", "/pos/register/carts/new/", 302, headers=headers).headers["location"]
            page = timed("GET", cart_url, 200).text
            cart_id = re.search(r'data-cart-id="(\d+)"', page).group(1)
            key = re.search(r'data-idempotency-key="([^"]+)"', page).group(1)
            htmx = {**headers, **HTMX, "HX-Current-URL": f"{base}{cart_url}"}
            # A new cart is an anonymous adult-use sale: the page offers nothing to click for that.
            assert "customer/anonymous/" not in page
            shown: dict[str, str] = {}
            steps = [
                (
                    f"/pos/register/carts/{cart_id}/id/",
                    {"date_of_birth": "1988-03-14", "expires_on": "2031-03-14"},
                ),
                *[(f"/pos/register/carts/{cart_id}/scan/", {"code": tag}) for tag in rng.sample(tags, LINES)],
            ]
            for url, data in steps:
                rows = ",".join(f"{line_id}:{row_key}" for line_id, row_key in shown.items())
                answer = timed("POST", url, 200, data={**data, "rows": rows}, headers=htmx)
                assert "data-refusal" not in answer.text, answer.text[:500]
                _seen(shown, answer.text)
            assert len(shown) == LINES, f"{len(shown)} lines on the screen"
            done = timed(
                "POST",
                f"/pos/register/carts/{cart_id}/complete/",
                200,
                json_body={"idempotency_key": key, "tenders": [{"kind": "cash", "amount": "200"}]},
                headers={**headers, "Accept": "application/json"},
            ).json()
            # The page then shows the receipt, whose New sale button starts the next sale.
            receipt = timed("GET", done["receipt_url"], 200).text
            assert "data-new-sale" in receipt
            sales.append(time.perf_counter() - begin)
        results_queue.put((started, time.perf_counter(), sales, requests, time.process_time() - cpu))
    finally:
        client.close()


def _run_level(level, register_ids, base, tags, username) -> tuple:
    import multiprocessing

    per_register = max(HTTP_SALES // level, 3)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    connections.close_all()
    processes = [
        context.Process(
            target=_http_worker, args=(register_id, per_register, index, queue, base, tags, username)
        )
        for index, register_id in enumerate(register_ids)
    ]
    for process in processes:
        process.start()
    gathered = [queue.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    failures = [item[1] for item in gathered if item[0] == "failed"]
    if failures:
        log = GUNICORN_LOG.read_text()[-3000:] if GUNICORN_LOG.exists() else ""
        raise RuntimeError(f"a bench register failed:\n{failures[0]}\n{log}")
    start = min(item[0] for item in gathered)
    end = max(item[1] for item in gathered)
    sales = sorted(d for item in gathered for d in item[2])
    requests = [timing for item in gathered for timing in item[3]]
    client_cpu = sum(item[4] for item in gathered)
    return len(sales), end - start, requests, client_cpu


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


# What a scan's queries read or write, by the table each reads or writes first.
KINDS = (
    ("session", ("django_session",)),
    (
        "member, permissions and stores",
        ("dispensary_user", "auth_", "django_content_type", "dispensary_store"),
    ),
    ("rules, taxes, promotions, loyalty", ("compliance_", "pos_promotion", "pos_loyaltyprogram")),
    ("lines", ("pos_cartline",)),
    ("cart", ("pos_cart",)),
    ("package", ("inventory_package",)),
    ("products", ("inventory_product",)),
    ("purchase history", ("pos_sale",)),
)
TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def _breakdown(statements: list[str]) -> dict[str, int]:
    """Each statement by what it reads (a write by its verb), BEGIN and COMMIT apart."""
    counts: dict[str, int] = {}
    for sql in statements:
        verb = sql.split(None, 1)[0].upper() if sql.strip() else ""
        if verb in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}:
            kind = "BEGIN and COMMIT"
        elif verb in {"INSERT", "UPDATE", "DELETE"}:
            kind = f"{verb.lower()}s"
        else:
            found = TABLE.search(sql)
            table = found.group(1) if found else ""
            kind = next((kind for kind, prefixes in KINDS if table.startswith(prefixes)), table or "other")
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def queries_per_scan(store: Store, staff: User, register_id: int) -> int:
    """One scan request through Django's test client in this process (the screen's update included), served as
    gunicorn serves it here: with a shared cache (ACCESS_CACHE, sessions read from the cache)."""
    with override_settings(ACCESS_CACHE=True, SESSION_ENGINE="django.contrib.sessions.backends.cached_db"):
        return _queries_per_scan(store, staff, register_id)


def _queries_per_scan(store: Store, staff: User, register_id: int) -> int:
    from compliance.identity import id_verify
    from pos.models import Register
    from pos.services.carts import cart_open

    client = Client()
    client.force_login(staff)
    session = client.session
    session["pos.register_id"] = register_id
    session.save()
    register = Register.objects.get(pk=register_id)
    cart = cart_open(store=store, register=register, staff=staff)
    verification = id_verify(
        store=store, staff=staff, minimum_age=21, date_of_birth=__import__("datetime").date(1988, 3, 14)
    )
    cart.id_verification = verification.verification
    cart.save(update_fields=["id_verification"])
    tags = list(Package.objects.filter(store=store).order_by("pk").values_list("tag", flat=True)[:3])
    url = f"/pos/register/carts/{cart.pk}/scan/"
    # A register at work: this process has read the products before (in another sale) and the cart has a line.
    warm = cart_open(store=store, register=register, staff=staff)
    warm.id_verification = verification.verification
    warm.save(update_fields=["id_verification"])
    client.post(f"/pos/register/carts/{warm.pk}/scan/", {"code": tags[1]}, HTTP_HX_REQUEST="true")
    client.post(url, {"code": tags[0]}, HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as queries:
        answer = client.post(url, {"code": tags[1], "rows": ""}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and "data-refusal" not in answer.content.decode()
    with CaptureQueriesContext(connection) as first_read:  # a product this process has not read yet
        answer = client.post(url, {"code": tags[2], "rows": ""}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and "data-refusal" not in answer.content.decode()
    statements = [query["sql"] for query in queries.captured_queries]
    print(
        f"checkout: {len(statements)} queries per scan request, everything included: "
        + ", ".join(f"{kind} {count}" for kind, count in _breakdown(statements).items() if count)
        + f" ({len(first_read)} for a product this process has not read yet)"
    )
    return len(queries)


def bench_checkout_http(store: Store, staff: User, register_ids_for, database_label: str) -> None:
    """`register_ids_for(count, level)` makes `count` registers with open drawers."""
    staff.set_password(PASSWORD)
    staff.save(update_fields=["password"])
    results.record("queries_per_scan", queries_per_scan(store, staff, register_ids_for(1, 99)[0]))
    tags = list(Package.objects.filter(store=store).values_list("tag", flat=True))
    connections.close_all()
    mode = (
        "deliveries queued to the broker after commit"
        if os.environ.get("BENCH_CELERY_BROKER_URL")
        else "no broker given: deliveries run in the completing request after commit, as in the embedded default"
    )
    cache = (
        "shared Redis cache: sessions, members, rules and products read once per process and version"
        if _cache_url()
        else "no BENCH_CACHE_URL or Redis broker: local-memory cache, sessions and members read per request"
    )
    with tempfile.TemporaryDirectory(prefix="bench-static-") as static_root:
        process, base = start_gunicorn(static_root)
        try:
            print(f"checkout: HTTP static files: {static_check(base, staff.get_username())}")
            for level in LEVELS:
                register_ids = register_ids_for(level, 100 + level)
                cpu_before = _cpu_seconds(process.pid)
                database_before = _database_cpu_seconds(settings.DATABASES["default"]["NAME"])
                count, seconds, timings, client_cpu = _run_level(
                    level, register_ids, base, tags, staff.get_username()
                )
                cpu_after = _cpu_seconds(process.pid)
                database_after = _database_cpu_seconds(settings.DATABASES["default"]["NAME"])
                requests = sorted(duration for _, duration in timings)
                kinds: dict[str, list[float]] = {}
                for kind, duration in timings:
                    kinds.setdefault(kind, []).append(duration)
                rate = count / seconds
                p50 = statistics.median(requests) * 1000
                p95 = _percentile(requests, 0.95) * 1000
                results.record("http_sales_per_s", rate, by=level)
                results.record("http_request_ms_p50", p50, by=level)
                results.record("http_request_ms_p95", p95, by=level)
                print(
                    f"checkout: {level:>2} register(s), HTTP (gunicorn {_workers()} workers x {THREADS} threads, "
                    f"{len(requests) // count} requests per {LINES}-line sale): {rate:,.1f} sales/s "
                    f"({count} sales in {seconds:.1f} s); per request p50 {p50:.1f} ms, p95 {p95:.1f} ms "
                    f"({mode}; {cache}; {database_label})"
                )
                if cpu_before is not None and cpu_after is not None:
                    cpu = (cpu_after - cpu_before) * 1000
                    print(
                        f"checkout: {level:>2} register(s), gunicorn's CPU time: {cpu / count:.1f} ms per sale, "
                        f"{cpu / len(requests):.1f} ms per request (whatever else the machine runs; PostgreSQL's "
                        "and the clients' not included)"
                    )
                database_cpu = (
                    f"{(database_after - database_before) * 1000 / len(requests):.2f} ms per request"
                    if database_before is not None and database_after is not None
                    else "not measurable here"
                )
                print(
                    f"checkout: {level:>2} register(s), CPU time of the bench's clients "
                    f"{client_cpu * 1000 / len(requests):.2f} ms per request; of PostgreSQL's backends for "
                    f"this database (backends that ended meanwhile not counted) {database_cpu}"
                )
                print(
                    "checkout: "
                    + f"{level:>2} register(s), HTTP p50 by request: "
                    + ", ".join(
                        f"{kind} {statistics.median(durations) * 1000:.1f} ms"
                        for kind, durations in kinds.items()
                    )
                )
        finally:
            process.terminate()
            process.wait(timeout=30)
