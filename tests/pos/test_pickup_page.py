"""The staff page of the day's pickup orders: listed for the store, cancelled with a reason."""

from decimal import Decimal as D

import pytest

from inventory.models import Package
from pos.models import PickupOrder
from pos.services.pickup import pickup_order_create
from tests.factories import CustomerFactory, StoreFactory, UserFactory
from tests.inventory.factories import receive

pytestmark = pytest.mark.django_db

PAGE = "/pos/pickups/"


@pytest.fixture
def order(store, product, package):
    customer = CustomerFactory(organization=store.organization, first_name="Grace", last_name="Hopper")
    return pickup_order_create(
        store=store,
        customer=customer,
        customer_type="adult_use",
        lines=[(product.pk, 2)],
        idempotency_key="o1",
    )


def test_budtenders_see_the_days_orders_with_a_cancel_form(client, budtender, order, package):
    client.force_login(budtender)
    response = client.get(PAGE)

    assert response.status_code == 200
    content = response.content.decode()
    assert f'id="pickup-{order.pk}"' in content
    assert "Grace H." in content and package.tag in content
    assert f'action="/pos/pickups/{order.pk}/cancel/"' in content


def test_cancel_releases_the_stock(client, budtender, order, package):
    client.force_login(budtender)
    response = client.post(f"/pos/pickups/{order.pk}/cancel/", {"reason": "No show"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert Package.objects.get(pk=package.pk).quantity_allocated == D("0")


def test_a_missing_reason_or_a_closed_order_changes_nothing(client, budtender, order, package):
    client.force_login(budtender)
    response = client.post(f"/pos/pickups/{order.pk}/cancel/", {"reason": ""})
    assert response.status_code == 400
    assert PickupOrder.objects.get(pk=order.pk).status == "reserved"
    client.post(f"/pos/pickups/{order.pk}/cancel/", {"reason": "No show"})
    again = client.post(f"/pos/pickups/{order.pk}/cancel/", {"reason": "Twice"})
    assert again.status_code == 400
    assert "This pickup order is cancelled." in again.content.decode()


def test_other_stores_orders_are_404_and_drivers_403(client, organization, order, product):
    elsewhere = StoreFactory(organization=organization)
    receive(elsewhere, product, 1)
    budtender_elsewhere = UserFactory(organization=organization, roles=["budtender"], stores=[elsewhere])
    client.force_login(budtender_elsewhere)
    assert f'id="pickup-{order.pk}"' not in client.get(PAGE).content.decode()
    assert client.post(f"/pos/pickups/{order.pk}/cancel/", {"reason": "x"}).status_code == 404
    driver = UserFactory(organization=organization, roles=["driver"], stores=[order.store])
    client.force_login(driver)
    assert client.get(PAGE).status_code == 403
    assert client.post(f"/pos/pickups/{order.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert PickupOrder.objects.get(pk=order.pk).status == "reserved"
