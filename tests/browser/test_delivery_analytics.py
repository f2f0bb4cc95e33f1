# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The delivery analytics page in a real Chromium, at 1280x800 and on a 390x844 phone: every chart is drawn by
the vendored Chart.js (under the page's Content-Security-Policy), its numbers are beside it, nothing spills
sideways, and nothing is written to the console. Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import os
from pathlib import Path

import pytest

from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.analytics_fixtures import VIEW_AT, deliveries, hills, pat, sam  # noqa: F401 - fixtures
from tests.delivery.order_fixtures import now, product, zone  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))
CHARTS = 8


def watch(page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_charts_render_with_their_numbers(
    live_server, browser, manager, deliveries, clock, width, height
):
    clock.move_to(VIEW_AT, tick=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    problems = watch(page)
    log_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/delivery/analytics/?start=2026-03-10&end=2026-03-11")
    page.wait_for_function(f"document.querySelectorAll('canvas[data-drawn]').length === {CHARTS}")
    assert page.locator("canvas[data-chart]").count() == CHARTS
    # Chart.js drew on each canvas: it has a size and non-blank pixels.
    drawn = page.evaluate(
        """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map((canvas) => {
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
            return [canvas.getAttribute('data-chart'), canvas.clientWidth > 100 && canvas.clientHeight > 100, painted > 500];
        })"""
    )
    assert all(sized and painted for _, sized, painted in drawn), drawn
    zones = page.locator('[data-figure="zones"] table')
    assert "City" in zones.inner_text() and "$160.00" in zones.inner_text()
    assert page.locator('[data-summary="On-time rate"]').inner_text() == "75.0%"
    page.screenshot(path=str(SHOTS / f"delivery-analytics-{width}x{height}.png"), full_page=True)
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *')).filter((element) =>
            element.getBoundingClientRect().right > window.innerWidth + 1).map((element) =>
            element.tagName + '.' + element.className + ' ' + Math.round(element.getBoundingClientRect().right))"""
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide
    assert problems == []


def test_an_empty_period_shows_the_message_and_no_chart(live_server, browser, manager, deliveries, clock):
    clock.move_to(VIEW_AT, tick=True)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    problems = watch(page)
    log_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/delivery/analytics/?start=2026-01-01&end=2026-01-31")
    assert "No deliveries in this period" in page.locator("main").inner_text()
    assert page.locator("canvas").count() == 0
    page.screenshot(path=str(SHOTS / "delivery-analytics-empty-390x844.png"), full_page=True)
    assert problems == []
