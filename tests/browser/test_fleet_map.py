# ruff: noqa: F811 - the browser fixture imported from test_web_shell is a parameter of the tests
"""The fleet map on the dispatch board in a real Chromium with NO tile server configured: two drivers on the road
drawn as vectors (a car labelled with the first name and the fix's age, the route still to drive, the next stop
ringed), the route cards' arrivals in words, an alert with its Acknowledge button, and the map following a new
position within the 15 s poll; at 1280x800 and on a 390x844 phone. Screenshots go to $BROWSER_SCREENSHOTS
(default /tmp)."""

import datetime as dt
import os
from decimal import Decimal as D
from pathlib import Path

import pytest

from delivery.models import Trip, TripPosition
from delivery.services_dispatch import dispatch_plan
from delivery.services_tracking import tracking_evaluate
from tests.browser.test_dispatch_board import day_of_orders, watch  # noqa: F401 - fixture
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.dispatch_fixtures import DAY, NOW
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))


@pytest.fixture
def on_the_road(day_of_orders, settings):
    """Both routes planned and on the road since 11:00, each car somewhere near its first stop; Dana far off
    her route (an alert)."""
    settings.DELIVERY_MAP_TILE_URL = ""
    store = day_of_orders
    manager = UserFactory(organization=store.organization, username="mona", roles=["manager"], stores=[store])
    dispatch_plan(store=store, day=DAY, by=manager, seconds=0.5)
    trips = list(Trip.objects.filter(store=store).select_related("driver").order_by("pk"))
    assert len(trips) == 2
    Trip.objects.filter(pk__in=[trip.pk for trip in trips]).update(
        status=Trip.Status.DEPARTED, departed_at=NOW
    )
    for trip, (latitude, longitude) in zip(
        trips, [("37.7400", "-122.5000"), ("37.7750", "-122.4300")], strict=True
    ):
        TripPosition.objects.create(
            trip=trip,
            driver=trip.driver,
            recorded_at=NOW - dt.timedelta(seconds=40),
            received_at=NOW,
            latitude=D(latitude),
            longitude=D(longitude),
        )
        tracking_evaluate(trip_id=trip.pk, now=NOW)
    return {"store": store, "trips": trips}


def _check_the_map(page):
    body = page.locator("body").inner_text()
    cars = page.locator("[data-car]")
    assert cars.count() == 2
    names = sorted(cars.nth(i).text_content() for i in range(2))
    assert names[0].startswith("Dana ") and names[1].startswith("Eli ")
    assert all(" ago" in name for name in names)
    assert page.locator(".dsp-next").count() == 2  # each driver's next stop, ringed
    assert (
        page.locator("path.leaflet-interactive[stroke-dasharray]").count() == 2
    )  # the routes still to drive
    assert page.locator("img.leaflet-tile").count() == 0  # vectors only: no tile server
    assert "Next stop · Expected " in body
    assert "Left the planned route" in body and "Acknowledge" in body
    return body


def test_the_fleet_map_draws_drivers_routes_and_next_stops_without_tiles_at_1280x800(
    live_server, browser, on_the_road
):
    store = on_the_road["store"]
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems = watch(page)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, live_server.url, "mona")
    page.goto(f"{live_server.url}/delivery/stores/{store.pk}/dispatch/?day={DAY}")
    page.wait_for_selector("[data-car]")
    _check_the_map(page)
    page.screenshot(path=str(SHOTS / "fleet-map-1280x800-top.png"))
    page.locator("#dispatch-map").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "fleet-map-1280x800.png"))
    assert all(url.startswith(live_server.url) for url in requests), "nothing loads from elsewhere"

    # Eli moves on: within one poll (15 s) the car follows, without reloading the page.
    eli = on_the_road["trips"][1]
    TripPosition.objects.create(
        trip=eli,
        driver=eli.driver,
        recorded_at=NOW + dt.timedelta(seconds=30),
        received_at=NOW + dt.timedelta(seconds=30),
        latitude=D("37.7700"),
        longitude=D("-122.4350"),
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-car]')].some((car) => /Eli .*s ago/.test(car.textContent))",
        timeout=25_000,
    )
    # Acknowledging the alert takes it off the board.
    page.get_by_role("button", name="Acknowledge").first.click()
    page.wait_for_load_state("networkidle")
    assert "Alert acknowledged: Left the planned route" in page.locator("body").inner_text()
    assert problems == []


def test_the_fleet_map_on_a_phone(live_server, browser, on_the_road):
    store = on_the_road["store"]
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    problems = watch(page)
    log_in(page, live_server.url, "mona")
    page.goto(f"{live_server.url}/delivery/stores/{store.pk}/dispatch/?day={DAY}")
    page.wait_for_selector("[data-car]")
    _check_the_map(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px)"
    page.screenshot(path=str(SHOTS / "fleet-map-390x844.png"), full_page=True)
    page.locator("#dispatch-map").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "fleet-map-390x844-map.png"))
    assert problems == []
