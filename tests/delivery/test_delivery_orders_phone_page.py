# ruff: noqa: F811 - the fixtures imported from order_fixtures are parameters of the tests
"""The phone order screen: staff find the customer by phone (the read is logged), pick products and place a
pickup or a delivery order with the channel `phone`; a refusal shows each rule's reason and places nothing."""

from decimal import Decimal as D

import pytest
from django.test import Client

from delivery.models import DeliveryOrder
from dispensary.models import AuditRecord
from pos.models import PickupOrder
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    INSIDE,
    OUTSIDE,
    customer,
    home,
    now,
    package,
    product,
    zone,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/delivery/phone-order/"


@pytest.fixture
def caller(budtender):
    client = Client()
    client.force_login(budtender)
    return client


@pytest.fixture
def phoned(customer):
    customer.phone = "+14155550134"
    customer.save(update_fields=["phone"])
    return customer


def order_data(product, **changes):
    return {
        "phone": "(415) 555-0134",
        "key": "phone-1",
        "customer_type": "adult_use",
        "fulfilment": "delivery",
        "product_1": product.pk,
        "quantity_1": "2",
        "address": "",
        "line1": "9 Oak St",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94102",
        "latitude": str(INSIDE["latitude"]),
        "longitude": str(INSIDE["longitude"]),
        "day": "2026-03-10",
        "window_start": "14:00",
        "window_end": "15:00",
        "note": "",
        **changes,
    }


def test_staff_find_the_customer_by_phone_and_the_read_is_logged(
    now, caller, phoned, budtender, product, package
):
    page = caller.get(URL, {"phone": "415.555.0134"})

    assert page.status_code == 200
    assert phoned.first_name in page.content.decode()
    assert product.name in page.content.decode()
    assert AuditRecord.objects.filter(action="customer.viewed", object_id=str(phoned.pk)).count() == 1
    missing = caller.get(URL, {"phone": "415 555 0199"})
    assert "No customer has this phone number" in missing.content.decode()


def test_a_delivery_order_taken_by_phone(now, caller, phoned, zone, product, package, budtender):
    response = caller.post(f"{URL}?phone=4155550134", order_data(product))

    assert response.status_code == 302, response.content.decode()
    delivery = DeliveryOrder.objects.get()
    assert (
        delivery.order.channel,
        delivery.order.fulfilment,
        delivery.order.created_by_id,
        delivery.fee,
    ) == (
        "phone",
        "delivery",
        budtender.pk,
        D("4.99"),
    )
    shown = caller.get(response["Location"]).content.decode()
    assert f"Delivery order {delivery.order_id} placed" in shown


def test_a_pickup_order_taken_by_phone(now, caller, phoned, product, package):
    response = caller.post(URL, order_data(product, fulfilment="pickup", line1="", latitude="", longitude=""))

    assert response.status_code == 302
    order = PickupOrder.objects.get()
    assert (order.channel, order.fulfilment) == ("phone", "pickup")


def test_a_refused_delivery_shows_the_rules_reasons_and_places_nothing(
    now, caller, phoned, zone, product, package
):
    response = caller.post(
        URL,
        order_data(
            product,
            latitude=str(OUTSIDE["latitude"]),
            longitude=str(OUTSIDE["longitude"]),
            window_end="21:30",
        ),
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "The order was not placed" in page
    assert "outside every delivery zone" in page
    assert "is open 9:00 AM" in page
    assert (PickupOrder.objects.count(), DeliveryOrder.objects.count()) == (0, 0)


def test_missing_delivery_fields_are_field_errors(now, caller, phoned, zone, product, package):
    response = caller.post(URL, order_data(product, day="", latitude=""))

    assert response.status_code == 400
    assert response.content.decode().count("Required for a") == 2
    assert PickupOrder.objects.count() == 0


def test_staff_without_the_permission_are_refused(now, organization, store, phoned):
    client = Client()
    client.force_login(UserFactory(organization=organization, roles=["driver"], stores=[store]))
    assert client.get(URL, {"phone": "4155550134"}).status_code == 403
