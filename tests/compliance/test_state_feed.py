from decimal import Decimal

import pytest

from compliance.state_feed import StateUnavailable, count_state_quantities_fill, state_transfers_import
from compliance.traceability.base import TransientFailure
from compliance.traceability.metrc import MetrcProvider
from compliance.traceability.simulator import MetrcSimulator
from dispensary.models import AuditRecord
from inventory.models import IncomingTransfer
from inventory.services.counts import count_open
from tests.inventory.factories import ProductFactory, receive

pytestmark = pytest.mark.django_db
VENDOR, USER = "vendor-key", "user-key"
T1, T2 = "1A4FF0100000022000000501", "1A4FF0100000022000000502"


@pytest.fixture
def simulator(store):
    sim = MetrcSimulator()
    sim.add_credentials(VENDOR, USER)
    sim.add_facility(store.license_adult_use, jurisdiction=store.jurisdiction, user_keys=[USER])
    sim.set_faults(get_rate_limit=None)
    return sim


def provider(store, sim):
    return MetrcProvider(
        base_url="http://simulator.invalid",
        vendor_key=VENDOR,
        user_key=USER,
        license_number=store.license_adult_use,
        transport=sim.transport(),
        timeout=1,
    )


class Unreachable:
    def incoming_transfers(self):
        raise TransientFailure("connection refused")

    def active_packages(self):
        raise TransientFailure("connection refused")


def test_incoming_manifests_from_the_state_become_pending_transfers(store, organization, simulator, manager):
    ProductFactory(organization=organization, state_item_name="Gelato 3.5g")
    simulator.seed_transfer(
        store.license_adult_use,
        "0000777001",
        shipper_license="C11-0000009-LIC",
        shipper_name="Valley Farms",
        packages=[
            {"label": T1, "item": "Gelato 3.5g", "quantity": 24, "unit": "Each"},
            {
                "label": T2,
                "item": "Mystery item",
                "quantity": 6,
                "unit": "Each",
                "lab_testing_state": "TestFailed",
            },
        ],
    )
    created = state_transfers_import(store=store, actor=manager, provider=provider(store, simulator))
    assert [t.manifest_number for t in created] == ["0000777001"]
    transfer = IncomingTransfer.objects.get()
    assert (transfer.source, transfer.shipper_name, transfer.status) == ("state", "Valley Farms", "pending")
    lines = {line.tag: line for line in transfer.lines.select_related("product")}
    assert lines[T1].product.state_item_name == "Gelato 3.5g" and lines[T1].expected_quantity == Decimal(24)
    assert lines[T2].product is None and lines[T2].lab_status == "failed"
    assert AuditRecord.objects.get(action="transfer.imported").after["source"] == "state"
    # Asking again adds nothing.
    assert state_transfers_import(store=store, actor=manager, provider=provider(store, simulator)) == []
    assert IncomingTransfer.objects.count() == 1


def test_an_unreachable_state_says_so_and_writes_nothing(store, manager):
    with pytest.raises(StateUnavailable):
        state_transfers_import(store=store, actor=manager, provider=Unreachable())
    assert IncomingTransfer.objects.count() == 0


def test_count_sheet_gets_the_state_quantities(store, organization, simulator, manager):
    product = ProductFactory(organization=organization)
    known = receive(store, product, 10)
    unknown = receive(store, product, 4)
    simulator.seed_package(store.license_adult_use, known.tag, 9, "Each", product.name)
    count = count_open(store=store, scope="full", actor=manager)
    assert count_state_quantities_fill(count=count, actor=manager, provider=provider(store, simulator)) == 2
    state = {line.package_id: line.state_quantity for line in count.lines.all()}
    assert state == {known.pk: Decimal(9), unknown.pk: Decimal(0)}
    with pytest.raises(StateUnavailable):
        count_state_quantities_fill(count=count, actor=manager, provider=Unreachable())
    assert {line.package_id: line.state_quantity for line in count.lines.all()} == state


def test_pages_fetch_and_fill(client, store, manager, monkeypatch, simulator):
    from compliance.traceability import registry

    monkeypatch.setattr(
        registry, "provider_for_store", lambda for_store, **kw: provider(for_store, simulator)
    )
    client.force_login(manager)
    response = client.post("/compliance/state/transfers/fetch/", follow=True)
    assert response.status_code == 200
    assert b"no new incoming manifests" in response.content
    count = count_open(store=store, scope="full", actor=manager)
    response = client.post(f"/compliance/state/counts/{count.pk}/fill/", follow=True)
    assert response.status_code == 200
    assert client.get("/compliance/state/transfers/fetch/").status_code == 405


def test_budtender_cannot_fetch(client, budtender):
    client.force_login(budtender)
    assert client.post("/compliance/state/transfers/fetch/").status_code == 403
