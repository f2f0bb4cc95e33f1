# ruff: noqa: F811 - the browser fixture imported from test_web_shell is a parameter of the test
"""The phone order screen in a real Chromium at 1280x800 and on a 390x844 phone: a budtender finds the customer by
phone, picks a product, books a delivery with an address and a window, and places it."""

import datetime as dt
from decimal import Decimal as D

import pytest

from delivery.models import DeliveryOrder
from delivery.services import delivery_zone_create
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.helpers import square
from tests.delivery.order_fixtures import INSIDE, NOW
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive

pytestmark = [
    pytest.mark.skipif(
        not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def shop(shipped_rules):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    UserFactory(organization=organization, username="ben", roles=["budtender"], stores=[store])
    delivery_zone_create(
        store=store,
        actor=None,
        name="City",
        geometry=square(37.70, -122.52, 37.82, -122.35),
        minimum_order="40",
        fee="4.99",
        estimated_minutes=35,
    )
    product = ProductFactory(organization=organization, name="Blue Dream 3.5g", price=D("45.00"))
    ProductLimitAmountFactory(product=product, bucket="flower_g", amount=D("3.5"))
    receive(store, product, 10)
    CustomerFactory(
        organization=organization,
        first_name="Ada",
        last_name="Lovelace",
        phone="+14155550134",
        date_of_birth=dt.date(1990, 5, 17),
        home_store=store,
    )
    return store, product


@pytest.mark.parametrize("size", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_a_budtender_places_a_delivery_order_taken_by_phone(
    clock,
    live_server,
    browser,
    shop,
    size,
    tmp_path,  # noqa: F811
):
    clock.move_to(NOW, tick=True)
    store, product = shop
    page = browser.new_page(viewport=size)
    log_in(page, live_server.url, "ben")
    page.goto(f"{live_server.url}/delivery/phone-order/")
    page.fill("#phone", "(415) 555-0134")
    page.get_by_role("button", name="Find customer").click()
    page.wait_for_selector("text=Ada Lovelace")
    page.check("input[name=fulfilment][value=delivery]")
    page.select_option("#id_product_1", str(product.pk))
    page.fill("#id_quantity_1", "2")
    page.fill("#id_line1", "9 Oak St")
    page.fill("#id_city", "San Francisco")
    page.fill("#id_region", "CA")
    page.fill("#id_postal_code", "94102")
    page.fill("#id_latitude", str(INSIDE["latitude"]))
    page.fill("#id_longitude", str(INSIDE["longitude"]))
    page.fill("#id_day", "2026-03-10")
    page.fill("#id_window_start", "14:00")
    page.fill("#id_window_end", "15:00")
    page.screenshot(path=str(tmp_path / f"phone-order-{size['width']}-filled.png"), full_page=True)
    page.get_by_role("button", name="Place order").click()
    page.wait_for_selector("text=placed")

    delivery = DeliveryOrder.objects.get()
    assert f"Delivery order {delivery.order_id} placed" in page.locator("body").inner_text()
    assert delivery.order.channel == "phone"
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.screenshot(path=str(tmp_path / f"phone-order-{size['width']}-placed.png"), full_page=True)
