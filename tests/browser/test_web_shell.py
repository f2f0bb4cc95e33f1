"""The web shell in a real Chromium: a budtender finds a customer by phone at the counter, and a manager
switches store from the dashboard. Uses Debian's chromium (never a downloaded browser)."""

import os
import re
from pathlib import Path

import pytest

from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory
from tests.pos.factories import register_with_drawer

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_load_state("networkidle")


def test_budtender_finds_a_customer_by_phone_and_starts_a_sale(live_server, browser, shipped_rules):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    ben = UserFactory(organization=organization, username="ben", roles=["budtender"], stores=[store])
    register_with_drawer(store, ben, name="Front 1")
    CustomerFactory(
        organization=organization,
        phone="+14155550134",
        first_name="Ada",
        last_name="Lovelace",
        home_store=store,
    )
    page = browser.new_page(viewport={"width": 1280, "height": 800})

    log_in(page, live_server.url, "ben")

    assert page.url == f"{live_server.url}/pos/register/"  # budtenders land on the register
    page.goto(f"{live_server.url}/pos/")
    phone = page.locator("#lookup-phone")
    assert phone.evaluate("element => element === document.activeElement")
    phone.type("(415) 555-0134")
    phone.press("Enter")
    card = page.locator("[data-customer-card]")
    card.wait_for()
    assert "Ada Lovelace" in card.inner_text()
    assert "(415) 555-0134" in card.inner_text()
    assert "Mission Street" in card.inner_text()
    # Ready for the next customer: the phone is selected so the next scan replaces it.
    assert phone.evaluate("element => element === document.activeElement")

    # The counter leads to the register: choose it, and the sale starts with Ada as its customer.
    page.get_by_role("button", name="Start a sale for Ada").click()
    page.get_by_role("button", name=re.compile("Front 1")).click()
    page.get_by_role("button", name="New sale for Ada Lovelace").click()
    page.wait_for_url(re.compile(r"/pos/register/carts/\d+/$"))
    assert "Ada Lovelace" in page.locator("[data-customer-card]").inner_text()
    page.close()


def test_manager_lands_on_the_dashboard_and_switches_store(live_server, browser):
    organization = OrganizationFactory()
    first = StoreFactory(organization=organization, name="Mission Street")
    second = StoreFactory(organization=organization, name="Oakland Uptown")
    UserFactory(organization=organization, username="maria", roles=["manager"], stores=[first, second])
    page = browser.new_page(viewport={"width": 390, "height": 844})

    log_in(page, live_server.url, "maria")

    assert page.url == f"{live_server.url}/dashboard/"
    assert page.locator("h1").inner_text() == "Mission Street"
    page.locator("summary.store-chip").click()
    page.get_by_role("button", name="Oakland Uptown").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/dashboard/"
    assert page.locator("h1").inner_text() == "Oakland Uptown"
    assert "You are now working at Oakland Uptown." in page.locator(".flashes").inner_text()
    page.close()
