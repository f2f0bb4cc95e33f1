# ruff: noqa: F811 - the fixtures imported from the delivery and messaging tests are parameters of the tests
"""The customer's tracking page in a real Chromium, with no tile server: on a 390x844 phone the customer the
driver is heading to sees the driver and their address drawn on the map; the next customer, at 1280x800, sees
the status and the estimate and no map. The page refreshes itself: once the first stop is delivered its page
turns to Delivered with the receipt and the map is gone. Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import os
from pathlib import Path

import pytest

from delivery import views_tracking
from delivery.tracking_links import tracking_token
from tests.browser.test_web_shell import CHROMIUM, browser  # noqa: F401 - the browser fixture
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import local, now, package, product, zone  # noqa: F401 - fixtures
from tests.delivery.test_driver_app import GOOD_ID, PROOF, send
from tests.messaging.delivery_helpers import green_leaf, outboxes, road  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))


def test_the_map_only_for_the_customer_the_driver_is_heading_to(
    live_server, browser, road, outboxes, clock, monkeypatch, settings
):
    settings.DELIVERY_MAP_TILE_URL = ""
    monkeypatch.setattr(views_tracking, "REFRESH_SECONDS", 1)
    first, second, _ = list(road["trip"].stops.order_by("sequence"))
    clock.move_to(local(13, 30))
    road["depart"](local(13, 30))
    clock.move_to(local(13, 35))
    send(road["dana"].user, "position", trip=road["trip"], latitude="37.755", longitude="-122.440")
    clock.move_to(local(13, 36), tick=True)

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/delivery/t/{tracking_token(first.order_id)}/")
    assert phone.locator("[data-headline]").inner_text() == "On the way to you"
    assert phone.locator("[data-eta]").inner_text().startswith("Expected around ")
    phone.wait_for_selector("#trk-map .trk-driver")
    assert phone.locator("#trk-map path.leaflet-interactive").count() >= 2  # the address and the line to it
    assert phone.locator(".leaflet-tile").count() == 0  # vectors on a plain background
    assert "Dana" in phone.locator("#trk-map").inner_text()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    phone.screenshot(path=str(SHOTS / "tracking-on-the-way-390.png"), full_page=True)

    desk = browser.new_page(viewport={"width": 1280, "height": 800})
    desk.goto(f"{live_server.url}/delivery/t/{tracking_token(second.order_id)}/")
    assert desk.locator("[data-headline]").inner_text() == "On the road"
    assert desk.locator("[data-map-wrap]").is_hidden()
    assert desk.locator(".trk-driver").count() == 0
    desk.screenshot(path=str(SHOTS / "tracking-on-the-road-1280.png"), full_page=True)

    # The hand-over at Ada's door: her page refreshes itself to Delivered, with the receipt and no map.
    dana = road["dana"].user
    send(dana, "arrived", first)
    send(dana, "id_checked", first, **GOOD_ID)
    send(dana, "proof", first, **PROOF)
    send(dana, "delivered", first, collected="60.00")
    phone.locator(".trk__status--delivered").wait_for(timeout=15000)
    assert phone.locator("[data-headline]").inner_text() == "Delivered"
    assert phone.locator(".trk-driver").count() == 0
    assert phone.locator(".trk__receipt").is_visible()
    phone.screenshot(path=str(SHOTS / "tracking-delivered-390.png"), full_page=True)
    # And Bob's page now shows the driver heading to him.
    desk.wait_for_selector("#trk-map .trk-driver", timeout=15000)
    assert desk.locator("[data-headline]").inner_text() == "On the way to you"
    desk.screenshot(path=str(SHOTS / "tracking-on-the-way-1280.png"), full_page=True)
