# ruff: noqa: F811 - the fixtures imported are parameters of the test
"""The trip return in a real Chromium, at 1280x800 and on a 390x844 phone: two stops delivered, one back; the
manager counts the cash and ends the trip; the page shows the short amount and the goods back in stock.
Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import os
from pathlib import Path

import pytest

from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.closing_fixtures import deliver_two_return_one, road, road_stock  # noqa: F401 - fixtures
from tests.delivery.order_fixtures import local, now, product, zone  # noqa: F401 - fixtures
from tests.delivery.trip_fixtures import organization, simulator, store  # noqa: F401 - fixtures
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))


def test_a_manager_ends_a_trip_with_the_cash_counted(live_server, browser, store, simulator, road, clock):
    deliver_two_return_one(road)
    UserFactory(organization=store.organization, username="maria", roles=["manager"], stores=[store])
    clock.move_to(local(16, 30), tick=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/delivery/trips/{road['trip'].pk}/")
    assert "Expected in the drawer" in page.locator("#trip-return").inner_text()
    page.screenshot(path=str(SHOTS / "trip-return-1280.png"), full_page=True)
    page.fill("#counted-cash", "100")
    page.get_by_role("button", name="End trip").click()
    page.wait_for_load_state("networkidle")
    text = page.locator("#trip-return").inner_text()
    assert "Back at the store" in text and "back in stock" in text
    assert "Short $" in text
    page.screenshot(path=str(SHOTS / "trip-returned-1280.png"), full_page=True)
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(phone, live_server.url, "maria")
    phone.goto(f"{live_server.url}/delivery/trips/{road['trip'].pk}/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SHOTS / "trip-returned-390.png"), full_page=True)
