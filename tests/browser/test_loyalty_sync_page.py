# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The Alpine IQ and Springbig settings page in a real Chromium, at 1280x800 and on a 390x844 phone: both vendors'
forms, the saved key shown only by its last characters, the sync log, nothing spilling sideways and nothing in
the console. Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import os
from pathlib import Path

import pytest
from django.utils import timezone

from messaging.models import LoyaltySyncLog, LoyaltySyncSettings
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_settings_page_fits_and_hides_the_key(live_server, browser, manager, organization, width, height):
    row = LoyaltySyncSettings.objects.create(
        organization=organization,
        vendor="alpine",
        enabled=True,
        api_key="aiq-live-very-secret-4321",
        account_id="1000",
        last_error="Alpine IQ: /api/v1.1/piis/1000 answered 429; will try again.",
        last_error_at=timezone.now(),
    )
    LoyaltySyncLog.objects.create(
        settings=row,
        kind="conflict",
        detail="Both sides changed the balance (register 120, Alpine IQ 150, agreed 100): the register's 120 kept "
        "and sent.",
        created_at=timezone.now(),
    )
    page = browser.new_page(viewport={"width": width, "height": height})
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/messaging/integrations/loyalty/")
    text = page.inner_text("main")
    assert "Alpine IQ" in text and "Springbig" in text and "…4321" in text
    assert "very-secret" not in page.content()
    assert "Both sides changed the balance" in text
    page.screenshot(path=str(SHOTS / f"loyalty-sync-{width}x{height}.png"), full_page=True)
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *')).filter((element) =>
            element.getBoundingClientRect().right > window.innerWidth + 1).map((element) =>
            element.tagName + '.' + element.className + ' ' + Math.round(element.getBoundingClientRect().right))"""
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide
    assert problems == []
