"""The sales screens: today's sales by default, a day filter and receipt search (constant queries), a sale's
page with its lines, taxes, tenders and refunds; voiding today's sale and refunding lines with a manager's
PIN; other stores' sales 404; refused actions write nothing."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispensary.middleware import SESSION_KEY
from dispensary.models import AuditRecord
from inventory.models import StockMovement, WasteRecord
from pos.models import DrawerSession, Refund, Register, Sale
from pos.services import sale_refund
from pos.services.pins import manager_pin_set
from tests.clock import local_noon
from tests.factories import StoreFactory, UserFactory
from tests.inventory.factories import receive
from tests.pos.factories import register_with_drawer
from tests.pos.sale_helpers import card, cash, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def pin(manager):
    manager_pin_set(user=manager, pin="4821", actor=manager)
    return "4821"


@pytest.fixture
def sale(store, register, budtender, product, package):
    return sell(store, register, budtender, product, package, quantity=3, tenders=[cash(200)])


def login(client, user):
    client.force_login(user)
    return client


def approval(manager, pin, prefix):
    """The manager types their PIN, which says who approves (nobody picks a name)."""
    return {f"{prefix}-manager_pin": pin}


# --- The list ---------------------------------------------------------------------------------------------


def test_today_by_default_a_day_filter_and_receipt_search(
    client, store, register, budtender, product, package, organization
):
    today_sale = sell(store, register, budtender, product, package)
    yesterday = local_noon(store, days=-1)
    old_sale = sell(store, register, budtender, product, package, at=yesterday)
    far_store = StoreFactory(organization=organization)
    far_sale = sell(
        far_store,
        register_with_drawer(far_store, budtender, name="Far"),
        budtender,
        product,
        receive(far_store, product, 5),
    )
    client = login(client, budtender)

    def listed(query):
        response = client.get("/pos/sales/", query)
        assert response.status_code == 200
        return [sale.pk for sale in response.context["page"].object_list]

    assert listed({}) == [today_sale.pk]
    assert listed({"day": old_sale.local_date.isoformat()}) == [old_sale.pk]
    assert listed({"day": "not-a-date"}) == [today_sale.pk]
    # A part of the receipt number searches every day; the far store's sale is never listed.
    prefix = f"{store.code}-"
    assert listed({"q": prefix}) == [today_sale.pk, old_sale.pk]
    assert listed({"q": far_sale.receipt_number}) == []
    content = client.get("/pos/sales/").content.decode()
    assert today_sale.receipt_number in content and old_sale.receipt_number not in content


def test_a_scanned_receipt_number_opens_the_sale(client, sale, budtender):
    response = login(client, budtender).get("/pos/sales/", {"q": sale.receipt_number.lower()})
    assert response.status_code == 302 and response["Location"] == f"/pos/sales/{sale.pk}/"


def test_the_list_needs_view_sale(client, store, organization):
    officer = UserFactory(organization=organization, roles=["driver"], stores=[store])
    assert login(client, officer).get("/pos/sales/").status_code == 403


def test_list_queries_do_not_grow_with_the_sales(
    client, store, register, budtender, product, package, django_assert_max_num_queries
):
    sell(store, register, budtender, product, package)
    client = login(client, budtender)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/pos/sales/").status_code == 200
    for _ in range(4):
        sell(store, register, budtender, product, package, tenders=[card("20"), cash(100)])
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get("/pos/sales/")
    assert response.context["page"].paginator.count == 5
    assert "Card or debit, Cash" in response.content.decode()


# --- The sale's page --------------------------------------------------------------------------------------


def test_the_sale_page_shows_lines_taxes_tenders_and_logs_the_customer_read(client, sale, budtender, package):
    response = login(client, budtender).get(f"/pos/sales/{sale.pk}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert package.tag in content
    assert "$165.04" in content and "$135.00" in content and "$34.96" in content  # total, net, change
    for tax in sale.lines.get().taxes.all():
        assert tax.name in content
    assert f'href="/pos/sales/{sale.pk}/receipt/"' in content
    assert response.context["void_form"] is not None and response.context["refund_form"] is not None
    viewed = AuditRecord.objects.get(action="customer.viewed")
    assert (viewed.object_id, viewed.after, viewed.actor) == (
        str(sale.customer_id),
        {"via": "pos.sale"},
        budtender,
    )


def test_other_stores_sales_are_404(client, sale, organization, store, pin, manager):
    """Even for someone working at both stores, while the other one is their current store."""
    far_store = StoreFactory(organization=organization)
    both = UserFactory(organization=organization, roles=["manager"], stores=[store, far_store])
    client = login(client, both)
    session = client.session
    session[SESSION_KEY] = far_store.pk
    session.save()
    assert client.get(f"/pos/sales/{sale.pk}/").status_code == 404
    assert client.post(f"/pos/sales/{sale.pk}/void/", approval(manager, pin, "void")).status_code == 404
    assert client.post(f"/pos/sales/{sale.pk}/refund/", {"refund-reason": "x"}).status_code == 404
    assert Sale.objects.get(pk=sale.pk).status == "completed"


def test_voiding_and_refunding_need_the_sales_permission(client, sale, store, organization):
    officer = UserFactory(organization=organization, roles=["compliance_officer"], stores=[store])
    client = login(client, officer)
    assert client.get(f"/pos/sales/{sale.pk}/").status_code == 403
    assert client.post(f"/pos/sales/{sale.pk}/void/").status_code == 403
    assert client.post(f"/pos/sales/{sale.pk}/refund/").status_code == 403


# --- Voids ------------------------------------------------------------------------------------------------


def test_void_with_a_managers_pin(client, sale, budtender, manager, pin, package):
    client = login(client, budtender)
    response = client.post(f"/pos/sales/{sale.pk}/void/", approval(manager, pin, "void"))
    assert response.status_code == 302
    sale.refresh_from_db()
    package.refresh_from_db()
    assert (sale.status, sale.voided_by, sale.void_approved_by) == ("voided", budtender, manager)
    assert package.quantity_on_hand == D("10")
    page = client.get(f"/pos/sales/{sale.pk}/")
    content = page.content.decode()
    assert "Voided" in content and "Give back $165.04" in content
    assert page.context["void_form"] is None and page.context["refund_form"] is None


def test_a_wrong_pin_voids_nothing(client, sale, budtender, manager, pin, package):
    client = login(client, budtender)
    for data in ({}, approval(manager, "0000", "void"), approval(manager, "12", "void")):
        response = client.post(f"/pos/sales/{sale.pk}/void/", data)
        assert response.status_code == 200
        assert response.context["void_form"].errors
        assert response.context["open_panel"] == "void"
    assert Sale.objects.get(pk=sale.pk).status == "completed"
    package.refresh_from_db()
    assert package.quantity_on_hand == D("7")


def test_yesterdays_sale_is_refunded_not_voided(
    client, store, register, budtender, manager, pin, product, package
):
    old = sell(store, register, budtender, product, package, at=local_noon(store, days=-1))
    client = login(client, budtender)
    page = client.get(f"/pos/sales/{old.pk}/")
    assert page.context["void_form"] is None and page.context["refund_form"] is not None
    response = client.post(f"/pos/sales/{old.pk}/void/", approval(manager, pin, "void"))
    assert response.status_code == 200
    assert "Only sales of today can be voided" in response.content.decode()
    assert Sale.objects.get(pk=old.pk).status == "completed"


# --- Refunds ----------------------------------------------------------------------------------------------


def refund_data(sale, manager, pin, **fields):
    line = sale.lines.get()
    data = {
        f"refund-quantity_{line.pk}": "1",
        f"refund-goes_{line.pk}": "restock",
        "refund-reason": "Wrong strain",
        "refund-waste_reason": "damaged",
        "refund-tender_kind": "cash",
        "refund-register": sale.register_id,
        **approval(manager, pin, "refund"),
    }
    data.update({f"refund-{name}": value for name, value in fields.items()})
    return data


def test_refund_cash_from_this_registers_drawer(client, sale, budtender, manager, pin, package, register):
    client = login(client, budtender)
    response = client.post(f"/pos/sales/{sale.pk}/refund/", refund_data(sale, manager, pin), follow=True)
    assert response.redirect_chain == [(f"/pos/sales/{sale.pk}/", 302)]
    refund = Refund.objects.get()
    assert (refund.total, refund.tender_kind, refund.actor, refund.approved_by) == (
        D("55.01"),
        "cash",
        budtender,
        manager,
    )
    assert refund.drawer_session == DrawerSession.objects.get(register=register, status="open")
    package.refresh_from_db()
    assert package.quantity_on_hand == D("8")
    content = response.content.decode()
    assert "hand back $55.01 in cash from the drawer of Register 1" in content
    assert "Partly refunded" in content and "Wrong strain" in content


def test_refund_to_the_card_into_waste(client, sale, budtender, manager, pin, package):
    line = sale.lines.get()
    data = refund_data(sale, manager, pin, tender_kind="card", register="", reason="Broken cartridge")
    data[f"refund-quantity_{line.pk}"] = "2"
    data[f"refund-goes_{line.pk}"] = "waste"
    response = login(client, budtender).post(f"/pos/sales/{sale.pk}/refund/", data)
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.total, refund.tender_kind, refund.drawer_session) == (D("110.03"), "card", None)
    assert WasteRecord.objects.get(package=package).quantity == D("2")
    line.refresh_from_db()
    assert line.refunded_quantity == D("2")


def test_refund_from_another_register_with_an_open_drawer(client, sale, store, budtender, manager, pin):
    other = register_with_drawer(store, budtender, name="Register 2")
    data = refund_data(sale, manager, pin, register=other.pk)
    assert login(client, budtender).post(f"/pos/sales/{sale.pk}/refund/", data).status_code == 302
    assert Refund.objects.get().drawer_session.register == other


@pytest.mark.parametrize(
    "change,message",
    [
        ({"quantity": ""}, "Type the quantity to refund on at least one line."),
        ({"quantity": "4"}, "less than or equal to 3"),
        ({"quantity": "0.5"}, "Whole units only."),
        ({"reason": ""}, "This field is required."),
        ({"register": ""}, "Choose the register whose drawer pays the cash back."),
        ({"tender_kind": "cheque"}, "Select a valid choice"),
        ({"manager_pin": "9999"}, "A manager of this store must approve with their PIN."),
    ],
)
def test_bad_refunds_write_nothing(client, sale, budtender, manager, pin, package, change, message):
    data = refund_data(sale, manager, pin)
    line = sale.lines.get()
    for name, value in change.items():
        key = f"refund-quantity_{line.pk}" if name == "quantity" else f"refund-{name}"
        data[key] = value
    response = login(client, budtender).post(f"/pos/sales/{sale.pk}/refund/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["open_panel"] == "refund"
    assert not Refund.objects.exists()
    assert not StockMovement.objects.filter(reference_type="refund").exists()


def test_cash_refund_needs_an_open_drawer(client, sale, budtender, manager, pin, register):
    data = refund_data(sale, manager, pin)
    DrawerSession.objects.filter(register=register).update(status="closed")
    response = login(client, budtender).post(f"/pos/sales/{sale.pk}/refund/", data)
    assert response.status_code == 200
    assert "That register&#x27;s drawer is not open" in response.content.decode()
    assert not Refund.objects.exists()


def test_a_fully_refunded_sale_offers_no_more_refund(client, sale, budtender, manager):
    sale_refund(
        sale=sale, lines=[(sale.lines.get(), D("3"), True)], reason="x", actor=budtender, approver=manager
    )
    page = login(client, budtender).get(f"/pos/sales/{sale.pk}/")
    assert page.context["refund_form"] is None
    assert page.context["void_form"] is not None  # today's sale can still be voided
    data = {"refund-reason": "x", "refund-tender_kind": "card"}
    response = login(client, budtender).post(f"/pos/sales/{sale.pk}/refund/", data)
    assert response.status_code == 200
    assert Refund.objects.count() == 1


def test_registers_offered_for_cash_are_those_with_an_open_drawer(client, sale, store, budtender):
    Register.objects.create(store=store, name="Closed one")
    form = login(client, budtender).get(f"/pos/sales/{sale.pk}/").context["refund_form"]
    assert [register.name for register in form.fields["register"].queryset] == ["Register 1"]
    assert form.initial["register"] == sale.register_id
