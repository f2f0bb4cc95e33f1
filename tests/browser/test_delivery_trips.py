"""The trip page in a real Chromium: a manager at 1280x800 sees a trip the state refused, with the state's words
and the retry, and no departure; the manager's dashboard lists it at once; the trip's driver reads it on a
390x844 phone without buttons. Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import os
from decimal import Decimal as D
from pathlib import Path

import pytest

from delivery.models import Trip
from delivery.services import delivery_zone_create
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.helpers import square
from tests.delivery.order_fixtures import NOW
from tests.delivery.trip_fixtures import make_trip, place_order, stocked
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))
REFUSAL = "Package 1A4FF0100000022000000123 is on retailer delivery 41."


@pytest.fixture
def refused_trip(shipped_rules, clock):
    clock.move_to(NOW, tick=True)
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    maria = UserFactory(organization=organization, username="maria", roles=["manager"], stores=[store])
    delivery_zone_create(
        store=store,
        actor=maria,
        name="City",
        geometry=square(37.70, -122.52, 37.82, -122.35),
        minimum_order="40",
        fee="4.99",
        estimated_minutes=35,
    )
    product = ProductFactory(organization=organization, name="Blue Dream 3.5g", price=D("45.00"))
    ProductLimitAmountFactory(product=product, bucket="flower_g", amount=D("3.5"))
    stocked(store, product, None)
    orders = [
        place_order(store, product, first_name="Alice", last_name="Doe"),
        place_order(store, product, first_name="Bob", last_name="Roe", quantity=2, hour=15, line1="9 Elm St"),
    ]
    trip = make_trip(store, orders)
    trip.driver.user.username = "sam"
    trip.driver.user.save(update_fields=["username"])
    Trip.objects.filter(pk=trip.pk).update(status="sent", state_status="failed", state_message=REFUSAL)
    return trip


def test_a_manager_sees_the_refusal_and_the_dashboard_lists_it(live_server, browser, refused_trip):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/delivery/trips/{refused_trip.pk}/")
    body = page.locator("body").inner_text()
    assert "Refused by the state" in body and REFUSAL in body
    assert page.get_by_role("button", name="Send to the state again").is_visible()
    assert page.get_by_role("button", name="Depart").count() == 0
    page.screenshot(path=str(SHOTS / "trip-refused-1280.png"), full_page=True)
    page.goto(f"{live_server.url}/dashboard/")
    assert REFUSAL in page.locator(".dashboard-trips").inner_text()
    page.screenshot(path=str(SHOTS / "dashboard-refused-trip-1280.png"), full_page=True)
    page.get_by_role("button", name="Send to the state again").click()
    page.wait_for_load_state("networkidle")
    assert "The trip's records were sent to the state again." in page.locator("body").inner_text()


def test_the_driver_reads_the_trip_on_a_phone(live_server, browser, refused_trip):  # noqa: F811
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(page, live_server.url, "sam")
    page.goto(f"{live_server.url}/delivery/trips/{refused_trip.pk}/")
    body = page.locator("body").inner_text()
    assert "Alice Doe" in body and "9 Elm St" in body
    assert page.get_by_role("button", name="Send to the state again").count() == 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    page.screenshot(path=str(SHOTS / "trip-driver-390.png"), full_page=True)
