"""The probe of issue 10, kept as a test: every page and form the staff reach, each form field and query
parameter given each class of bad input (a NUL byte, 1e11, a 40-digit number, year 9999, 100,000 characters,
a 5,000-digit number) and each id in a URL one beyond 64 bits. No answer may be a 5xx, and nothing implausible
may be stored. Runs on SQLite and on PostgreSQL (where NUL bytes and integer overflow fail differently)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from dispensary.models import Customer, User
from inventory.models import IncomingTransfer, Package, Product
from pos.models import Register
from pos.selectors.carts import cart_get
from pos.services.carts import cart_customer_set, cart_line_add
from tests.bad_input.crawl import Probe, implausible_values

pytestmark = pytest.mark.django_db
START = ["/", "/dashboard/", "/pos/", "/pos/register/", "/pos/queue/", "/inventory/", "/compliance/reports/"]


@pytest.fixture
def demo():
    call_command("load_demo", stdout=io.StringIO())


def signed_in(username: str) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    return client


def a_cart_with_a_line(client: Client) -> str:
    """The budtender's register with a customer and one line, so that the line's forms show."""
    budtender = User.objects.get(username="budtender")
    register = Register.objects.filter(store__code="sf-mission").order_by("pk").first()
    client.post("/pos/register/choose/", {"register": register.pk})
    url = client.post("/pos/register/carts/new/")["Location"]
    cart = cart_get(store=register.store, cart_id=int(url.rstrip("/").rsplit("/", 1)[1]))
    customer = Customer.objects.filter(
        organization=register.store.organization, customer_type="adult_use"
    ).first()
    cart_customer_set(cart=cart, staff=budtender, customer=customer, customer_type="adult_use")
    package = Package.objects.filter(
        store=register.store, quantity_on_hand__gt=5, product__sold_by="each"
    ).first()
    cart_line_add(cart=cart, staff=budtender, product_id=package.product_id, quantity="1")
    return url


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("username", ["owner", "budtender"])
def test_no_page_or_form_answers_bad_input_with_a_server_error(demo, username):
    client = signed_in(username)
    probe = Probe(client)
    start = [a_cart_with_a_line(client), *START] if username == "budtender" else START
    probe.crawl(start)
    customer = Customer.objects.exclude(phone="").first()
    probe.discover("post", "/pos/queue/lookup/", {"phone": customer.phone})

    probe.fuzz_forms()
    probe.fuzz_pages()

    assert len(probe.pages) > 15 and len(probe.forms) > 15, (probe.pages, probe.forms)
    assert [str(failure) for failure in probe.failures] == []
    assert implausible_values() == []


MANIFEST_HEADER = (
    "manifest_number,shipper_license,shipper_name,tag,sku,quantity,harvest_batch,expires_on,lab_status"
)


BAD_MANIFEST_ROWS = {
    "1e11": "M-1,C11-1,Farms,1A4FF0100000022000009001,{sku},1e11,HB,2027-01-01,passed",
    "40 digits": "M-2,C11-1,Farms,1A4FF0100000022000009002,{sku},1234567890123456789012345678901234567890,HB,,",
    "year 9999": "M-3,C11-1,Farms,1A4FF0100000022000009003,{sku},5,HB,9999-12-31,passed",
    "NUL": "M-4,C11-1,Far\x00ms,1A4FF0100000022000009004,{sku},5,HB,,",
    "100,000 characters": "M-5,C11-1," + "F" * 100_000 + ",1A4FF0100000022000009005,{sku},5,HB,,",
    "a long batch": "M-6,C11-1,Farms,1A4FF0100000022000009006,{sku},5," + "H" * 5000 + ",,",
}


def test_a_manifest_upload_with_bad_input_is_refused_and_changes_nothing(demo):
    client = signed_in("inventory")
    sku = Product.objects.filter(sold_by="each").values_list("sku", flat=True).first()
    before = IncomingTransfer.objects.count()

    for label, row in BAD_MANIFEST_ROWS.items():
        content = f"{MANIFEST_HEADER}\n{row.format(sku=sku)}\n".encode()
        response = client.post(
            "/inventory/receiving/upload/", {"manifest": SimpleUploadedFile("m.csv", content, "text/csv")}
        )
        assert response.status_code in (200, 400), label
        assert "cannot be read" in response.content.decode() or "Line 2" in response.content.decode(), label

    assert IncomingTransfer.objects.count() == before
    assert implausible_values() == []
