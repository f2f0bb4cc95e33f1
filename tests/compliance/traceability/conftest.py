"""A simulator with one California and one Michigan facility, and providers speaking to it in process."""

import datetime as dt
from decimal import Decimal

import pytest

from compliance.traceability.metrc import MetrcProvider
from compliance.traceability.simulator import MetrcSimulator

VENDOR = "vendor-key-1"
USER = "user-key-1"
CA_LICENSE = "C10-0000001-LIC"
MI_LICENSE = "AU-R-000001"
LA = "America/Los_Angeles"
SALE_AT = dt.datetime(2025, 3, 1, 22, 5, tzinfo=dt.UTC)  # 14:05 in Los Angeles


class FakeClock:
    """Monotonic time the simulator's rate limit reads, moved by the provider's backoff sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def simulator(clock):
    sim = MetrcSimulator(seed=7, clock=clock, sleep=clock.sleep)
    sim.add_credentials(VENDOR, USER)
    sim.add_facility(CA_LICENSE, jurisdiction="US-CA", name="Mission Street", user_keys=[USER])
    sim.add_facility(MI_LICENSE, jurisdiction="US-MI", name="Woodward Ave", user_keys=[USER])
    sim.seed_package(CA_LICENSE, "TAG-FLOWER", Decimal("28"), "Grams", "Blue Dream")
    sim.seed_package(CA_LICENSE, "TAG-CART", 10, "Each", "Vape cart 1g")
    return sim


def make_provider(simulator, clock, license_number=CA_LICENSE, **overrides) -> MetrcProvider:
    options = {
        "base_url": "http://metrc.test",
        "vendor_key": VENDOR,
        "user_key": USER,
        "license_number": license_number,
        "jurisdiction": "US-CA" if license_number == CA_LICENSE else "US-MI",
        "transport": simulator.transport(),
        "sleep": clock.sleep,
        **overrides,
    }
    return MetrcProvider(**options)


@pytest.fixture
def provider(simulator, clock):
    return make_provider(simulator, clock)
