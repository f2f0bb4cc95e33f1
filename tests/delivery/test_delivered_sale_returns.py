# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""A sale handed over at a door and reported to the state as part of a delivery record (California's retailer
delivery sale, another state's sales delivery completion) is not a receipt at the state, and Metrc's API v2
offers no call that voids or amends it once the vehicle left or the delivery was completed: the register
refuses its void and refund in plain words before anything changes, and no request goes to the state. The sale
page offers neither and says why."""

from decimal import Decimal as D

import pytest
from django.test import Client

from compliance.models import SyncRecord
from delivery.models import StopVisit
from dispensary.models import OutboxEvent
from inventory.models import Package
from inventory.selectors import ledger_mismatch_list
from pos.errors import SaleChangeRefused
from pos.models import Refund, Sale
from pos.services import sale_refund, sale_void
from pos.services.pins import manager_pin_set
from tests.delivery.closing_fixtures import deliver_two_return_one, road, road_stock  # noqa: F401
from tests.delivery.order_fixtures import now, product, zone  # noqa: F401 - fixtures
from tests.delivery.trip_fixtures import organization, simulator, store  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

RETAILER_WORDS = (
    "This sale was handed over on delivery trip {trip} and reported to the state as a sale from the vehicle's "
    "delivery record. Metrc cannot void or change a sale made from a delivery vehicle, so this sale cannot be "
    "{done} here and nothing was changed. Ask the compliance officer to have the state's record corrected in "
    "Metrc first."
)
SALES_WORDS = (
    "This sale was handed over on delivery trip {trip} and reported to the state as a completed delivery. "
    "Metrc cannot void or change a delivery once it is completed, so this sale cannot be {done} here and "
    "nothing was changed. Ask the compliance officer to have the state's record corrected in Metrc first."
)


def snapshot(simulator, store):
    return (
        list(Sale.objects.order_by("pk").values_list("status", "refunded_total")),
        Refund.objects.count(),
        list(Package.objects.order_by("pk").values_list("quantity_on_hand", "quantity_allocated")),
        SyncRecord.objects.count(),
        OutboxEvent.objects.filter(name__in=("SaleVoided", "SaleRefunded")).count(),
        len(simulator.requests),
    )


def alices_sale(road) -> Sale:
    deliver_two_return_one(road)
    return StopVisit.objects.get(stop=road["stops"][0]).sale


@pytest.mark.parametrize(
    ("store", "words"), [("US-CA", RETAILER_WORDS), ("US-MI", SALES_WORDS)], indirect=["store"]
)
def test_a_delivered_sale_is_neither_voided_nor_refunded_and_nothing_changes(
    store, manager, simulator, road, words
):
    sale = alices_sale(road)
    kinds = set(SyncRecord.objects.values_list("kind", flat=True))
    assert "sales_receipt.create" not in kinds  # reported as a delivery, never as a receipt
    before = snapshot(simulator, store)
    with pytest.raises(SaleChangeRefused) as voided:
        sale_void(sale=sale, actor=manager, approver=manager)
    assert voided.value.message == words.format(trip=road["trip"].pk, done="voided")
    line = sale.lines.get()
    with pytest.raises(SaleChangeRefused) as refunded:
        sale_refund(
            sale=sale,
            lines=[(line, D("1"), True)],
            reason="Changed their mind",
            actor=manager,
            approver=manager,
        )
    assert refunded.value.message == words.format(trip=road["trip"].pk, done="refunded")
    assert snapshot(simulator, store) == before
    assert ledger_mismatch_list(store=store) == []


def test_the_sale_page_offers_no_void_nor_refund_and_says_why(store, manager, simulator, road):
    sale = alices_sale(road)
    manager_pin_set(user=manager, pin="4821", actor=manager)
    client = Client()
    client.force_login(manager)
    page = client.get(f"/pos/sales/{sale.pk}/")
    assert page.status_code == 200
    assert page.context["void_form"] is None and page.context["refund_form"] is None
    text = page.content.decode()
    assert RETAILER_WORDS.format(trip=road["trip"].pk, done="voided").replace("'", "&#x27;") in text
    # A form sent anyway (an old page) is refused with the same words, and nothing changes.
    before = snapshot(simulator, store)
    refused = client.post(f"/pos/sales/{sale.pk}/void/", {"void-manager_pin": "4821"})
    assert refused.status_code == 200
    assert "cannot be voided here and nothing was changed" in refused.content.decode()
    assert snapshot(simulator, store) == before
