"""The in-store kiosk in a real Chromium: a budtender starts kiosk mode on a 1280x800 tablet, a customer picks
products by category, sees the limit left, gives their details and gets an order number; the same on a 390x844
phone, without sideways scrolling. Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import datetime as dt
import os
from decimal import Decimal as D
from pathlib import Path

import pytest

from pos.models import PickupOrder
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))


@pytest.fixture
def shop(shipped_rules, clock):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    clock.move_to(dt.datetime(2026, 6, 10, 18, 0, tzinfo=dt.UTC), tick=True)
    UserFactory(organization=organization, username="ben", roles=["budtender"], stores=[store])
    for name, category, price, thc, grams in [
        ("Blue Dream 3.5g", "flower", "45.00", "22.5", "3.5"),
        ("Sour Diesel 3.5g", "flower", "40.00", "19.0", "3.5"),
        ("Gelato Pre-roll 1g", "pre_roll", "12.00", "24.0", "1"),
        ("Live Resin Cart 1g", "vape", "55.00", "81.2", None),
    ]:
        product = ProductFactory(
            organization=organization, name=name, category=category, price=D(price), thc_percent=D(thc)
        )
        if grams:
            ProductLimitAmountFactory(product=product, bucket="flower_g", amount=D(grams))
        receive(store, product, 20)
    return store


def run(page, base, shots: str):
    log_in(page, base, "ben")
    page.goto(f"{base}/pos/pickups/")
    page.get_by_role("link", name="Start the kiosk on this tablet").click()
    page.get_by_role("button", name="Start kiosk mode for Mission Street").click()
    page.wait_for_url(f"{base}/pos/kiosk/")
    page.get_by_role("link", name="Flower").click()
    page.get_by_role("button", name="Add Blue Dream 3.5g").click()
    page.get_by_role("button", name="Add Blue Dream 3.5g").click()
    cart = page.locator("#kiosk-cart").inner_text()
    assert "Non-concentrated cannabis: 21.5 g left of 28.5 g" in cart
    page.screenshot(path=str(SHOTS / f"kiosk-menu-{shots}.png"), full_page=True)
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "window.innerWidth + 1).map(e => e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
    )
    assert wide == [], wide
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    # Touch targets: every button and category at least 56 px high.
    heights = page.eval_on_selector_all(
        ".kiosk-btn, .kiosk-cat, .kiosk-qty__btn", "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 56
    page.screenshot(path=str(SHOTS / f"kiosk-menu-{shots}.png"), full_page=True)
    page.get_by_role("link", name="Continue").click()
    page.fill("#id_first_name", "Rosa")
    page.fill("#id_last_name", "Parks")
    page.fill("#id_phone", "(415) 555-0199")
    page.fill("#id_date_of_birth", "1990-05-17")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / f"kiosk-details-{shots}.png"), full_page=True)
    page.get_by_role("button", name="Place my order").click()
    page.wait_for_url(f"{base}/pos/kiosk/done/")
    order = PickupOrder.objects.order_by("-pk").first()
    assert page.locator(".kiosk-done__number").inner_text() == str(order.pk)
    assert order.channel == "kiosk"
    page.screenshot(path=str(SHOTS / f"kiosk-done-{shots}.png"), full_page=True)


def test_the_kiosk_on_a_tablet_and_a_phone(live_server, browser, shop):  # noqa: F811
    for width, height in ((1280, 800), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        run(page, live_server.url, f"{width}x{height}")
        assert errors == []
        context.close()
    assert PickupOrder.objects.filter(channel="kiosk").count() == 2
