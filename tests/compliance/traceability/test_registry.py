"""provider_for_store: the real Metrc when a store's keys are configured, else the simulator."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from compliance.traceability import metrc, registry
from compliance.traceability.base import Operation
from compliance.traceability.simulator import DEFAULT_USER_KEY, DEFAULT_VENDOR_KEY
from inventory.models import Package
from inventory.services.waste import package_waste
from tests.factories import UserFactory
from tests.inventory.factories import ProductFactory, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_simulator():
    registry.reset_shared_simulator()
    yield
    registry.reset_shared_simulator()


def metrc_settings(settings, **changes):
    settings.METRC = {**settings.METRC, **changes}


def auth_of(provider):
    return provider._client.auth._auth_header


def test_without_keys_a_store_gets_the_in_process_simulator_seeded_with_its_packages(settings, store):
    metrc_settings(settings, VENDOR_KEY="", USER_KEYS={}, SIMULATOR_URL="")
    flower = receive(
        store,
        ProductFactory(organization=store.organization, sold_by="g"),
        Decimal("28"),
        lab_status="passed",
    )
    provider = registry.provider_for_store(store)

    assert provider.license_number == store.license_adult_use
    assert [(p.label, p.quantity, p.unit_of_measure) for p in provider.active_packages()] == [
        (flower.tag, Decimal(28), "Grams")
    ]
    sale = metrc.receipt_object(
        dt.datetime(2025, 3, 1, 22, 5, tzinfo=dt.UTC), store.time_zone, "adult_use",
        transactions=[metrc.transaction_object(flower.tag, "3.5", "g", 45)],
    )  # fmt: skip
    provider.submit(Operation.SALES_RECEIPT_CREATE, [sale])
    again = registry.provider_for_store(store)  # the same simulator, seeded once
    assert {p.label: p.quantity for p in again.active_packages()} == {flower.tag: Decimal("24.5")}


def test_a_package_received_later_is_known_with_its_received_quantity(settings, store):
    metrc_settings(settings, VENDOR_KEY="", USER_KEYS={}, SIMULATOR_URL="")
    provider = registry.provider_for_store(store)
    product = ProductFactory(organization=store.organization)
    later = receive(store, product, 10)
    package_waste(package=later, quantity=Decimal(2), reason="damaged", actor=None)  # not reported yet
    assert Package.objects.get(pk=later.pk).quantity_on_hand == 8
    waste = metrc.adjustment_object(later.tag, -2, "each", "Waste", dt.date(2025, 3, 1))
    provider.submit(
        Operation.PACKAGE_ADJUST, [waste]
    )  # the queue reports it: the state agrees with the ledger
    assert registry.shared_simulator().package(store.license_adult_use, later.tag).quantity == 8


def test_keys_switch_a_store_to_the_real_service(settings, store):
    employee = UserFactory(organization=store.organization, username="maria")
    metrc_settings(
        settings,
        VENDOR_KEY="vendor-secret",
        USER_KEYS={store.code: {"key": "store-secret", "employees": {"maria": "maria-secret"}}},
        TIMEOUT_SECONDS=7.5,
    )
    provider = registry.provider_for_store(store)
    assert str(provider._client.base_url) == "https://api-ca.metrc.com"
    assert provider._client.timeout.read == 7.5
    assert (
        provider._client.auth._auth_header
        == registry.MetrcProvider(
            base_url="x", vendor_key="vendor-secret", user_key="store-secret", license_number="L"
        )._client.auth._auth_header
    )
    as_maria = registry.provider_for_store(store, employee=employee)
    assert (
        as_maria._client.auth._auth_header
        == registry.MetrcProvider(
            base_url="x", vendor_key="vendor-secret", user_key="maria-secret", license_number="L"
        )._client.auth._auth_header
    )
    assert registry.shared_simulator().facilities == {}  # nothing went to the simulator


def test_organization_scoped_keys_and_unknown_jurisdictions(settings, store):
    metrc_settings(settings, VENDOR_KEY="v", USER_KEYS={f"{store.organization.slug}/{store.code}": "u"})
    assert registry.user_key_for(store) == "u"
    store.jurisdiction = "US-IL"
    with pytest.raises(ImproperlyConfigured):
        registry.provider_for_store(store)


def test_a_simulator_url_points_every_keyless_store_at_a_running_simulator(settings, store):
    metrc_settings(settings, VENDOR_KEY="", USER_KEYS={}, SIMULATOR_URL="http://127.0.0.1:8765")
    provider = registry.provider_for_store(store)
    assert str(provider._client.base_url) == "http://127.0.0.1:8765"
    assert (
        provider._client.auth._auth_header
        == registry.MetrcProvider(
            base_url="x", vendor_key=DEFAULT_VENDOR_KEY, user_key=DEFAULT_USER_KEY, license_number="L"
        )._client.auth._auth_header
    )
