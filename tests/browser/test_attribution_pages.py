# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The message results page and the customer's coupon page in a real Chromium, at 1280x800 and on a 390x844
phone: every chart drawn by the vendored Chart.js under the page's Content-Security-Policy, nothing spilling
sideways, nothing on the console; the coupon's QR code and barcode shown. Screenshots go to
$BROWSER_SCREENSHOTS (default /tmp)."""

import datetime as dt
import os
from pathlib import Path

import pytest

from messaging.coupon_page import coupon_token
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.messaging.attribution_helpers import NOON, marketing_message, personal_coupon
from tests.messaging.test_attribution_results import dataset  # noqa: F401 - the fixture
from tests.pos.conftest import register  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))
CHARTS = 6
SIZES = [(1280, 800), (390, 844)]


def watch(page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_results_page_draws_its_charts(live_server, browser, manager, dataset, clock):
    clock.move_to(NOON + dt.timedelta(days=1), tick=True)
    for width, height in SIZES:
        page = browser.new_page(viewport={"width": width, "height": height})
        problems = watch(page)
        log_in(page, live_server.url, manager.username)
        page.goto(f"{live_server.url}/messaging/results/?start=2026-03-01&end=2026-03-11")
        page.wait_for_function(f"document.querySelectorAll('canvas[data-drawn]').length === {CHARTS}")
        assert page.locator('[data-summary="Revenue"]').inner_text() == "$126.00"
        page.screenshot(path=str(SHOTS / f"message-results-{width}x{height}.png"), full_page=True)
        assert fits(page)
        assert problems == []
        page.close()


def test_the_coupon_page_shows_the_codes_on_a_phone(live_server, browser, store, clock):
    from tests.factories import CustomerFactory

    clock.move_to(NOON, tick=True)
    ada = CustomerFactory(organization=store.organization, phone="+14155550134")
    coupon = personal_coupon(
        store, ada, marketing_message(store, ada), valid_until=NOON + dt.timedelta(days=14)
    )
    for width, height in SIZES:
        page = browser.new_page(viewport={"width": width, "height": height})
        problems = watch(page)
        page.goto(f"{live_server.url}/c/{coupon_token(coupon)}/")
        page.get_by_role("button", name="Yes, I am 21 or older").click()
        page.wait_for_selector("[data-coupon-barcode] svg")
        assert page.locator("[data-coupon-code]").inner_text() == coupon.code
        assert page.locator("[data-coupon-qr] svg").count() == 1
        page.screenshot(path=str(SHOTS / f"coupon-{width}x{height}.png"), full_page=True)
        assert fits(page)
        assert problems == []
        page.close()
