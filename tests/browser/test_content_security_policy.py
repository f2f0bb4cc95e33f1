"""The Content-Security-Policy in a real Chromium: the pages run with it and the browser reports no violation;
the API docs render and load nothing from the internet; the live queue still refreshes itself."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.factories import OrganizationFactory, StoreFactory, UserFactory

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def watched_page(browser, base_url):
    """A page that records every request leaving for another host (and refuses it), and CSP reports."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.outside = []
    page.violations = []
    page.requests = []
    here = urlsplit(base_url).netloc

    def route(route):
        url = route.request.url
        page.requests.append(url)
        if urlsplit(url).netloc != here and not url.startswith(("data:", "blob:")):
            page.outside.append(url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", route)
    page.on(
        "console",
        lambda message: (
            page.violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page


@pytest.mark.parametrize(
    ("url", "rendered"), [("/api/docs/", ".swagger-ui .info .title"), ("/api/redoc/", "h1")]
)
def test_the_api_docs_render_and_load_nothing_from_the_internet(live_server, browser, url, rendered):
    page = watched_page(browser, live_server.url)

    page.goto(f"{live_server.url}{url}")
    page.wait_for_selector(rendered, timeout=20_000)
    page.wait_for_load_state("networkidle")

    assert "Dispensary Platform API" in page.inner_text(rendered)
    assert page.outside == []
    # ReDoc's attribution logo lives on its CDN: the policy refuses it before any request is made.
    assert all("cdn.redoc.ly" in violation for violation in page.violations), page.violations


def test_staff_pages_run_without_a_policy_violation(live_server, browser):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization)
    UserFactory(organization=organization, username="mia", roles=["manager"], stores=[store])
    page = watched_page(browser, live_server.url)

    page.goto(f"{live_server.url}/login/")
    assert page.evaluate("document.documentElement.className") == "js"
    page.fill("#id_username", "mia")
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_load_state("networkidle")
    for url in ["/", "/customers/", "/pos/register/", "/pos/sales/"]:
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")

    page.goto(f"{live_server.url}/pos/queue/")
    page.wait_for_load_state("networkidle")
    polls_before = sum("/pos/queue/live/" in url for url in page.requests)
    page.locator("body").click(position={"x": 5, "y": 5})  # focus outside the live queue
    page.wait_for_timeout(5_600)
    assert sum("/pos/queue/live/" in url for url in page.requests) > polls_before

    assert page.violations == []
    assert page.outside == []
