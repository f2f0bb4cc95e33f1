"""Every inventory page renders for a manager (a smoke test of the templates) and is guarded: anonymous members
are sent to sign in, drivers get 403."""

import pytest

from inventory.models import IncomingTransfer, InventoryCount, Recall
from inventory.services.counts import count_open
from inventory.services.recalls import recall_open
from tests.inventory.factories import receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def urls(store, product, manager, organization):
    package = receive(store, product, 5, harvest_batch="HB-1")
    transfer = IncomingTransfer.objects.create(
        store=store, manifest_number="M-1", shipper_license="L-1", shipper_name="Grower"
    )
    count = count_open(store=store, scope=InventoryCount.Scope.FULL, actor=manager)
    recall = recall_open(
        organization=organization,
        criterion=Recall.Criterion.TAG,
        value=package.tag,
        reason="Mould",
        actor=manager,
    )
    return [
        "/inventory/",
        f"/inventory/packages/{package.pk}/",
        "/inventory/receiving/",
        f"/inventory/receiving/{transfer.pk}/",
        "/inventory/waste/",
        "/inventory/counts/",
        f"/inventory/counts/{count.pk}/",
        f"/inventory/counts/{count.pk}/review/",
        "/inventory/recalls/",
        f"/inventory/recalls/{recall.pk}/",
        f"/inventory/recalls/{recall.pk}/stock.csv",
        f"/inventory/recalls/{recall.pk}/sold.csv",
    ]


def test_manager_opens_every_page(client, login, staff, urls):
    login(staff("manager"))
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_anonymous_is_sent_to_login(client, urls):
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"/login/?next={url}"


def test_driver_gets_403_everywhere(client, login, staff, urls):
    login(staff("driver"))
    for url in urls:
        assert client.get(url).status_code == 403, url
