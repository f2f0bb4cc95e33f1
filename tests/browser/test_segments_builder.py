# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The segment builder in a real Chromium, at 1280x800 and on a 390x844 phone: the live count follows a change
of value, a new condition and its removal, under the page's Content-Security-Policy; the segment is saved and
its members listed; nothing spills sideways, nothing is written to the console. Screenshots go to
$BROWSER_SCREENSHOTS (default /tmp)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from messaging.metrics import metrics_rebuild
from messaging.models import Segment
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.factories import CustomerFactory, StoreFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))
WIDE = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_builder_counts_live_and_saves(live_server, browser, width, height):
    store = StoreFactory()
    organization = store.organization
    manager = UserFactory(organization=organization, roles=["manager"], stores=[store])
    for number in range(3):
        CustomerFactory(organization=organization, customer_type="medical", first_name=f"Pat{number}")
    CustomerFactory(organization=organization, first_name="Ada")
    metrics_rebuild(organization_id=organization.pk)
    page = browser.new_page(viewport={"width": width, "height": height})
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/messaging/segments/new/")
    expect(page.locator("#segment-count")).to_have_text("0")  # the starter: no purchase in 30 days
    page.select_option("#c-0-field", "customer_type")
    page.wait_for_selector("select#c-0-value")
    page.select_option("#c-0-value", "medical")
    expect(page.locator("#segment-count")).to_have_text("3")
    page.click("text=Add a condition")
    expect(page.locator(".seg-condition")).to_have_count(2)
    page.locator(".seg-condition").nth(1).locator("button[data-remove-condition]").click()
    expect(page.locator(".seg-condition")).to_have_count(1)
    page.fill("#segment-name", "Patients")
    expect(page.locator("#segment-count")).to_have_text("3")
    page.screenshot(path=str(SHOTS / f"segments-builder-{width}x{height}.png"), full_page=True)
    assert page.evaluate(WIDE)
    page.click("#segment-form button[type=submit]")
    page.wait_for_url("**/messaging/segments/*/")
    assert Segment.objects.get().member_count == 3
    assert page.locator("table tbody tr").count() == 3
    page.screenshot(path=str(SHOTS / f"segments-detail-{width}x{height}.png"), full_page=True)
    assert page.evaluate(WIDE)
    page.goto(f"{live_server.url}/messaging/segments/")
    page.screenshot(path=str(SHOTS / f"segments-list-{width}x{height}.png"), full_page=True)
    assert page.evaluate(WIDE)
    assert problems == []
