"""The customer's coupon on the phone (/c/<token>/): age gate, the code, its QR code and Code 128 barcode; bad
tokens are 404; a spent or expired coupon says so. The register scans the code into its scan field and the
coupon is applied; someone else's personal coupon is refused in plain words."""

import datetime as dt
import re

import pytest
from django.core import signing

from messaging.coupon_page import COUPON_SALT, coupon_link, coupon_token
from pos.models import Cart, Coupon
from pos.services.carts import cart_open
from tests.factories import CustomerFactory
from tests.messaging.attribution_helpers import NOON, marketing_message, personal_coupon

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(store):
    return CustomerFactory(organization=store.organization, phone="+14155550134")


@pytest.fixture
def coupon(clock, store, ada):
    clock.move_to(NOON)
    message = marketing_message(store, ada)
    return personal_coupon(store, ada, message, valid_until=NOON + dt.timedelta(days=14))


def test_the_link_is_absolute_and_signed(coupon, settings):
    settings.PUBLIC_SITE_URL = "https://shop.example"
    link = coupon_link(coupon)
    assert link == f"https://shop.example/c/{coupon_token(coupon)}/"
    assert signing.loads(coupon_token(coupon), salt=COUPON_SALT) == coupon.pk


def test_the_page_asks_the_age_then_shows_code_qr_and_barcode(client, coupon):
    path = f"/c/{coupon_token(coupon)}/"
    gate = client.get(path)
    assert gate.status_code == 200
    html = gate.content.decode()
    assert "Are you 21 or older?" in html and coupon.code not in html
    assert gate["X-Robots-Tag"] == "noindex, nofollow, noarchive"

    under = client.post(path, {"answer": "no"})
    assert coupon.code not in under.content.decode()
    assert client.post(path, {"answer": "maybe"}).status_code == 400

    passed = client.post(path, {"answer": "yes"})
    assert passed.status_code == 302 and passed["Location"] == path
    html = client.get(path).content.decode()
    assert re.search(rf"data-coupon-code[^>]*>{coupon.code}<", html)
    assert "Ten off" in html and "Valid until Mar 24, 2026." in html
    barcode = html.split("data-coupon-barcode", 1)[1].split("</svg>", 1)[0]
    qr = html.split("data-coupon-qr", 1)[1].split("</svg>", 1)[0]
    assert "<svg" in barcode and "<rect" in barcode and "<?xml" not in html
    assert "<svg" in qr and f"QR code of {coupon.code}" in qr


def test_the_barcode_is_code_128_of_the_code():
    from barcode import Code128

    from messaging.coupon_page import code128_svg

    svg = code128_svg("ABCD2345")
    # The bars drawn are the modules of the code's Code 128 symbol (start, data, check, stop): one black
    # rectangle per run of ones.
    modules = Code128("ABCD2345").build()[0]
    runs = len(re.findall("1+", modules))
    assert svg.startswith("<svg") and len(re.findall(r"<rect[^>]*fill:black", svg)) == runs


def test_bad_tokens_are_404(client, coupon):
    client.post(f"/c/{coupon_token(coupon)}/", {"answer": "yes"})
    forged = signing.dumps(coupon.pk, salt="another-salt")
    for token in ["nonsense", forged, coupon_token(coupon)[:-2] + "xx", signing.dumps("x", salt=COUPON_SALT)]:
        response = client.get(f"/c/{token}/")
        assert response.status_code == 404
        assert "This coupon link is not valid." in response.content.decode()
    Coupon.objects.filter(pk=coupon.pk).update(code="GONE")
    missing = signing.dumps(coupon.pk + 1000, salt=COUPON_SALT, compress=True)
    assert client.get(f"/c/{missing}/").status_code == 404


def test_an_expired_or_used_coupon_says_so(clock, client, coupon):
    path = f"/c/{coupon_token(coupon)}/"
    client.post(path, {"answer": "yes"})
    clock.move_to(NOON + dt.timedelta(days=15))
    html = client.get(path).content.decode()
    assert "This coupon expired on Mar 24, 2026." in html and "<svg" not in html
    Coupon.objects.filter(pk=coupon.pk).update(valid_until=None, uses=1)
    assert "This coupon has been used." in client.get(path).content.decode()
    Coupon.objects.filter(pk=coupon.pk).update(active=False)
    assert "This coupon is no longer active." in client.get(path).content.decode()


# --- The register scans it -------------------------------------------------------------------------------------


@pytest.fixture
def client_in(client, budtender):
    client.force_login(budtender)
    return client


def scan(client, cart, code):
    return client.post(f"/pos/register/carts/{cart.pk}/scan/", {"code": code}, HTTP_HX_REQUEST="true")


def test_scanning_the_coupon_applies_it(
    clock, client_in, store, register, budtender, product, package, ada, coupon
):
    cart = cart_open(store=store, register=register, staff=budtender, customer=ada)
    scan(client_in, cart, package.tag)
    html = scan(client_in, cart, coupon.code).content.decode()
    cart.refresh_from_db()
    assert cart.coupon_codes == [coupon.code]
    assert f"{coupon.code}: Ten off −4.50" in html
    assert cart.lines.count() == 1
    # A second scan of it changes nothing.
    scan(client_in, cart, coupon.code.lower())
    cart.refresh_from_db()
    assert cart.coupon_codes == [coupon.code]


def test_someone_elses_personal_coupon_is_refused(
    clock, client_in, store, register, budtender, product, package, coupon
):
    bob = CustomerFactory(organization=store.organization, phone="+14155550177")
    cart = cart_open(store=store, register=register, staff=budtender, customer=bob)
    scan(client_in, cart, package.tag)
    html = scan(client_in, cart, coupon.code).content.decode()
    assert f"{coupon.code} was not applied: {coupon.code} belongs to another customer." in html
    cart.refresh_from_db()
    assert cart.coupon_codes == []
    # Without a customer: the register asks for one.
    anonymous = cart_open(store=store, register=register, staff=budtender)
    scan(client_in, anonymous, package.tag)
    html = scan(client_in, anonymous, coupon.code).content.decode()
    assert "belongs to another customer" in html
    assert Cart.objects.get(pk=anonymous.pk).coupon_codes == []


def test_an_unknown_code_is_still_unknown_and_another_orgs_coupon_too(
    client_in, store, register, budtender, product, package, ada
):
    from pos.models import Promotion
    from tests.factories import OrganizationFactory

    other = OrganizationFactory()
    promotion = Promotion.objects.create(organization=other, name="Theirs", kind="percent", value=10)
    Coupon.objects.create(organization=other, code="THEIRS22", promotion=promotion)
    cart = cart_open(store=store, register=register, staff=budtender, customer=ada)
    for code in ["NOPE1234", "theirs22"]:
        response = scan(client_in, cart, code)
        assert f"Nothing here has the tag, barcode or SKU {code}." in response.content.decode()
    cart.refresh_from_db()
    assert cart.coupon_codes == []
