# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The campaign pages in a real Chromium at 1280x800 and on a 390x844 phone: the list, a sent A/B campaign's
page with its progress bar and its results chart drawn by the vendored Chart.js, and the draft form whose
preview counts a text's parts as one types; nothing spilling sideways, nothing written to the console.
Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import datetime as dt
import os
from pathlib import Path

import pytest

from messaging.campaigns import campaign_schedule, campaigns_send_due
from messaging.models import MessageStatusEvent, OutboundMessage
from messaging.queue import queue_drain
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.factories import UserFactory
from tests.messaging.campaign_helpers import campaign_settings, customers, draft, utc, west  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))
NOW = utc("2027-03-13T20:00:00Z")
OVERFLOW = """() => Array.from(document.querySelectorAll('body *')).filter((element) =>
    element.getBoundingClientRect().right > window.innerWidth + 1).map((element) =>
    element.tagName + '.' + element.className + ' ' + Math.round(element.getBoundingClientRect().right))"""


def watch(page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_campaign_pages_render_with_progress_and_chart(live_server, browser, west, clock, width, height):
    clock.move_to(NOW, tick=True)
    west.name = "Mission"  # the top bar of a 1280-pixel screen holds a short store name beside the menus
    west.save()
    owner = UserFactory(organization=west.organization, roles=["owner"], stores=[west])
    customers(west, 6, start=2100)
    sent = draft(
        west.organization,
        owner,
        body="{store_name}: {first_name}, 20% off edibles this weekend.",
        variant_b_body="{store_name}: a free pre-roll with any order, {first_name}.",
        test_share=50,
        winner_metric="clicked",
        winner_after_hours=1,
    )
    campaign_schedule(campaign=sent, actor=owner, now=NOW)
    campaigns_send_due(NOW)
    queue_drain(now=NOW)
    clicked = OutboundMessage.objects.filter(origin__variant="b").first()
    MessageStatusEvent.objects.create(message=clicked, status="clicked", source="webhook", occurred_at=NOW)
    campaigns_send_due(NOW + dt.timedelta(hours=1))
    draft(west.organization, owner, name="Spring menu", send_on=dt.date(2027, 3, 20), send_at=dt.time(10))

    page = browser.new_page(viewport={"width": width, "height": height})
    problems = watch(page)
    log_in(page, live_server.url, owner.username)
    page.goto(f"{live_server.url}/messaging/campaigns/")
    assert page.locator("tr[data-campaign]").count() == 2
    page.screenshot(path=str(SHOTS / f"campaigns-list-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(OVERFLOW)

    page.goto(f"{live_server.url}/messaging/campaigns/{sent.pk}/")
    page.wait_for_selector("canvas[data-drawn]")
    assert "6 of 6" in page.locator("#campaign-progress").inner_text()
    page.screenshot(path=str(SHOTS / f"campaigns-detail-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(OVERFLOW)

    page.goto(f"{live_server.url}/messaging/campaigns/new/")
    page.fill("#id_body", "Hi {first_name}! " + "x" * 150)
    page.locator("[data-preview-count]", has_text="2 parts").wait_for()
    page.screenshot(path=str(SHOTS / f"campaigns-form-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(OVERFLOW)
    assert problems == []
