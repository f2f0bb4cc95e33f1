"""The register in a real Chromium, by keyboard as a budtender with a barcode scanner works: a whole sale from
the phone lookup to the receipt, a line refused at the limit, and a double-submitted completion that makes one
sale. Uses Debian's chromium (never a downloaded browser); the setup is the web shell tests'."""

import os
import re
from decimal import Decimal as D

import pytest

from pos.models import Cart, CartLine, Coupon, CouponRedemption, Promotion, Sale
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.factories import register_with_drawer

pytestmark = [
    pytest.mark.skipif(
        not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def shop(shipped_rules):
    organization = OrganizationFactory()
    store = StoreFactory(organization=organization, name="Mission Street")
    budtender = UserFactory(organization=organization, username="ben", roles=["budtender"], stores=[store])
    register_with_drawer(store, budtender, name="Front 1")
    CustomerFactory(organization=organization, phone="+14155550134", first_name="Ada", last_name="Lovelace")
    eighth = ProductFactory(organization=organization, name="Blue Dream 3.5g", price=D("45.00"))
    ProductLimitAmountFactory(product=eighth, bucket="flower_g", amount=D("3.5"))
    ounce = ProductFactory(organization=organization, name="House Ounce", price=D("180.00"))
    ProductLimitAmountFactory(product=ounce, bucket="flower_g", amount=D("28"))
    ten = Promotion.objects.create(
        organization=organization, name="Text club 10%", kind="percent", value=D("10"), automatic=False
    )
    Coupon.objects.create(organization=organization, code="TEXT10", promotion=ten, message_id="msg-1")
    return {
        "store": store,
        "first": receive(store, eighth, 10),
        "second": receive(store, eighth, 10),
        "ounce": receive(store, ounce, 5),
    }


def open_cart_for_ada(page, base_url: str) -> None:
    """Log in, choose the register, start a sale, find Ada by phone and check her ID by typed date of birth."""
    log_in(page, base_url, "ben")
    page.goto(f"{base_url}/pos/register/")
    page.get_by_role("button", name=re.compile("Front 1")).press("Enter")
    page.get_by_role("button", name="New sale").press("Enter")
    page.wait_for_url(re.compile(r"/pos/register/carts/\d+/$"))
    scan = page.locator("#register-scan")
    assert scan.evaluate("element => element === document.activeElement")
    page.keyboard.press("F4")
    page.keyboard.type("(415) 555-0134")
    swapped(page, lambda: page.keyboard.press("Enter"))
    assert "Ada Lovelace" in page.locator("[data-customer-card]").inner_text()
    page.fill("#register-dob", "1990-05-17")
    page.fill("#register-id-expires", "2035-01-31")
    swapped(page, lambda: page.locator("#register-id-expires").press("Enter"))
    assert "ID checked" in page.locator("[data-id-status]").inner_text()
    # Back to scanning once the ID is checked, as after every change.
    assert page.locator("#register-scan").evaluate("element => element === document.activeElement")


def swapped(page, action) -> None:
    """Do `action` and wait until htmx has swapped in a new workspace and settled (htmx puts the focus back
    at settling, so typing before it could land in another field)."""
    page.evaluate(
        "() => { window.workspaceSettled = false; document.addEventListener('htmx:afterSettle',"
        " () => { window.workspaceSettled = true; }, { once: true }); }"
    )
    action()
    page.wait_for_function("() => window.workspaceSettled === true")


def scan(page, code: str) -> None:
    page.keyboard.press("Escape")  # back to the scan field, as after every swap
    page.keyboard.type(code)
    swapped(page, lambda: page.keyboard.press("Enter"))


def flower_in_cart(page) -> str:
    return page.locator("[data-limit] [data-in-cart]").first.inner_text()


def test_budtender_sells_two_scanned_tags_with_a_coupon_for_cash_and_prints(live_server, browser, shop):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_cart_for_ada(page, live_server.url)
    assert flower_in_cart(page) == "0 g"

    scan(page, shop["first"].tag)
    assert flower_in_cart(page) == "3.5 g"
    scan(page, shop["second"].tag)
    assert flower_in_cart(page) == "7 g"
    assert page.locator("[data-line]").count() == 2

    page.fill("#register-coupon", "text10")
    swapped(page, lambda: page.locator("#register-coupon").press("Enter"))
    assert "TEXT10" in page.locator(".register-coupon").inner_text()

    page.keyboard.press("F8")
    page.keyboard.type("200")
    assert page.locator("[data-change-due]").inner_text() != "0.00"
    page.keyboard.press("F9")
    page.wait_for_url(re.compile(r"/pos/sales/\d+/receipt/$"))
    sale = Sale.objects.get()
    assert page.url == f"{live_server.url}/pos/sales/{sale.pk}/receipt/"
    assert sorted(sale.lines.values_list("package__tag", flat=True)) == sorted(
        [shop["first"].tag, shop["second"].tag]
    )
    assert sale.discount_total == D("9.00")  # 10% of two eighths at 45.00
    assert CouponRedemption.objects.get(sale=sale).message_id == "msg-1"

    # The receipt: its Print button prints, and printed it is the 80 mm receipt alone.
    receipt = page.locator("#receipt")
    assert sale.receipt_number in receipt.inner_text() and "TEXT10" not in page.url
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print receipt").click()
    assert page.evaluate("() => window.printed") == 1
    page.emulate_media(media="print")
    assert not page.locator(".receipt-actions").is_visible()
    width_mm = receipt.evaluate("element => element.getBoundingClientRect().width") * 25.4 / 96
    assert 72 <= round(width_mm) <= 80
    page.close()


def test_a_line_over_the_limit_is_refused_with_the_message(live_server, browser, shop):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_cart_for_ada(page, live_server.url)
    scan(page, shop["ounce"].tag)
    assert flower_in_cart(page) == "28 g"

    scan(page, shop["first"].tag)
    refusal = page.locator("[data-refusal]")
    assert refusal.inner_text() == (
        "Refused: Line 2 (1 x Blue Dream 3.5g) would bring non-concentrated cannabis to 31.5 g of the 28.5 g"
        " daily limit: 3 g over."
    )
    assert flower_in_cart(page) == "28 g"
    assert page.locator("[data-line]").count() == 1
    assert list(CartLine.objects.values_list("package", flat=True)) == [shop["ounce"].pk]
    page.close()


def test_double_submitted_completion_makes_one_sale(live_server, browser, shop):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_cart_for_ada(page, live_server.url)
    scan(page, shop["first"].tag)
    workspace = page.locator("#register-workspace")
    complete_url = workspace.get_attribute("data-complete-url")
    key = workspace.get_attribute("data-idempotency-key")
    page.fill("#register-cash", "100")
    page.locator("[data-complete]").dblclick()
    page.wait_for_url(re.compile(r"/pos/sales/\d+/receipt/$"))
    sale = Sale.objects.get()

    # The same request replayed (a retry after a lost answer) returns the same sale.
    csrf = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "csrftoken")
    replay = page.request.post(
        f"{live_server.url}{complete_url}",
        data={"idempotency_key": key, "tenders": [{"kind": "cash", "amount": "100", "reference": ""}]},
        headers={"X-CSRFToken": csrf, "Referer": live_server.url + "/"},
    )
    assert replay.ok and replay.json()["sale_id"] == sale.pk
    assert Sale.objects.count() == 1
    page.close()


def test_completion_offline_is_kept_and_sent_again(live_server, browser, shop):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    open_cart_for_ada(page, live_server.url)
    scan(page, shop["first"].tag)
    page.fill("#register-cash", "100")
    context.set_offline(True)
    page.locator("[data-complete]").click()
    banner = page.locator("[data-offline-banner]")
    banner.wait_for(state="visible")
    assert banner.inner_text() == (
        "Connection to the server lost — the cart is kept on this register; it will be sent again when the"
        " server answers"
    )
    assert page.evaluate("() => JSON.parse(localStorage.getItem('pos.register.pending')).tenders") == [
        {"kind": "cash", "amount": "100", "reference": ""}
    ]
    assert not Sale.objects.exists()
    context.set_offline(False)
    page.wait_for_url(re.compile(r"/pos/sales/\d+/receipt/$"), timeout=30000)
    assert Sale.objects.count() == 1
    context.close()


def test_a_product_picked_from_the_search_by_keyboard_joins_the_cart(live_server, browser, shop):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_cart_for_ada(page, live_server.url)
    page.keyboard.press("F2")
    page.keyboard.type("Blue Dream")
    page.locator("[data-search-pick]").first.wait_for()
    swapped(page, lambda: page.keyboard.press("Enter"))  # the first product found
    assert page.locator("[data-line]").count() == 1
    assert flower_in_cart(page) == "3.5 g"
    assert CartLine.objects.get().product == shop["first"].product
    # The search is done: its results gone, and the scanner's field has the focus again.
    assert page.locator("[data-search-pick]").count() == 0
    assert page.locator("#register-search").input_value() == ""
    assert page.locator("#register-scan").evaluate("element => element === document.activeElement")
    page.close()


def test_an_anonymous_sale_then_the_next_one_from_the_receipt(live_server, browser, shop):  # noqa: F811
    """A new cart is an anonymous adult-use sale as it stands: check the ID, scan, pay; the receipt's New sale
    button starts the register's next cart."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    log_in(page, live_server.url, "ben")
    page.goto(f"{live_server.url}/pos/register/")
    page.get_by_role("button", name=re.compile("Front 1")).press("Enter")
    page.get_by_role("button", name="New sale").press("Enter")
    page.wait_for_url(re.compile(r"/pos/register/carts/\d+/$"))
    assert "No customer: anonymous sale." in page.locator("#register-workspace").inner_text()
    assert page.get_by_role("button", name="Anonymous sale (adult use)").count() == 0
    page.fill("#register-dob", "1990-05-17")
    page.fill("#register-id-expires", "2035-01-31")
    swapped(page, lambda: page.locator("#register-id-expires").press("Enter"))
    scan(page, shop["first"].tag)
    page.keyboard.press("F8")
    page.keyboard.type("100")
    page.keyboard.press("F9")
    page.wait_for_url(re.compile(r"/pos/sales/\d+/receipt/$"))
    sale = Sale.objects.get()
    assert sale.customer is None and sale.customer_type == "adult_use"
    if os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(
            path=os.path.join(os.environ["BROWSER_SCREENSHOTS"], "receipt-1280.png"), full_page=True
        )
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(
            path=os.path.join(os.environ["BROWSER_SCREENSHOTS"], "receipt-390.png"), full_page=True
        )
    page.get_by_role("button", name="New sale").click()
    page.wait_for_url(re.compile(r"/pos/register/carts/\d+/$"))
    following = Cart.objects.get(status=Cart.Status.OPEN)
    assert page.url == f"{live_server.url}/pos/register/carts/{following.pk}/"
    if os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["BROWSER_SCREENSHOTS"], "cart-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=os.path.join(os.environ["BROWSER_SCREENSHOTS"], "cart-1280.png"))
    page.close()
