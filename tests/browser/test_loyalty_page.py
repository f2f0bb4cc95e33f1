# ruff: noqa: F811 - the fixtures imported from the messaging tests are parameters of the tests
"""The customer's loyalty page in a real Chromium: on a 390x844 phone the customer opens the texted link, asks
for the code, types it and sees their points, level, rewards, coupon and choices, nothing wider than the
phone; at 1280x800 the same page in two columns. Screenshots go to $BROWSER_SCREENSHOTS (default /tmp)."""

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from messaging.loyalty_page import loyalty_link_send, loyalty_link_token
from messaging.models import OutboundMessage
from pos.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTier, PointsEntry, Promotion, Reward
from pos.services.coupons import coupon_issue_personal
from tests.browser.test_web_shell import CHROMIUM, browser  # noqa: F401 - the browser fixture
from tests.messaging.inbound_helpers import ada, shop, sms_settings  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))


def _loyalty(customer):
    organization = customer.organization
    now = timezone.now()
    LoyaltyProgram.objects.create(organization=organization)
    LoyaltyTier.objects.create(organization=organization, name="Silver", min_spend=Decimal("0.00"))
    LoyaltyTier.objects.create(organization=organization, name="Gold", min_spend=Decimal("500.00"))
    account = LoyaltyAccount.objects.create(customer=customer, balance=140)
    PointsEntry.objects.create(
        account=account, kind="earned", points=140, created_at=now - dt.timedelta(days=3)
    )
    Reward.objects.create(organization=organization, name="Five off", points_cost=100, value=Decimal("5.00"))
    Reward.objects.create(organization=organization, name="Ten off", points_cost=200, value=Decimal("10.00"))
    promotion = Promotion.objects.create(
        organization=organization, name="Ten", kind="percent", value=Decimal("10")
    )
    coupon_issue_personal(
        promotion=promotion,
        customer_id=customer.pk,
        message_key="demo",
        valid_until=now + dt.timedelta(days=7),
    )


def test_the_customer_opens_their_page_on_a_phone(live_server, browser, ada, settings):
    settings.PUBLIC_SITE_URL = live_server.url
    _loyalty(ada)
    token = loyalty_link_token(loyalty_link_send(customer=ada))

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/my/{token}/")
    phone.screenshot(path=str(SHOTS / "loyalty-code-390.png"), full_page=True)
    phone.get_by_role("button", name="Text me a code").click()
    phone.wait_for_selector("#loy-code")
    body = OutboundMessage.objects.filter(purpose="loyalty_pin").latest("pk").body
    phone.fill("#loy-code", re.search(r"is (\d{6})\.", body).group(1))
    phone.get_by_role("button", name="Open my page").click()
    phone.wait_for_selector("[data-balance]")
    assert phone.locator("[data-balance]").inner_text() == "140"
    assert phone.locator("[data-coupon]").count() == 1
    assert "Gold" in phone.locator("[data-next-tier]").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SHOTS / "loyalty-page-390.png"), full_page=True)

    phone.check("input[name=sms]")
    phone.check("input[name=age_affirmed]")
    phone.get_by_role("button", name="Save my choices").click()
    phone.wait_for_selector("[data-waiting]")
    phone.screenshot(path=str(SHOTS / "loyalty-saved-390.png"), full_page=True)

    desk = browser.new_page(viewport={"width": 1280, "height": 800})
    desk.context.add_cookies(phone.context.cookies())
    desk.goto(f"{live_server.url}/my/{token}/")
    desk.wait_for_selector("[data-balance]")
    desk.screenshot(path=str(SHOTS / "loyalty-page-1280.png"), full_page=True)

    ask = browser.new_page(viewport={"width": 390, "height": 844})
    ask.goto(f"{live_server.url}/my/")
    ask.fill("#loy-phone", "(415) 555-0134")
    ask.get_by_role("button", name="Text me the link").click()
    ask.wait_for_selector("[data-answer]")
    ask.screenshot(path=str(SHOTS / "loyalty-request-390.png"), full_page=True)
