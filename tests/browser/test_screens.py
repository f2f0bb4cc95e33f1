"""The screens a new user found wanting, in a real Chromium at 1280x800 and on a 390x844 phone, as each role:
no page is wider than the screen, the top bar fits (grouped menus on a desk, one folding menu on a phone) and
marks the page's own link, reports and the audit center are in it, the register's Complete button is on screen
whatever the cart holds, stored codes read as words, the register chooser has no stray bullet, the queue
keeps the budtender's register, and a manager approves a void by their PIN alone. Uses Debian's chromium."""

import re
from decimal import Decimal as D

import pytest

from dispensary.wording import LIMIT_WINDOWS, WORDS
from pos.models import Sale
from pos.services.pins import manager_pin_set
from pos.services.queue import queue_check_in
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import sell

pytestmark = [
    pytest.mark.skipif(
        not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"
    ),
    pytest.mark.django_db(transaction=True),
]

DESK = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(DESK, id="1280x800"), pytest.param(PHONE, id="390x844")]
# Every stored code that has words; none may be read on a page (plain words like "seeds" are not codes).
CODES = sorted(code for code in [*WORDS, *LIMIT_WINDOWS] if "." in code or "_" in code)


@pytest.fixture
def shop(shipped_rules):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    staff = {
        "olivia": UserFactory(organization=organization, username="olivia", roles=["owner"], stores=[store]),
        "maria": UserFactory(organization=organization, username="maria", roles=["manager"], stores=[store]),
        "cora": UserFactory(
            organization=organization, username="cora", roles=["compliance_officer"], stores=[store]
        ),
        "ben": UserFactory(organization=organization, username="ben", roles=["budtender"], stores=[store]),
    }
    manager_pin_set(user=staff["maria"], pin="4821", actor=staff["maria"])
    register = register_with_drawer(store, staff["ben"], name="Front 1")
    register_with_drawer(store, staff["ben"], name="Back 2")
    ada = CustomerFactory(
        organization=organization, phone="+14155550134", first_name="Ada", last_name="Lovelace"
    )
    packages = []
    for number in range(6):
        product = ProductFactory(organization=organization, name=f"Pre-roll {number}", price=D("12.00"))
        ProductLimitAmountFactory(product=product, bucket="flower_g", amount=D("1"))
        packages.append(receive(store, product, 10))
    sale = sell(store, register, staff["ben"], packages[0].product, packages[0])
    # An audit record the dashboard lists, written the way the door writes it.
    queue_check_in(store=store, staff=staff["ben"], customer=ada, customer_type="adult_use")
    return {"store": store, "staff": staff, "register": register, "packages": packages, "sale": sale}


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def codes_shown(page) -> list[str]:
    text = page.locator("body").inner_text()
    return [code for code in CODES if re.search(rf"(?<![\w.]){re.escape(code)}(?![\w.])", text)]


def assert_nav(page, top: str, link: str) -> None:
    """The link owning the page is current; on a desk its menu (or itself) is marked on the bar, on a phone
    the bar folds into one menu where it is marked."""
    nav = page.locator("[data-nav]")
    current = nav.locator("[aria-current=page]")
    assert current.count() == 1 and current.text_content().strip() == link
    if page.viewport_size["width"] >= 1000:
        assert nav.locator("[data-nav-toggle]").is_hidden()
        assert nav.locator(".nav__link.is-active").inner_text().strip() == top
        # The whole bar fits beside the store and account menus.
        right = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('.topbar *')]"
            ".map(element => element.getBoundingClientRect().right))"
        )
        assert right <= page.viewport_size["width"]
    else:
        assert nav.locator("#nav-list").is_hidden()
        nav.locator("[data-nav-toggle]").click()
        assert current.is_visible()
        assert current.bounding_box()["x"] + current.bounding_box()["width"] <= page.viewport_size["width"]
        page.keyboard.press("Escape")
        assert nav.locator("#nav-list").is_hidden()


def visit(page, base_url: str, path: str, top: str, link: str) -> None:
    page.goto(f"{base_url}{path}")
    page.wait_for_load_state("networkidle")
    assert no_horizontal_overflow(page), path
    assert codes_shown(page) == [], path
    assert_nav(page, top, link)


@pytest.mark.parametrize("viewport", SIZES)
@pytest.mark.parametrize("username", ["olivia", "maria"])
def test_owner_and_manager_pages_fit_and_mark_their_link(live_server, browser, shop, username, viewport):  # noqa: F811
    page = browser.new_page(viewport=viewport)
    log_in(page, live_server.url, username)
    visit(page, live_server.url, "/dashboard/", "Dashboard", "Dashboard")
    assert "Checked in at the door" in page.locator("main").inner_text()
    visit(page, live_server.url, "/compliance/reports/", "Compliance", "Reports")
    visit(page, live_server.url, "/compliance/audit/", "Compliance", "Audit center")
    visit(page, live_server.url, "/compliance/sync/", "Compliance", "State sync")
    visit(page, live_server.url, "/pos/settings/coupons/", "Settings", "Promotions")
    visit(page, live_server.url, f"/pos/sales/{shop['sale'].pk}/", "Counter", "Sales")
    visit(page, live_server.url, "/pos/queue/", "Counter", "Queue")
    visit(page, live_server.url, "/inventory/", "Inventory", "Inventory")
    page.close()


@pytest.mark.parametrize("viewport", SIZES)
def test_compliance_officer_reaches_reports_and_the_audit_center(live_server, browser, shop, viewport):  # noqa: F811
    page = browser.new_page(viewport=viewport)
    log_in(page, live_server.url, "cora")
    visit(page, live_server.url, "/dashboard/", "Dashboard", "Dashboard")
    visit(page, live_server.url, "/compliance/reports/", "Compliance", "Reports")
    visit(page, live_server.url, "/compliance/audit/", "Compliance", "Audit center")
    # A menu of one link is that link on the bar.
    visit(page, live_server.url, "/outbox/dead-letters/", "Event outbox", "Event outbox")
    page.close()


@pytest.mark.parametrize("viewport", SIZES)
def test_budtender_pages_fit_and_the_chooser_has_no_bullet(live_server, browser, shop, viewport):  # noqa: F811
    page = browser.new_page(viewport=viewport)
    log_in(page, live_server.url, "ben")
    assert page.url == f"{live_server.url}/pos/register/"
    visit(page, live_server.url, "/pos/register/", "Register", "Register")
    choices = page.locator(".register-choice__list")
    assert choices.evaluate("list => getComputedStyle(list).listStyleType") == "none"
    visit(page, live_server.url, "/pos/", "Register", "Register")
    visit(page, live_server.url, "/pos/queue/", "Queue", "Queue")
    visit(page, live_server.url, f"/pos/sales/{shop['sale'].pk}/", "Sales", "Sales")
    page.close()


@pytest.mark.parametrize("viewport", SIZES)
def test_complete_is_on_screen_with_a_full_cart(live_server, browser, shop, viewport):  # noqa: F811
    page = browser.new_page(viewport=viewport)
    log_in(page, live_server.url, "ben")
    page.get_by_role("button", name=re.compile("Front 1")).click()
    page.get_by_role("button", name="New sale").click()
    page.wait_for_url(re.compile(r"/pos/register/carts/\d+/$"))
    swapped(
        page, lambda: (page.fill("#register-phone", "(415) 555-0134"), page.press("#register-phone", "Enter"))
    )
    page.fill("#register-dob", "1990-05-17")
    page.fill("#register-id-expires", "2035-01-31")
    swapped(page, lambda: page.press("#register-id-expires", "Enter"))
    for package in shop["packages"]:
        swapped(
            page,
            lambda tag=package.tag: (page.fill("#register-scan", tag), page.press("#register-scan", "Enter")),
        )
    assert page.locator("[data-line]").count() == 6
    assert no_horizontal_overflow(page)
    assert codes_shown(page) == []
    assert "(today)" in page.locator("[data-limit-meter]").inner_text()

    complete = page.locator("[data-complete]")
    box = complete.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    # Nothing covers it: the button itself is what a tap at its centre reaches.
    assert page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('[data-complete]') !== null",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    page.fill("#register-cash", "200")
    complete.click()
    page.wait_for_url(re.compile(r"/pos/sales/\d+/receipt/$"))
    assert Sale.objects.count() == 2
    page.close()


def swapped(page, action) -> None:
    page.evaluate(
        "() => { window.workspaceSettled = false; document.addEventListener('htmx:afterSettle',"
        " () => { window.workspaceSettled = true; }, { once: true }); }"
    )
    action()
    page.wait_for_function("() => window.workspaceSettled === true")


def test_the_queue_offers_the_register_the_budtender_works_at(live_server, browser, shop):  # noqa: F811
    page = browser.new_page(viewport=DESK)
    log_in(page, live_server.url, "ben")
    page.get_by_role("button", name=re.compile("Back 2")).click()
    page.goto(f"{live_server.url}/pos/queue/")
    assert page.locator("#queue-register option:checked").inner_text() == "Back 2"
    page.get_by_role("button", name="Take next").click()
    page.wait_for_url(re.compile(r"/pos/register/\?queue_entry=\d+$"))
    assert "Back 2" in page.locator("h1").inner_text()
    page.close()


def test_a_manager_approves_a_void_by_their_pin_alone_on_a_phone(live_server, browser, shop):  # noqa: F811
    page = browser.new_page(viewport=PHONE)
    log_in(page, live_server.url, "ben")
    page.goto(f"{live_server.url}/pos/sales/{shop['sale'].pk}/")
    page.locator("summary", has_text="Void").click()
    approval = page.locator("[action$='/void/'] .pos-approval")
    assert approval.locator("select").count() == 0  # nobody picks a name from a list
    approval.get_by_label("Manager PIN").fill("4821")
    page.get_by_role("button", name=re.compile("^Void")).click()
    page.wait_for_load_state("networkidle")
    assert no_horizontal_overflow(page)
    sale = Sale.objects.get(pk=shop["sale"].pk)
    assert (sale.status, sale.void_approved_by) == ("voided", shop["staff"]["maria"])
    assert "approved by" in page.locator("main").inner_text()
    page.close()
