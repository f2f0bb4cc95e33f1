"""The delivery zones screen in a real Chromium: the vendored Leaflet map draws the zones, the excluded place and
the store on a plain background with nothing loaded from elsewhere; a manager draws a zone by clicking four
corners, saves it and checks a point inside it (1280x800); on a 390x844 phone the page fits the screen."""

import pytest

from delivery.models import DeliveryZone
from delivery.services import delivery_exclusion_create, delivery_zone_create
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.helpers import square
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(
        not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def shop(shipped_rules):
    organization = OrganizationFactory()
    store = StoreFactory(
        organization=organization, name="Mission Street", latitude="37.760310", longitude="-122.419200"
    )
    UserFactory(organization=organization, username="maria", roles=["manager"], stores=[store])
    delivery_zone_create(
        store=store,
        actor=None,
        name="City",
        geometry=square(37.70, -122.52, 37.81, -122.38),
        minimum_order="75",
        fee="9.99",
        estimated_minutes=60,
    )
    delivery_exclusion_create(
        store=store,
        actor=None,
        name="Valencia Elementary",
        kind="school",
        latitude="37.7565",
        longitude="-122.421",
        radius_m=150,
    )
    return store


def open_screen(browser, live_server, store, size):  # noqa: F811 - the fixture
    page = browser.new_page(viewport=size)
    problems, outside = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "request",
        lambda request: outside.append(request.url) if not request.url.startswith(live_server.url) else None,
    )
    log_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/delivery/stores/{store.pk}/zones/")
    page.wait_for_selector("#zones-map .leaflet-interactive")
    return page, problems, outside


def test_a_manager_draws_a_zone_on_the_map_and_saves_it(live_server, browser, shop):  # noqa: F811
    page, problems, outside = open_screen(browser, live_server, shop, {"width": 1280, "height": 800})
    # The zone and the excluded place are drawn as shapes, the store as a marker with its name.
    assert page.locator("#zones-map path.leaflet-interactive").count() >= 3
    assert page.locator(".dz-label").inner_text() == "Mission Street"
    box = page.locator("#zones-map").bounding_box()
    for dx, dy in ((0.30, 0.30), (0.45, 0.30), (0.45, 0.45), (0.30, 0.45)):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    assert page.locator("[data-zone-corners]").inner_text() == "4"
    page.fill("#id_name", "Near")
    page.fill("#id_fee", "3.50")
    page.fill("#id_minimum_order", "30")
    page.fill("#id_estimated_minutes", "25")
    page.get_by_role("button", name="Add zone").click()
    page.wait_for_load_state("networkidle")
    assert "Zone Near added." in page.locator("body").inner_text()
    zone = DeliveryZone.objects.get(name="Near")
    ring = zone.geometry["coordinates"][0]
    assert zone.geometry["type"] == "Polygon" and len(ring) == 5 and ring[0] == ring[-1]
    assert all(-122.52 < lon < -122.38 and 37.70 < lat < 37.81 for lon, lat in ring)
    # Checking a point: a click in "Check a point" mode asks the server and shows the zone that applies.
    page.get_by_role("button", name="Check a point").click()
    box = page.locator("#zones-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.375, box["y"] + box["height"] * 0.375)
    page.wait_for_selector("#check .flash")
    assert page.locator("#check .flash").inner_text().startswith("Delivers here: Near, $3.50 fee")
    assert problems == [] and outside == []
    page.close()


def test_the_screen_fits_a_phone(live_server, browser, shop):  # noqa: F811
    page, problems, outside = open_screen(browser, live_server, shop, {"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("#zones-map").bounding_box()["width"] <= 390
    assert problems == [] and outside == []
    page.close()
