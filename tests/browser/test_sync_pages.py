"""The state sync pages in a real Chromium, at 1280x800 and on a 390x844 phone: a refused sale's report says
what to do and which report of its sale it holds back; the held report says what it waits for."""

import os

import pytest
from django.utils import timezone

from compliance.models import SyncRecord
from tests.browser.test_web_shell import browser, log_in  # noqa: F401 - the fixture
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

SCREENSHOTS = os.environ.get("TEST_SCREENSHOT_DIR", "")
pytestmark = pytest.mark.django_db(transaction=True)
TAG = "1A4000000000000000999001"


def _widest_overflow(page, width: int) -> list[str]:
    """Elements of the page's main content that reach past the viewport (the top bar is another screen's)."""
    return page.evaluate(
        """width => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > width + 1)
            .map(e => e.tagName + '.' + e.className).slice(0, 5)""",
        width,
    )


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_refused_report_and_the_report_it_holds_back(live_server, browser, width, height):  # noqa: F811
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    UserFactory(organization=organization, username="maria", roles=["manager"], stores=[store])
    refused = SyncRecord.objects.create(
        store=store, kind="sales_receipt.create", payload=[{"ExternalReceiptNumber": f"{store.code}-1"}],
        order_keys=[TAG, "sale:1"], reference_type="sale", reference_id="1", status="failed", attempts=1,
        last_error=f"row 0: Package {TAG} was not found at facility {store.license_adult_use}.",
        state_answer={"status_code": 400, "errors": [{"row": 0, "message": f"Package {TAG} was not found."}]},
    )  # fmt: skip
    void = SyncRecord.objects.create(
        store=store, kind="sales_receipt.void", payload=[{}], order_keys=[TAG, "sale:1"], reference_type="sale",
        reference_id="1", next_attempt_at=timezone.now(),
    )  # fmt: skip
    page = browser.new_page(viewport={"width": width, "height": height})
    log_in(page, live_server.url, "maria")

    page.goto(f"{live_server.url}/compliance/sync/{refused.pk}/")
    situation = page.locator("[data-testid=sync-situation]")
    assert situation.is_visible() and "The state did not take this report." in situation.inner_text()
    held = page.locator("#order-heading").locator("xpath=../..")
    assert f"#{void.pk}" in held.inner_text()
    assert _widest_overflow(page, width) == []  # nothing of the page's own overflows sideways
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"sync-refused-{width}.png"), full_page=True)

    page.locator(".cmp-held a").first.click()
    page.wait_for_load_state("networkidle")
    assert (
        f"Waits for report #{refused.pk}"
        in page.locator("#order-heading").locator("xpath=../..").inner_text()
    )
    assert _widest_overflow(page, width) == []
    page.goto(f"{live_server.url}/compliance/sync/")
    assert f"Waits for #{refused.pk}" in page.locator("table").inner_text()
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"sync-index-{width}.png"), full_page=True)
    page.close()
