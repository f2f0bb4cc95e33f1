import datetime as dt
import json
import re
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispensary.clock import store_local_date
from pos.models import Cart, CartLine, Sale
from pos.selectors.carts import cart_view
from pos.services.carts import cart_id_verify, cart_open, cart_scan
from pos.views.register import _update
from tests.factories import CustomerFactory, StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, days, receive
from tests.pos.factories import register_with_drawer

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(client, budtender):
    client.force_login(budtender)
    return client


@pytest.fixture
def cart(store, register, budtender):
    customer = CustomerFactory(organization=store.organization, phone="+14155550134")
    return cart_open(store=store, register=register, staff=budtender, customer=customer)


def url(cart, name="", *args):
    base = f"/pos/register/carts/{cart.pk}/"
    return base + name


def test_register_needs_the_sales_permission(client, organization, store):
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    assert client.get("/pos/register/").status_code == 302
    client.force_login(driver)
    assert client.get("/pos/register/").status_code == 403


def test_choose_a_register_then_start_a_cart(client_in, store, register, budtender):
    response = client_in.get("/pos/register/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Register 1" in html and "Drawer open" in html and "autofocus" in html
    response = client_in.post("/pos/register/choose/", {"register": register.pk})
    assert response.status_code == 302 and response["Location"] == "/pos/register/"
    response = client_in.get("/pos/register/")
    assert 'href="/pos/drawers/"' in response.content.decode()
    response = client_in.post("/pos/register/carts/new/")
    cart = Cart.objects.get()
    assert response["Location"] == f"/pos/register/carts/{cart.pk}/"
    assert (cart.register, cart.staff, cart.status) == (register, budtender, "open")
    # The register remembers the open cart.
    assert client_in.get("/pos/register/")["Location"] == f"/pos/register/carts/{cart.pk}/"


def test_other_stores_registers_and_carts_are_404(client_in, organization, budtender):
    other = StoreFactory(organization=organization)
    other_register = register_with_drawer(other, budtender, name="Elsewhere")
    other_cart = cart_open(store=other, register=other_register, staff=budtender)
    assert client_in.post("/pos/register/choose/", {"register": other_register.pk}).status_code == 404
    assert client_in.get(f"/pos/register/carts/{other_cart.pk}/").status_code == 404
    assert client_in.post(f"/pos/register/carts/{other_cart.pk}/scan/", {"code": "X"}).status_code == 404
    assert client_in.post(f"/pos/register/carts/{other_cart.pk}/complete/").status_code == 404


def test_screen_has_the_keyboard_markup(client_in, cart):
    html = client_in.get(url(cart)).content.decode()
    assert 'id="register-scan"' in html and "autofocus" in html
    assert 'accesskey="s"' in html and "<kbd>F2</kbd> search" in html
    assert f'data-idempotency-key="{cart.idempotency_key}"' in html
    assert "Connection to the server lost" in html
    assert "/static/pos/register.js" in html


def test_scan_answers_the_lines_totals_and_meter_out_of_band(client_in, cart, product, package):
    response = client_in.post(url(cart, "scan/"), {"code": package.tag}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="register-workspace"' not in html  # not the whole workspace
    line = CartLine.objects.get()
    assert line.package == package
    # The screen did not say which rows it has: every row comes, in the body of the lines' table.
    assert '<tbody id="register-lines-body" hx-swap-oob="true">' in html
    assert f'<tr id="cart-line-{line.pk}" data-line="{line.pk}"' in html and package.tag in html
    for part in ("register-totals", "register-limits", "register-message", "register-complete"):
        assert re.search(f'id="{part}"[^>]* hx-swap-oob="true"', html), part
    assert re.search(r'data-total="(\d+\.\d\d)"', html).group(1) == re.search(
        r"data-total-amount>(\d+\.\d\d)<", html
    ).group(1)
    assert "data-in-cart>3.5 g<" in html
    assert "data-refusal" not in html and "data-customer-card" not in html


def _row_keys(html: str) -> str:
    return ",".join(
        f"{line}:{key}" for line, key in re.findall(r'data-line="(\d+)" data-row-key="(\w+)"', html)
    )


def test_an_update_answers_only_the_rows_that_changed(client_in, store, organization, cart, product, package):
    first = client_in.post(url(cart, "scan/"), {"code": package.tag}, HTTP_HX_REQUEST="true").content.decode()
    shown = _row_keys(first)
    line = CartLine.objects.get()
    other = receive(store, ProductFactory(organization=organization, name="Gummies", price=D("20.00")), 5)

    second = client_in.post(url(cart, "scan/"), {"code": other.tag, "rows": shown}, HTTP_HX_REQUEST="true")
    html = second.content.decode()
    added = CartLine.objects.exclude(pk=line.pk).get()
    assert f'id="cart-line-{line.pk}"' not in html  # unchanged: not sent again
    assert '<tbody hx-swap-oob="beforeend:#register-lines-body">' in html
    assert f'<tr id="cart-line-{added.pk}" data-line="{added.pk}"' in html and "Gummies" in html
    shown = _row_keys(first) + "," + _row_keys(html)

    # A new quantity changes its row (and only it); a removal deletes the row on the screen.
    html = client_in.post(
        url(cart, f"lines/{line.pk}/quantity/"), {"quantity": "2", "rows": shown}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'<tr id="cart-line-{line.pk}" data-line="{line.pk}"' in html and 'hx-swap-oob="true"' in html
    assert f'id="cart-line-{added.pk}"' not in html and "data-in-cart>7 g<" in html
    html = client_in.post(
        url(cart, f"lines/{added.pk}/remove/"), {"rows": shown}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'<tr id="cart-line-{added.pk}" hx-swap-oob="delete"></tr>' in html
    assert list(CartLine.objects.values_list("pk", flat=True)) == [line.pk]

    # The last line removed: the body comes back whole, with the word that the cart is empty.
    html = client_in.post(
        url(cart, f"lines/{line.pk}/remove/"), {"rows": f"{line.pk}:x"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert '<tbody id="register-lines-body" hx-swap-oob="true">' in html and "data-cart-empty" in html


def test_without_javascript_a_scan_answers_the_whole_screen(client_in, cart, package):
    response = client_in.post(url(cart, "scan/"), {"code": package.tag})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and 'id="register-workspace"' in html
    assert "hx-swap-oob" not in html and "data-in-cart>3.5 g<" in html
    refused = client_in.post(url(cart, "scan/"), {"code": "NOPE"})
    assert refused.status_code == 400 and "Nothing here has the tag" in refused.content.decode()


def test_refused_line_shows_the_message_and_changes_nothing(client_in, cart, product, package):
    client_in.post(url(cart, "lines/"), {"product_id": product.pk, "quantity": "8"}, HTTP_HX_REQUEST="true")
    response = client_in.post(url(cart, "scan/"), {"code": package.tag}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "data-refusal" in html and "daily limit: 3 g over." in html
    assert list(CartLine.objects.values_list("quantity", flat=True)) == [D("8")]


def test_customer_lookup_sets_the_customer(client_in, store, register, budtender):
    customer = CustomerFactory(organization=store.organization, phone="+14155550177", first_name="Ada")
    cart = cart_open(store=store, register=register, staff=budtender)
    response = client_in.post(url(cart, "customer/"), {"phone": "(415) 555-0177"}, HTTP_HX_REQUEST="true")
    assert "data-customer-card" in response.content.decode()
    cart.refresh_from_db()
    assert cart.customer == customer
    response = client_in.post(url(cart, "customer/"), {"phone": "(415) 555-0999"}, HTTP_HX_REQUEST="true")
    assert "No customer has that phone number" in response.content.decode()


def test_id_by_typed_date_of_birth(client_in, cart):
    response = client_in.post(
        url(cart, "id/"),
        {"date_of_birth": "1990-05-17", "expires_on": str(days(300))},
        HTTP_HX_REQUEST="true",
    )
    assert "ID checked" in response.content.decode()
    response = client_in.post(
        url(cart, "id/"),
        {"date_of_birth": "2015-05-17", "expires_on": str(days(300))},
        HTTP_HX_REQUEST="true",
    )
    assert "ID refused" in response.content.decode()


def _ready(cart, budtender, package, client):
    cart_id_verify(cart=cart, staff=budtender, date_of_birth=dt.date(1990, 5, 17), expires_on=days(300))
    client.post(url(cart, "scan/"), {"code": package.tag}, HTTP_HX_REQUEST="true")


def test_form_completion_redirects_to_the_receipt(client_in, cart, budtender, package):
    _ready(cart, budtender, package, client_in)
    response = client_in.post(
        url(cart, "complete/"), {"idempotency_key": cart.idempotency_key, "cash_amount": "100"}
    )
    sale = Sale.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/pos/sales/{sale.pk}/receipt/"


def test_json_completion_is_idempotent(client_in, cart, budtender, package):
    _ready(cart, budtender, package, client_in)
    body = json.dumps(
        {"idempotency_key": cart.idempotency_key, "tenders": [{"kind": "cash", "amount": "100"}]}
    )
    first = client_in.post(url(cart, "complete/"), body, content_type="application/json")
    second = client_in.post(url(cart, "complete/"), body, content_type="application/json")
    sale = Sale.objects.get()
    assert (
        first.json()
        == second.json()
        == {
            "sale_id": sale.pk,
            "receipt_number": sale.receipt_number,
            "total": str(sale.total),
            "change_due": str(D("100") - sale.total),
            "receipt_url": f"/pos/sales/{sale.pk}/receipt/",
        }
    )


def test_json_completion_errors(client_in, cart, budtender, package):
    _ready(cart, budtender, package, client_in)
    wrong = client_in.post(
        url(cart, "complete/"),
        json.dumps({"idempotency_key": "nope", "tenders": [{"kind": "cash", "amount": "100"}]}),
        content_type="application/json",
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid"
    short = client_in.post(
        url(cart, "complete/"),
        json.dumps({"idempotency_key": cart.idempotency_key, "tenders": [{"kind": "cash", "amount": "1"}]}),
        content_type="application/json",
    )
    assert short.status_code == 400 and short.json()["code"] == "tender_invalid"
    garbage = client_in.post(url(cart, "complete/"), "{", content_type="application/json")
    assert garbage.status_code == 400
    assert not Sale.objects.exists()


def _lines(store, organization, cart, count):
    for _ in range(count):
        product = ProductFactory(organization=organization, price=D("10.00"))
        ProductLimitAmountFactory(product=product, bucket="flower_g", amount=D("1"))
        package = receive(store, product, 5)
        CartLine.objects.create(
            cart=cart, product=product, package=package, quantity=1, added_at=dt.datetime.now(dt.UTC)
        )
    return package


@pytest.mark.parametrize("size", [1, 20])
def test_a_screen_update_reads_nothing_after_the_change(
    rf, django_assert_max_num_queries, store, organization, cart, budtender, size
):
    """The update is built from the change's own lines and quote: no read in the view or the templates."""
    if size > 1:
        _lines(store, organization, cart, size - 1)
    extra = receive(store, ProductFactory(organization=organization, price=D("5")), 5)
    change = cart_scan(cart=cart, staff=budtender, code=extra.tag)
    request = rf.post(url(cart, "scan/"), HTTP_HX_REQUEST="true")
    request.user, request.store = budtender, store
    with django_assert_max_num_queries(8) as captured:
        response = _update(request, cart, cart_view(cart=cart, lines=change.lines, quote=change.quote))
    assert len(captured) == 0
    assert response.content.decode().count("data-line=") == size


@pytest.fixture
def served_with_redis(settings):
    """As served with CACHE_URL (Redis): the member, their permissions and stores kept per process, sessions
    read from the cache. Requested before the client logs in, so that its session is the cache's."""
    settings.ACCESS_CACHE = True
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


def _as_committed():
    """The test's rows as if their transaction had committed (it never does): from here on each process keeps
    its per-process reads (the member, their permissions and stores, the catalog) as it does between requests
    in production, so the counts are those of a register at work."""
    from dispensary.versioned import _changed_in_transaction

    _changed_in_transaction().clear()


def _statements(captured) -> int:
    """Queries, less the savepoints of the test's transaction (BEGIN and COMMIT in production, which are not
    counted either)."""
    return sum(1 for query in captured.captured_queries if "SAVEPOINT" not in query["sql"])


def test_scan_and_render_query_counts_do_not_grow_with_the_cart(
    served_with_redis, client_in, store, organization, cart
):
    counts = []
    for size in (1, 20):
        CartLine.objects.filter(cart=cart).delete()
        _lines(store, organization, cart, size)
        extra = receive(store, ProductFactory(organization=organization, price=D("5")), 5)
        _as_committed()
        client_in.get(url(cart))  # the first request fills per-process caches (content types, the member)
        with CaptureQueriesContext(connection) as scan:
            answer = client_in.post(url(cart, "scan/"), {"code": extra.tag}, HTTP_HX_REQUEST="true")
        assert answer.status_code == 200 and "data-refusal" not in answer.content.decode()
        with CaptureQueriesContext(connection) as render:
            client_in.get(url(cart))
        counts.append((_statements(scan), _statements(render)))
    assert counts[0] == counts[1]
    # A scan: the cart locked (with its store, customer and ID check), the package, the lines, the product just
    # scanned and its limit amounts (read once per process), the customer's 90 days of history, the insert and
    # the cart's time, the customer's open orders (counted by the limits). The session, the member, their
    # permissions and stores come from the cache, and so do the rules, taxes, promotions and the loyalty program.
    assert counts[0][0] <= 9
    # The page adds the cart, its organization, the customer's viewing (audited), the profile (loyalty, recent
    # sales), the counter's choices (promotions, rewards, staff, a caregiver's patients) and the drawer.
    assert counts[0][1] <= 16


def test_a_steady_register_scans_in_seven_queries(served_with_redis, client_in, store, organization, cart):
    """With the products already read by this process (a register at work), a scan for a customer is seven
    queries: lock, package, lines, history, open orders, insert, the cart's time; six on PostgreSQL, where the
    cart is locked and touched in one statement (SQLite reads it, then touches it)."""
    _lines(store, organization, cart, 3)
    extra = receive(store, ProductFactory(organization=organization, price=D("5")), 5)
    _as_committed()
    client_in.get(url(cart))
    client_in.post(url(cart, "scan/"), {"code": extra.tag}, HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as scan:
        answer = client_in.post(url(cart, "scan/"), {"code": extra.tag}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and "data-refusal" not in answer.content.decode()
    assert CartLine.objects.get(cart=cart, package=extra).quantity == 2
    expected = 6 if connection.vendor == "postgresql" else 7
    assert _statements(scan) == expected, [query["sql"][:80] for query in scan.captured_queries]


def test_a_change_on_another_stores_cart_is_404_and_changes_nothing(
    client_in, organization, budtender, product, package
):
    other = StoreFactory(organization=organization)
    foreign = cart_open(store=other, register=register_with_drawer(other, budtender), staff=budtender)
    for path, data in (("scan/", {"code": package.tag}), ("lines/", {"product_id": product.pk})):
        assert client_in.post(url(foreign, path), data, HTTP_HX_REQUEST="true").status_code == 404
    assert client_in.post("/pos/register/carts/99999999/scan/", {"code": package.tag}).status_code == 404
    assert not CartLine.objects.filter(cart=foreign).exists()


def test_queue_entry_starts_a_cart_for_its_customer(client_in, store, register, budtender, adult_id):
    from pos.models import QueueEntry

    customer = CustomerFactory(organization=store.organization)
    verification = adult_id(customer)
    entry = QueueEntry.objects.create(
        store=store,
        local_date=store_local_date(store),
        number=7,
        customer=customer,
        display_name="Ada L.",
        id_verification=verification,
        checked_in_at=dt.datetime.now(dt.UTC),
    )
    client_in.post("/pos/register/choose/", {"register": register.pk})
    html = client_in.get(f"/pos/register/?queue_entry={entry.pk}").content.decode()
    assert "Serve #7 Ada L." in html
    response = client_in.post("/pos/register/carts/new/", {"queue_entry": entry.pk})
    cart = Cart.objects.get()
    assert response["Location"] == f"/pos/register/carts/{cart.pk}/"
    assert (cart.queue_entry, cart.customer, cart.id_verification) == (entry, customer, verification)
    assert client_in.get("/pos/register/?queue_entry=999999").status_code == 404


def test_search_lists_products_to_pick_by_keyboard(client_in, cart, product):
    html = client_in.get(url(cart, "search/"), {"q": product.sku}).content.decode()
    assert product.name in html and "data-search-pick" in html and 'role="listbox"' in html
    assert "Nothing matches" in client_in.get(url(cart, "search/"), {"q": "zzzz"}).content.decode()


def test_override_and_coupon_through_the_screen(client_in, cart, manager, product, package):
    from pos.services.pins import manager_pin_set

    manager_pin_set(user=manager, pin="4821", actor=manager)
    client_in.post(url(cart, "lines/"), {"product_id": product.pk}, HTTP_HX_REQUEST="true")
    line = CartLine.objects.get()
    wrong = client_in.post(
        url(cart, f"lines/{line.pk}/override/"),
        {"unit_price": "40", "pin": "1111"},
        HTTP_HX_REQUEST="true",
    )
    assert "A manager of this store must approve with their PIN." in wrong.content.decode()
    html = client_in.post(
        url(cart, f"lines/{line.pk}/override/"),
        {"unit_price": "40", "pin": "4821"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Price override to 40.00 −5.00" in html
    refused = client_in.post(url(cart, "coupons/"), {"code": "save10"}, HTTP_HX_REQUEST="true")
    assert "SAVE10 was not applied: SAVE10 is not a valid code." in refused.content.decode()
    cart.refresh_from_db()
    assert cart.coupon_codes == []


def test_a_refused_coupon_is_not_kept_and_a_good_one_is(client_in, cart, store, product, package):
    from pos.models import Coupon, Promotion

    client_in.post(url(cart, "lines/"), {"product_id": product.pk}, HTTP_HX_REQUEST="true")
    promotion = Promotion.objects.create(
        organization=store.organization, name="Ten off", kind="percent", value=10
    )
    Coupon.objects.create(
        organization=store.organization, code="SPENT", promotion=promotion, max_uses=1, uses=1
    )
    Coupon.objects.create(
        organization=store.organization, code="BIG", promotion=promotion, min_spend=D("500")
    )
    Coupon.objects.create(organization=store.organization, code="TEN", promotion=promotion)

    for code, reason in [
        ("spent", "SPENT was not applied: SPENT has already been used."),
        ("big", "BIG was not applied: BIG needs a spend of 500.00; the cart comes to 45.00."),
    ]:
        html = client_in.post(url(cart, "coupons/"), {"code": code}, HTTP_HX_REQUEST="true").content.decode()
        assert reason in html
        cart.refresh_from_db()
        assert cart.coupon_codes == []
        assert "register-coupon__codes" not in html

    html = client_in.post(url(cart, "coupons/"), {"code": "ten"}, HTTP_HX_REQUEST="true").content.decode()
    cart.refresh_from_db()
    assert cart.coupon_codes == ["TEN"]
    assert "TEN: Ten off −4.50" in html
    html = client_in.post(url(cart, "coupons/"), {"remove": "TEN"}, HTTP_HX_REQUEST="true").content.decode()
    cart.refresh_from_db()
    assert cart.coupon_codes == []


def test_the_customer_panel_loads_the_profile_and_consent_on_demand(client_in, store, cart, budtender):
    from pos.services.carts import cart_customer_set

    customer = CustomerFactory(organization=store.organization)
    cart_customer_set(cart=cart, staff=budtender, customer=customer, customer_type="adult_use")
    body = client_in.get(url(cart)).content.decode()
    assert f'hx-get="/pos/customers/{customer.pk}/profile/"' in body
    assert f'hx-get="/pos/customers/{customer.pk}/consent/"' in body
    consent = client_in.get(f"/pos/customers/{customer.pk}/consent/")
    assert consent.status_code == 200 and "Marketing consent" in consent.content.decode()


def test_the_chooser_loads_the_register_styles(client_in, register):
    """The list of registers is styled as buttons (no stray list bullet)."""
    html = client_in.get("/pos/register/").content.decode()
    assert "/static/pos/register.css" in html and 'class="register-choice__list"' in html


def test_a_customer_found_at_the_counter_starts_a_sale_at_the_budtenders_register(
    client_in, store, register, budtender
):
    customer = CustomerFactory(organization=store.organization, customer_type="medical")
    card = client_in.post("/pos/lookup/", {"phone": customer.phone}).content.decode()
    assert 'action="/pos/register/carts/new/"' in card and f'name="customer" value="{customer.pk}"' in card

    # No register chosen yet: choose it, then the start page sells to the customer.
    response = client_in.post("/pos/register/carts/new/", {"customer": customer.pk})
    assert response["Location"] == f"/pos/register/?customer={customer.pk}"
    chooser = client_in.get(response["Location"]).content.decode()
    assert f'name="customer" value="{customer.pk}"' in chooser
    response = client_in.post("/pos/register/choose/", {"register": register.pk, "customer": customer.pk})
    assert response["Location"] == f"/pos/register/?customer={customer.pk}"
    assert f"New sale for {customer.full_name}" in client_in.get(response["Location"]).content.decode()

    response = client_in.post("/pos/register/carts/new/", {"customer": customer.pk})
    cart = Cart.objects.get()
    assert response["Location"] == f"/pos/register/carts/{cart.pk}/"
    assert (cart.customer, cart.customer_type, cart.register) == (customer, "medical", register)


def test_starting_a_sale_for_another_organizations_customer_is_404(client_in, register):
    client_in.post("/pos/register/choose/", {"register": register.pk})
    stranger = CustomerFactory()
    assert client_in.post("/pos/register/carts/new/", {"customer": stranger.pk}).status_code == 404
    assert client_in.get(f"/pos/register/?customer={stranger.pk}").status_code == 404
    assert client_in.get("/pos/register/?customer=" + "9" * 30).status_code == 404
    assert not Cart.objects.exists()


def test_a_new_cart_is_an_anonymous_sale_without_a_click(client_in, register):
    client_in.post("/pos/register/choose/", {"register": register.pk})
    page = client_in.get(client_in.post("/pos/register/carts/new/")["Location"]).content.decode()
    assert "No customer: anonymous sale." in page and "customer/anonymous/" not in page
    cart = Cart.objects.get()
    assert (cart.customer, cart.customer_type) == (None, "adult_use")
    # A cart without a customer that is not adult use offers the change back.
    Cart.objects.filter(pk=cart.pk).update(customer_type="medical")
    assert "customer/anonymous/" in client_in.get(url(cart)).content.decode()


def test_the_receipt_starts_the_next_sale_at_the_register(client_in, register, budtender, package):
    client_in.post("/pos/register/choose/", {"register": register.pk})
    client_in.post("/pos/register/carts/new/")
    cart = Cart.objects.get()
    _ready(cart, budtender, package, client_in)
    body = json.dumps(
        {"idempotency_key": cart.idempotency_key, "tenders": [{"kind": "cash", "amount": "100"}]}
    )
    done = client_in.post(url(cart, "complete/"), body, content_type="application/json").json()
    receipt = client_in.get(done["receipt_url"]).content.decode()
    assert "data-new-sale" in receipt and 'action="/pos/register/carts/new/"' in receipt
    # The register no longer resumes the completed cart: it offers a new sale.
    start = client_in.get("/pos/register/")
    assert start.status_code == 200
    assert 'action="/pos/register/carts/new/"' in start.content.decode()
    following = client_in.post("/pos/register/carts/new/")
    assert following["Location"] == f"/pos/register/carts/{Cart.objects.latest('pk').pk}/"
    assert Cart.objects.count() == 2
    # Away from a register (no register chosen in this session) the receipt offers no sale to start.
    session = client_in.session
    session.pop("pos.register_id")
    session.save()
    assert "data-new-sale" not in client_in.get(done["receipt_url"]).content.decode()


def test_the_counters_choices_kept_per_process_follow_every_change(
    served_with_redis, client_in, store, organization, cart
):
    """The staff who may buy and the promotions to choose are read once per process (the page's reads): a new
    member or promotion, and one taken away, show on the very next page."""
    from pos.models import Promotion

    _as_committed()
    before = client_in.get(url(cart)).content.decode()
    assert "Ada Lovelace" not in before and "Counter deal" not in before
    member = UserFactory(organization=organization, first_name="Ada", last_name="Lovelace")
    promotion = Promotion.objects.create(
        organization=organization, name="Counter deal", kind="amount", value=D("5"), automatic=False
    )
    _as_committed()
    with CaptureQueriesContext(connection) as first:
        page = client_in.get(url(cart)).content.decode()
    assert "Ada Lovelace" in page and "Counter deal" in page
    with CaptureQueriesContext(connection) as second:
        assert "Ada Lovelace" in client_in.get(url(cart)).content.decode()
    assert _statements(second) < _statements(first)  # kept: the choices were not read again
    member.is_active = False
    member.save()
    promotion.active = False
    promotion.save()
    _as_committed()
    page = client_in.get(url(cart)).content.decode()
    assert "Ada Lovelace" not in page and "Counter deal" not in page
