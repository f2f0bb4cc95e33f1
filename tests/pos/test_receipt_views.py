"""The receipt page (80 mm print layout, no app chrome) and sending it by text or email: staff of the sale's store
only, bad destinations refused with nothing published."""

from decimal import Decimal as D

import pytest

from dispensary.models import AuditRecord, OutboxEvent
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from tests.factories import CustomerFactory, StoreFactory, UserFactory
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sale(store, register, budtender, product, package, adult_id):
    customer = CustomerFactory(organization=store.organization, phone="+14155550134", email="ada@example.com")
    return checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("2"), package_id=package.pk)],
        tenders=[TenderInput("cash", D("120"))],
        idempotency_key="page-1",
        id_verification=adult_id(customer),
    )


def url(sale, suffix=""):
    return f"/pos/sales/{sale.pk}/receipt/{suffix}"


def test_receipt_page_is_a_standalone_80mm_print_layout(client, budtender, sale, store, package):
    client.force_login(budtender)
    response = client.get(url(sale))
    content = response.content.decode()
    assert response.status_code == 200
    assert [t.name for t in response.templates][:1] == ["pos/receipt.html"]
    assert "base.html" not in [t.name for t in response.templates]
    assert 'class="topbar"' not in content
    assert "/static/pos/receipt.css" in content and "/static/pos/receipt.js" in content
    assert "data-print" in content and "data-auto-print" not in content
    for text in (
        store.name,
        f"Licence {store.license_adult_use}",
        sale.receipt_number,
        package.tag,
        "Cannabis excise tax",
    ):
        assert text in content
    # The send forms default to the customer's own phone and email.
    assert 'value="(415) 555-0134"' in content
    assert 'value="ada@example.com"' in content
    assert client.get(url(sale) + "?print=1").content.decode().count("data-auto-print") == 1


def test_print_css_sets_the_thermal_width():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "pos" / "receipt.css").read_text()
    print_block = css[css.index("@media print") :]
    assert "size: 80mm auto" in print_block and "width: 72mm" in print_block
    assert ".no-print { display: none !important; }" in print_block
    assert "monospace" in css


def test_staff_of_other_stores_get_404_and_others_403(client, sale, organization):
    elsewhere = StoreFactory(organization=organization)
    outsider = UserFactory(organization=organization, roles=["budtender"], stores=[elsewhere])
    client.force_login(outsider)
    assert client.get(url(sale)).status_code == 404
    assert client.post(url(sale, "send/"), {"channel": "sms", "destination": "4155550134"}).status_code == 404
    driver = UserFactory(organization=organization, roles=["driver"], stores=[sale.store])
    client.force_login(driver)
    assert client.get(url(sale)).status_code == 403
    assert OutboxEvent.objects.filter(name="pos.receipt_requested").count() == 0
    client.logout()
    assert client.get(url(sale)).status_code == 302


def test_text_receipt_publishes_receipt_requested(client, budtender, sale, store):
    client.force_login(budtender)
    response = client.post(url(sale, "send/"), {"channel": "sms", "destination": "(415) 555-0199"})
    assert response.status_code == 302 and response["Location"] == url(sale)
    event = OutboxEvent.objects.get(name="pos.receipt_requested")
    assert event.payload == {
        "sale_id": sale.pk,
        "organization_id": store.organization_id,
        "store_id": store.pk,
        "channel": "sms",
        "destination": "+14155550199",
    }
    record = AuditRecord.objects.get(action="sale.receipt_requested")
    assert (record.actor, record.after) == (budtender, {"channel": "sms", "destination": "+14155550199"})
    page = client.get(url(sale)).content.decode()
    assert "is on its way to (415) 555-0199" in page


def test_email_receipt_over_htmx_returns_the_partial(client, budtender, sale):
    client.force_login(budtender)
    response = client.post(
        url(sale, "send/"), {"channel": "email", "destination": " Ada@Example.com "}, **HTMX
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content and 'id="receipt-send"' in content
    assert "is on its way to ada@example.com" in content
    assert OutboxEvent.objects.get(name="pos.receipt_requested").payload["destination"] == "ada@example.com"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"channel": "sms", "destination": "12"}, "is not a phone number"),
        ({"channel": "email", "destination": "not-an-address"}, "is not an email address"),
        ({"channel": "fax", "destination": "4155550134"}, "Select a valid choice"),
        ({"channel": "sms", "destination": ""}, "This field is required"),
    ],
)
def test_bad_destinations_are_refused_and_publish_nothing(client, budtender, sale, data, message):
    client.force_login(budtender)
    response = client.post(url(sale, "send/"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert OutboxEvent.objects.filter(name="pos.receipt_requested").count() == 0
    assert AuditRecord.objects.filter(action="sale.receipt_requested").count() == 0


def test_send_needs_post(client, budtender, sale):
    client.force_login(budtender)
    assert client.get(url(sale, "send/")).status_code == 405
