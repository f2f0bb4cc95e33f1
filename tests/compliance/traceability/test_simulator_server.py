"""The simulator as a real HTTP server on loopback, in a thread and as `manage.py metrc_simulator`."""

import datetime as dt
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from compliance.traceability import metrc
from compliance.traceability.base import Operation, Rejected, TransientFailure
from compliance.traceability.simulator import (
    DEFAULT_USER_KEY,
    DEFAULT_VENDOR_KEY,
    MetrcSimulator,
    serve_in_thread,
)
from tests.compliance.traceability.conftest import CA_LICENSE, LA, SALE_AT, USER, VENDOR


@pytest.fixture
def server():
    simulator = MetrcSimulator(seed=3)
    simulator.add_credentials(VENDOR, USER)
    simulator.add_facility(CA_LICENSE, jurisdiction="US-CA", user_keys=[USER])
    for n in range(25):
        simulator.seed_package(CA_LICENSE, f"TAG-{n:02d}", 10, "Grams", "Flower")
    http_server, thread, url = serve_in_thread(simulator)
    yield simulator, url
    http_server.shutdown()
    http_server.server_close()
    thread.join(timeout=5)


def over_http(url, **overrides):
    options = {"base_url": url, "vendor_key": VENDOR, "user_key": USER, "license_number": CA_LICENSE,
               "jurisdiction": "US-CA", "timeout": 2.0, "backoff_base": 0.01}  # fmt: skip
    return metrc.MetrcProvider(**{**options, **overrides})


def test_the_provider_over_a_real_socket(server):
    simulator, url = server
    provider = over_http(url)
    sales = [
        metrc.receipt_object(
            SALE_AT, LA, "adult_use", transactions=[metrc.transaction_object(f"TAG-{n:02d}", 2, "g", 20)]
        )
        for n in range(12)
    ]
    assert len(provider.submit(Operation.SALES_RECEIPT_CREATE, sales).ids) == 12
    packages = provider.active_packages()
    assert len(packages) == 25
    assert {p.quantity for p in packages if p.label < "TAG-12"} == {Decimal(8)}
    simulator.set_faults(fail_every=2)
    assert len(provider.adjustment_reasons()) == 5  # a 500 on the way, retried
    with pytest.raises(Rejected) as caught:
        over_http(url, user_key="nope").active_packages()
    assert caught.value.status_code == 401


def test_a_timeout_over_a_real_socket(server):
    simulator, url = server
    simulator.set_faults(timeout_every=1, timeout_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(TransientFailure, match="within 0.2s"):
        over_http(url, timeout=0.2, max_attempts=1).active_packages()
    assert time.monotonic() - started < 1.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_management_command_serves_until_stopped():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "metrc_simulator",
            "--port",
            str(port),
            "--license",
            "C10-0000777-LIC:US-CA",
        ],
        cwd=Path(settings.BASE_DIR),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a loaded CI machine starts Django slowly
        while True:
            try:
                httpx.get(url, timeout=0.5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.2)
        provider = metrc.MetrcProvider(
            base_url=url, vendor_key=DEFAULT_VENDOR_KEY, user_key=DEFAULT_USER_KEY,
            license_number="C10-0000777-LIC", timeout=2.0,
        )  # fmt: skip
        assert provider.active_packages(modified_since=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)) == []
        assert [r.name for r in provider.adjustment_reasons()][-1] == "Waste"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.mark.django_db
def test_seed_demo_loads_every_active_stores_packages(store, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    from compliance.traceability.simulator import ThreadingWSGIServer
    from tests.inventory.factories import ProductFactory, receive

    receive(store, ProductFactory(organization=store.organization), 12)
    receive(store, ProductFactory(organization=store.organization), 5)

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ThreadingWSGIServer, "serve_forever", interrupted)
    out = StringIO()
    call_command("metrc_simulator", "--port", "0", "--seed-demo", stdout=out)
    assert f"{store.code} (US-CA): 2 packages" in out.getvalue()
    assert store.license_adult_use in out.getvalue()
    assert out.getvalue().rstrip().endswith("stopped")
