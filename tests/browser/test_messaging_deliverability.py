# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The deliverability page, the message list and a message's page in a real Chromium, at 1280x800 and on a
390x844 phone: every chart drawn by the vendored Chart.js under the page's Content-Security-Policy, the alert
acknowledged with its button, nothing spilling sideways, nothing written to the console. Screenshots go to
$BROWSER_SCREENSHOTS (default /tmp)."""

import os
from pathlib import Path

import pytest

from messaging.alerts import deliverability_alerts_raise
from messaging.models import MessagingAlert, OutboundMessage
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.messaging.deliverability_fixtures import NOW, history  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))
CHARTS = 5
OVERFLOW = """() => Array.from(document.querySelectorAll('body *')).filter((element) =>
    element.getBoundingClientRect().right > window.innerWidth + 1).map((element) =>
    element.tagName + '.' + element.className + ' ' + Math.round(element.getBoundingClientRect().right))"""


def watch(page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_pages_render_with_their_charts_and_timeline(live_server, browser, history, clock, width, height):
    clock.move_to(NOW, tick=True)
    deliverability_alerts_raise(now=NOW, stores=[history["store_a"]])  # too few texts: none
    MessagingAlert.objects.create(
        organization=history["organization"],
        store=history["store_a"],
        kind="filtering",
        scope="mission",
        day=NOW.date(),
        message="Carriers filtered 3 of 40 texts Mission sent on Mar 11 as spam.",
    )
    page = browser.new_page(viewport={"width": width, "height": height})
    problems = watch(page)
    log_in(page, live_server.url, history["manager"].username)
    page.goto(f"{live_server.url}/messaging/deliverability/?start=2026-03-10&end=2026-03-11")
    page.wait_for_function(f"document.querySelectorAll('canvas[data-drawn]').length === {CHARTS}")
    assert page.locator('[data-summary="Delivery rate"]').inner_text() == "75.00%"
    assert "30007" in page.locator('[data-figure="errors"] table').inner_text()
    page.screenshot(path=str(SHOTS / f"messaging-deliverability-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(OVERFLOW)
    page.click("[data-messaging-alert] button")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-messaging-alert]").count() == 0
    assert MessagingAlert.objects.get().acknowledged_by_id == history["manager"].pk

    page.goto(f"{live_server.url}/messaging/messages/")
    assert page.locator("tr[data-message]").count() == 14
    page.screenshot(path=str(SHOTS / f"messaging-messages-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(OVERFLOW)

    filtered = OutboundMessage.objects.get(error_code="30007")
    page.goto(f"{live_server.url}/messaging/messages/{filtered.pk}/")
    timeline = page.locator("[data-timeline]").inner_text()
    assert "Not delivered" in timeline and "The carrier filtered the message as spam" in timeline
    page.screenshot(path=str(SHOTS / f"messaging-message-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(OVERFLOW)
    assert problems == []
