"""The register's checks in a real Chromium, at 1280x800 and on a 390x844 phone: a refused coupon code leaves
the cart with its reason; senior, veteran and staff discounts and a loyalty reward chosen at the counter with
the check each needs; a caregiver buying for their patient; an out-of-state ID getting Illinois' visitor limits;
and a new promotion that is chosen at the counter unless the manager says automatic."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.utils import timezone

from compliance.identity import caregiver_link, patient_registration_set
from pos.models import Cart, LoyaltyAccount, LoyaltyProgram, PointsEntry, Promotion, Reward, Sale
from tests.browser.test_register import swapped
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.factories import register_with_drawer

pytestmark = [
    pytest.mark.skipif(
        not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("shipped_rules"),  # an earlier transactional test may have flushed them
]

SCREENS = [
    pytest.param({"width": 1280, "height": 800}, id="1280x800"),
    pytest.param({"width": 390, "height": 844}, id="phone"),
]


def shop_in(jurisdiction="US-CA", time_zone="America/Los_Angeles", region="CA"):
    organization = OrganizationFactory()
    store = StoreFactory(
        organization=organization,
        name="Main Street",
        jurisdiction=jurisdiction,
        time_zone=time_zone,
        region=region,
    )
    budtender = UserFactory(
        organization=organization,
        username="ben",
        first_name="Ben",
        last_name="Walker",
        roles=["budtender"],
        stores=[store],
    )
    UserFactory(
        organization=organization,
        username="mia",
        first_name="Mia",
        last_name="Stone",
        roles=["budtender"],
        stores=[store],
    )
    register_with_drawer(store, budtender, name="Front 1")
    eighth = ProductFactory(organization=organization, name="Blue Dream 3.5g", price=D("40.00"), sku="BD-35")
    ProductLimitAmountFactory(product=eighth, bucket="flower_g", amount=D("3.5"))
    receive(store, eighth, 40)
    return store


def start_sale(page, base_url, phone):
    log_in(page, base_url, "ben")
    page.goto(f"{base_url}/pos/register/")
    page.get_by_role("button", name=re.compile("Front 1")).click()
    page.get_by_role("button", name="New sale").click()
    page.wait_for_url(re.compile(r"/pos/register/carts/\d+/$"))
    page.fill("#register-phone", phone)
    swapped(page, lambda: page.locator("#register-phone").press("Enter"))


def check_id(page, born="1980-03-04", state=None):
    page.fill("#register-dob", born)
    page.fill("#register-id-expires", "2035-01-31")
    if state is not None:
        page.fill("#register-id-state", state)
    swapped(page, lambda: page.get_by_role("button", name="Check ID").click())


def add(page, code, quantity=None):
    page.fill("#register-scan", code)
    if quantity is not None:
        page.locator(".register-scan input[name=quantity]").fill(str(quantity))
    swapped(page, lambda: page.locator("#register-scan").press("Enter"))


def discounts(page):
    panel = page.locator("[data-discounts]")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    return panel


def pay_cash_and_complete(page):
    page.fill("#register-cash", "500")
    page.get_by_role("button", name=re.compile("Complete sale")).click()
    page.wait_for_url(re.compile(r"/pos/sales/\d+/receipt/$"))


def no_horizontal_scroll(page):
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("screen", SCREENS)
def test_a_refused_coupon_code_is_not_kept_and_says_why(live_server, browser, screen):  # noqa: F811
    store = shop_in()
    CustomerFactory(
        organization=store.organization, phone="+14155550134", first_name="Ada", last_name="Lovelace"
    )
    page = browser.new_page(viewport=screen)
    start_sale(page, live_server.url, "(415) 555-0134")
    add(page, "BD-35")
    page.fill("#register-coupon", "nope5")
    swapped(page, lambda: page.locator("#register-coupon").press("Enter"))
    assert (
        page.locator("[data-coupon-error]").inner_text()
        == "NOPE5 was not applied: NOPE5 is not a valid code."
    )
    assert page.locator(".register-coupon__codes").count() == 0
    assert Cart.objects.get().coupon_codes == []
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/register-coupon-{screen['width']}.png", full_page=True)
    page.close()


@pytest.mark.parametrize("screen", SCREENS)
def test_senior_veteran_and_staff_discounts_and_a_reward_at_the_counter(live_server, browser, screen):  # noqa: F811
    store = shop_in()
    organization = store.organization
    customer = CustomerFactory(
        organization=organization,
        phone="+14155550177",
        first_name="Walt",
        last_name="Keller",
        date_of_birth=dt.date(1950, 2, 1),
    )
    for name, group in (("Senior 10%", "senior"), ("Veteran 10%", "veteran"), ("Staff 20%", "employee")):
        Promotion.objects.create(
            organization=organization,
            name=name,
            kind="percent",
            value=D("20" if group == "employee" else "10"),
            customer_group=group,
            stackable=True,
        )
    LoyaltyProgram.objects.create(organization=organization, points_expire_after_days=365)
    Reward.objects.create(organization=organization, name="$5 off", points_cost=100, value=D("5"))
    account = LoyaltyAccount.objects.create(customer=customer, balance=150)
    now = timezone.now()
    PointsEntry.objects.create(
        account=account,
        kind="earned",
        points=150,
        remaining=150,
        created_at=now,
        expires_at=now + dt.timedelta(days=90),
    )

    page = browser.new_page(viewport=screen)
    start_sale(page, live_server.url, "(415) 555-0177")
    add(page, "BD-35")
    panel = discounts(page)
    # Seniors by the ID's age: without the ID checked the choice is refused with what it needs.
    swapped(
        page, lambda: panel.locator("li", has_text="Senior 10%").get_by_role("button", name="Apply").click()
    )
    assert page.locator("[data-discount-error]").inner_text() == (
        "Senior 10% was not applied: For seniors: the ID checked must show 65 or older."
    )
    check_id(page, born="1950-02-01")
    panel = discounts(page)
    swapped(
        page, lambda: panel.locator("li", has_text="Senior 10%").get_by_role("button", name="Apply").click()
    )
    # Veterans: a stated check of the proof seen.
    panel = discounts(page)
    swapped(
        page, lambda: panel.locator("li", has_text="Veteran 10%").get_by_role("button", name="Apply").click()
    )
    assert "For veterans" in page.locator("[data-discount-error]").inner_text()
    panel = discounts(page)
    panel.locator("[data-veteran] select").select_option("va_card")
    swapped(page, lambda: panel.get_by_role("button", name="Confirm veteran").click())
    panel = discounts(page)
    assert "VA health or benefits card seen" in panel.locator("[data-veteran]").inner_text()
    swapped(
        page, lambda: panel.locator("li", has_text="Veteran 10%").get_by_role("button", name="Apply").click()
    )
    # Staff: the staff member buying, never the budtender ringing it up.
    panel = discounts(page)
    panel.locator("[data-employee] select").select_option(label="Mia Stone")
    swapped(page, lambda: panel.get_by_role("button", name="Staff purchase").click())
    panel = discounts(page)
    swapped(
        page, lambda: panel.locator("li", has_text="Staff 20%").get_by_role("button", name="Apply").click()
    )
    # A loyalty reward for points.
    panel = discounts(page)
    swapped(page, lambda: panel.locator("li", has_text="$5 off").get_by_role("button", name="Redeem").click())
    line = page.locator("[data-line]").inner_text()
    for name in ("Senior 10%", "Veteran 10%", "Staff 20%", "$5 off"):
        assert name in line
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/register-discounts-{screen['width']}.png", full_page=True)
    pay_cash_and_complete(page)
    sale = Sale.objects.get()
    # 40.00: 10% + 10% + 20% stacked = 16.00, then the $5 reward
    assert (sale.discount_total, sale.veteran_proof, sale.employee.username, sale.points_redeemed) == (
        D("21.00"),
        "va_card",
        "mia",
        100,
    )
    page.close()


@pytest.mark.parametrize("screen", SCREENS)
def test_a_caregiver_buys_for_their_patient(live_server, browser, screen):  # noqa: F811
    store = shop_in()
    organization = store.organization
    manager = UserFactory(organization=organization, roles=["manager"], stores=[store])
    patient = CustomerFactory(
        organization=organization, first_name="Maya", last_name="Young", date_of_birth=dt.date(2012, 6, 1)
    )
    patient_registration_set(
        customer=patient,
        actor=manager,
        card_number="P-15",
        state="CA",
        expires_on=timezone.localdate() + dt.timedelta(days=300),
    )
    caregiver = CustomerFactory(
        organization=organization, phone="+14155550188", first_name="Carl", last_name="Young"
    )
    caregiver_link(caregiver=caregiver, patient=patient, actor=manager, caregiver_card_number="CG-7")

    page = browser.new_page(viewport=screen)
    start_sale(page, live_server.url, "(415) 555-0188")
    swapped(page, lambda: page.get_by_role("button", name="Buy for Maya").click())
    buyer = page.locator("[data-caregiver]").inner_text()
    assert "Carl Young is buying for their patient Maya Young" in buyer
    check_id(page, born="1980-03-04")  # the caregiver's ID
    assert "ID checked" in page.locator("[data-id-status]").inner_text()
    add(page, "BD-35")
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/register-caregiver-{screen['width']}.png", full_page=True)
    pay_cash_and_complete(page)
    sale = Sale.objects.get()
    assert (sale.customer, sale.caregiver, sale.customer_type) == (patient, caregiver, "medical")
    page.close()


@pytest.mark.parametrize("screen", SCREENS)
def test_an_out_of_state_id_gets_illinois_visitor_limits(live_server, browser, screen):  # noqa: F811
    store = shop_in("US-IL", "America/Chicago", "IL")
    CustomerFactory(organization=store.organization, phone="+13125550144", first_name="Vic", last_name="Tor")
    page = browser.new_page(viewport=screen)
    start_sale(page, live_server.url, "(312) 555-0144")
    check_id(page, state="WI")
    assert "Visitor" in page.locator("[data-residency]").inner_text()
    flower = page.locator("[data-limit='flower']")
    assert "15 g" in flower.inner_text()
    add(page, "BD-35", 5)
    assert "Refused" in page.locator("[data-refusal]").inner_text()
    assert "15 g per-transaction limit" in page.locator("[data-refusal]").inner_text()
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/register-visitor-{screen['width']}.png", full_page=True)
    page.close()


@pytest.mark.parametrize("screen", SCREENS)
def test_a_new_promotion_is_chosen_at_the_counter_by_default(live_server, browser, screen):  # noqa: F811
    store = shop_in()
    UserFactory(organization=store.organization, username="maria", roles=["manager"], stores=[store])
    page = browser.new_page(viewport=screen)
    log_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/pos/settings/promotions/new/")
    assert page.get_by_label("Chosen at the counter, or by a coupon code").is_checked()
    assert not page.get_by_label("Automatically, on every sale it fits").is_checked()
    page.fill("#id_name", "Loyal locals")
    page.select_option("#id_kind", "percent")
    page.fill("#id_value", "5")
    with page.expect_navigation():
        page.get_by_role("button", name="Create promotion").click()
    page.screenshot(path=f"/tmp/promotion-created-{screen['width']}.png", full_page=True)
    assert page.url == f"{live_server.url}/pos/settings/promotions/"
    assert Promotion.objects.get(name="Loyal locals").automatic is False
    page.close()
