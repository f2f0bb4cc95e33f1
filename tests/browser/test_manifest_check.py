"""A manager checks a manifest being received against the state's, in a real Chromium, on a 1280x800 screen
and on a 390x844 phone: the button on the manifest's page, the differences in plain words, nothing wider than
the screen."""

import os
from pathlib import Path

import pytest

from compliance.traceability import registry
from compliance.traceability.metrc import MetrcProvider
from compliance.traceability.simulator import MetrcSimulator
from inventory.services.receiving import transfer_import_csv
from tests.browser.test_web_shell import ARGS, CHROMIUM, log_in
from tests.factories import OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]
A, B, X = "1A4FF0100000022000000901", "1A4FF0100000022000000902", "1A4FF0100000022000000903"
SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))


@pytest.fixture
def browser(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def manifest(monkeypatch):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    manager = UserFactory(organization=organization, username="mia", roles=["manager"], stores=[store])
    ProductFactory(organization=organization, sold_by="g", sku="BULK-1", state_item_name="Gelato Bulk")
    ProductFactory(organization=organization, sold_by="each", sku="JAR-1", state_item_name="Gelato 3.5g")
    simulator = MetrcSimulator()
    simulator.add_credentials("vendor", "user")
    simulator.add_facility(store.license_adult_use, jurisdiction=store.jurisdiction, user_keys=["user"])
    simulator.seed_transfer(
        store.license_adult_use,
        "M-100",
        shipper_license="C11-0000009-LIC",
        shipper_name="Valley Farms",
        packages=[
            {"label": A, "item": "Gelato Bulk", "quantity": 1, "unit": "Pounds"},
            {"label": B, "item": "Gelato 3.5g", "quantity": 12, "unit": "Each"},
            {"label": X, "item": "Gelato 3.5g", "quantity": 6, "unit": "Each"},
        ],
    )
    monkeypatch.setattr(
        registry,
        "provider_for_store",
        lambda for_store, **kw: MetrcProvider(
            base_url="http://simulator.invalid",
            vendor_key="vendor",
            user_key="user",
            license_number=for_store.license_adult_use,
            transport=simulator.transport(),
        ),
    )
    header = "manifest_number,shipper_license,shipper_name,tag,sku,quantity,unit\n"
    rows = f"M-100,C11-0000009-LIC,Valley Farms,{A},BULK-1,1,g\nM-100,C11-0000009-LIC,Valley Farms,{B},JAR-1,12,\n"
    return transfer_import_csv(store=store, content=header + rows, actor=manager)


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_a_manager_checks_a_manifest_against_the_state(live_server, browser, manifest, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    log_in(page, live_server.url, "mia")
    page.goto(f"{live_server.url}/inventory/receiving/{manifest.pk}/")
    button = page.get_by_role("button", name="Check against the state's manifest")
    assert button.is_visible()
    button.click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="M-100").is_visible()
    assert page.get_by_text("2 differences").is_visible()
    body = page.locator(".stack").inner_text()
    assert "the state ships 1 Pounds (453.592 g); 1 g expected here." in body
    assert f"The state's manifest lists {X} (6 Each); ours does not." in body
    page.screenshot(path=str(SHOTS / f"manifest-check-{width}x{height}.png"), full_page=True)
    # Nothing of the page's own content is wider than the screen (the top bar is the navigation's own).
    wider = page.evaluate(
        "[...document.querySelectorAll('.page-header, .stack, .stack *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).length"
    )
    assert wider == 0
