# ruff: noqa: F811 - the browser fixture imported from test_web_shell is a parameter of the tests
"""The dispatch board in a real Chromium at 1280x800: a manager plans all waiting orders, sees the routes on the
map and the cards, moves an order from one route to the other and locks a route; the same board on a 390x844
phone. Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import os
from pathlib import Path

import pytest

from delivery.models import Trip, TripStop
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.dispatch_fixtures import DAY, NOW, STORE_POINT, driver_on_shift, spread_orders
from tests.delivery.helpers import square
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))


@pytest.fixture
def day_of_orders(shipped_rules, clock, settings):
    from delivery.services import delivery_zone_create

    settings.DELIVERY_PLAN_SECONDS = 0.5
    clock.move_to(NOW, tick=True)
    organization = OrganizationFactory()
    store = StoreFactory(
        organization=organization, name="Mission Street", latitude=STORE_POINT[0], longitude=STORE_POINT[1]
    )
    UserFactory(organization=organization, username="maria", roles=["manager"], stores=[store])
    zones = tuple(
        delivery_zone_create(
            store=store,
            actor=None,
            name=name,
            geometry=square(*corners),
            minimum_order="20",
            fee="4.99",
            estimated_minutes=40,
        )
        for name, corners in (
            ("North", (37.765, -122.52, 37.82, -122.35)),
            ("South", (37.70, -122.52, 37.765, -122.35)),
        )
    )
    driver_on_shift(store, "Dana", "8AAA001", capacity=5)
    driver_on_shift(store, "Eli", "8AAA002", capacity=5)
    spread_orders(store, zones, 8)
    return store


def watch(page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_a_manager_plans_moves_and_locks_at_1280x800(live_server, browser, day_of_orders):
    store = day_of_orders
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems = watch(page)
    log_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/delivery/stores/{store.pk}/dispatch/?day={DAY}")
    assert "Waiting orders (8)" in page.locator("body").inner_text()
    assert page.locator(".leaflet-interactive").count() >= 8  # the store and the waiting orders on the map
    page.screenshot(path=str(SHOTS / "dispatch-board-waiting-1280x800.png"), full_page=True)

    page.get_by_role("button", name="Plan all waiting orders").click()
    page.wait_for_load_state("networkidle")
    body = page.locator("body").inner_text()
    assert "8 orders planned on 2 routes; 0 could not be placed." in body
    assert "Waiting orders (0)" in body
    cards = page.locator("article[data-trip]")
    assert cards.count() == 2
    assert page.locator(".dsp-marker").count() == 8  # numbered stops in the routes' colours
    page.screenshot(path=str(SHOTS / "dispatch-board-planned-1280x800.png"), full_page=True)

    # Move the first stop of the fuller route to the other route.
    counts = [cards.nth(n).locator("[data-stop-order]").count() for n in range(2)]
    fuller = cards.nth(0 if counts[0] >= counts[1] else 1)
    first_stop = fuller.locator("[data-stop-order]").first
    moved_order = first_stop.get_attribute("data-stop-order")
    first_stop.get_by_role("button", name="Move").click()
    page.wait_for_load_state("networkidle")
    body = page.locator("body").inner_text()
    assert f"Order {moved_order} moved to" in body, body[:500]
    moved = TripStop.objects.select_related("trip").get(order__order_id=int(moved_order))
    assert (
        page.locator(f"article[data-trip='{moved.trip_id}'] [data-stop-order='{moved_order}']").count() == 1
    )

    card = page.locator(f"article[data-trip='{moved.trip_id}']")
    card.get_by_role("button", name="Lock route").click()
    page.wait_for_load_state("networkidle")
    card = page.locator(f"article[data-trip='{moved.trip_id}']")
    assert card.locator("[data-trip-status]").inner_text() == "Locked"
    assert card.get_by_role("button", name="Unlock").count() == 1
    assert Trip.objects.get(pk=moved.trip_id).status == "locked"
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / "dispatch-board-1280x800.png"), full_page=False)
    assert problems == []


def test_the_board_on_a_phone(live_server, browser, day_of_orders):
    store = day_of_orders
    page = browser.new_page(viewport={"width": 390, "height": 844})
    problems = watch(page)
    log_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/delivery/stores/{store.pk}/dispatch/?day={DAY}")
    page.get_by_role("button", name="Plan all waiting orders").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("article[data-trip]").count() == 2
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / "dispatch-board-390x844.png"), full_page=True)
    assert problems == []
