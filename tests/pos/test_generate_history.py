"""generate_history: a small history (2 stores x 14 days) whose ledger balances, whose sales add up as the sale
service writes them, that the reports and the dashboard read, and that the same seed makes again."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum
from django.urls import reverse

from compliance.models import SyncRecord
from compliance.reporting.reports.inventory import Period, inventory_reconciliation
from compliance.reporting.reports.sales import daily_sales
from dispensary.middleware import SESSION_KEY
from dispensary.models import Customer, EventDelivery, Organization, Store
from inventory.models import Package, StockMovement
from inventory.selectors import ledger_mismatch_list
from pos.models import Refund, Sale, SaleLine, SaleLineTax, Tender
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

END = dt.date(2026, 3, 31)
NOW = dt.datetime(2026, 4, 1, 6, 30, tzinfo=dt.UTC)  # after the last sales and refunds; still Mar 31 in LA


def _cents(value) -> Decimal:
    # SQLite sums decimals as floats.
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _generate(slug: str, seed: int = 3, lines: int = 1500, **options) -> str:
    out = StringIO()
    call_command(
        "generate_history",
        organization=slug,
        stores=2,
        days=14,
        lines=lines,
        seed=seed,
        end=END.isoformat(),
        quiet=True,
        stdout=out,
        **options,
    )
    return out.getvalue()


def _fingerprint(slug: str) -> list[tuple]:
    """The history without its ids: every sale's store, time, type, status, totals and lines."""
    sales = (
        Sale.objects.filter(store__organization__slug=slug)
        .select_related("store", "customer")
        .prefetch_related("lines__product", "lines__package", "tenders")
        .order_by("completed_at", "store__code", "id")
    )
    return [
        (
            sale.store.code,
            sale.completed_at,
            sale.customer_type,
            sale.status,
            sale.customer.phone if sale.customer else None,
            sale.total,
            sale.tax_total,
            sale.refunded_total,
            tuple(
                (line.product.sku, line.package.tag, line.quantity, line.total, line.refunded_quantity)
                for line in sale.lines.all()
            ),
            tuple((tender.kind, tender.amount, tender.applied) for tender in sale.tenders.all()),
        )
        for sale in sales
    ]


@pytest.fixture
def moved(clock):
    clock.move_to(NOW)


def test_a_small_history_balances_and_adds_up(moved):
    output = _generate("hist")
    assert "the ledger balances" in output
    organization = Organization.objects.get(slug="hist")
    stores = list(Store.objects.filter(organization=organization).order_by("code"))
    assert [store.jurisdiction for store in stores] == ["US-CA", "US-MI"]
    lines = SaleLine.objects.filter(sale__store__organization=organization)
    assert 1400 <= lines.count() <= 1600
    for store in stores:
        assert ledger_mismatch_list(store=store) == []
    packages = Package.objects.filter(store__organization=organization)
    # Sold out packages are finished, and only those.
    assert not packages.filter(quantity_on_hand=0).exclude(status=Package.Status.FINISHED).exists()
    assert not packages.filter(status=Package.Status.FINISHED, quantity_on_hand__gt=0).exists()
    assert packages.filter(status=Package.Status.FINISHED).exists()
    # Each sale's totals are the sums of its lines; its taxes those of its lines' tax rows; tenders pay it.
    sales = Sale.objects.filter(store__organization=organization)
    for sale in sales.annotate(lines_total=Sum("lines__total"), lines_tax=Sum("lines__tax_amount")):
        assert sale.total == _cents(sale.lines_total)
        assert sale.tax_total == _cents(sale.lines_tax)
    taxes = SaleLineTax.objects.filter(line__sale__store__organization=organization).aggregate(
        total=Sum("amount")
    )
    assert _cents(taxes["total"]) == _cents(sales.aggregate(total=Sum("tax_total"))["total"]) > 0
    applied = Tender.objects.filter(sale__store__organization=organization).aggregate(total=Sum("applied"))
    assert _cents(applied["total"]) == _cents(sales.aggregate(total=Sum("total"))["total"])
    # Voids gave their stock back; refunds took their share off the sale.
    voided = sales.filter(status=Sale.Status.VOIDED)
    assert voided.exists()
    for sale in voided:
        sold = StockMovement.objects.filter(reference_type="sale", reference_id=str(sale.pk))
        assert sold.aggregate(total=Sum("quantity"))["total"] == 0
    refunds = Refund.objects.filter(sale__store__organization=organization)
    assert refunds.exists()
    for refund in refunds:
        assert refund.sale.refunded_total == refund.total > 0
    # Adult use and medical customers, one receipt reported (accepted) per sale, deliveries done.
    kinds = dict(
        Customer.objects.filter(organization=organization)
        .values_list("customer_type")
        .annotate(n=Count("id"))
        .values_list("customer_type", "n")
    )
    assert kinds[Customer.Type.ADULT_USE] > kinds[Customer.Type.MEDICAL] > 0
    assert sales.filter(customer_type="medical").exists()
    receipts = SyncRecord.objects.filter(store__organization=organization, kind="sales_receipt.create")
    assert receipts.count() == sales.count()
    assert not SyncRecord.objects.filter(store__organization=organization).exclude(status="accepted").exists()
    assert (
        not EventDelivery.objects.filter(event__organization=organization)
        .exclude(status="succeeded")
        .exists()
    )
    # The reports read it: the year's reconciliation finds nothing wrong, the sales report adds up.
    for store in stores:
        report = inventory_reconciliation(
            store=store, period=Period(END - dt.timedelta(days=13), END), with_state=False
        )
        assert report.rows and report.discrepancy_count == 0
        assert report.totals["closing"] == sum(
            Package.objects.filter(store=store).values_list("quantity_on_hand", flat=True)
        )
        sold = daily_sales(store=store, start=END - dt.timedelta(days=13), end=END)
        completed = sales.filter(store=store, status=Sale.Status.COMPLETED)
        assert sold.totals.sales == completed.count()
        assert sold.totals.total == _cents(completed.aggregate(total=Sum("total"))["total"]) - sum(
            (
                refund.total
                for refund in refunds.filter(sale__store=store, sale__status=Sale.Status.COMPLETED)
            ),
            Decimal(0),
        )
    manager = UserFactory(organization=organization, roles=["manager"], stores=stores)
    from django.test import Client

    client = Client()
    client.force_login(manager)
    session = client.session
    session[SESSION_KEY] = stores[0].pk
    session.save()
    assert client.get(reverse("dashboard")).status_code == 200


def test_the_same_seed_makes_the_same_history(moved):
    _generate("hist-a", seed=5, lines=600)
    _generate("hist-b", seed=5, lines=600)
    _generate("hist-c", seed=6, lines=600)
    first = _fingerprint("hist-a")
    assert first and first == _fingerprint("hist-b")
    assert first != _fingerprint("hist-c")


def test_an_organization_with_sales_is_refused_unless_told(moved):
    _generate("hist", lines=200)
    before = Sale.objects.filter(store__organization__slug="hist").count()
    with pytest.raises(CommandError, match="already has sales"):
        _generate("hist", lines=200)
    assert Sale.objects.filter(store__organization__slug="hist").count() == before
    _generate("hist", lines=200, seed=4, allow_existing_sales=True)
    assert Sale.objects.filter(store__organization__slug="hist").count() > before
    for store in Store.objects.filter(organization__slug="hist"):
        assert ledger_mismatch_list(store=store) == []


def test_nonsense_sizes_are_refused(moved):
    with pytest.raises(CommandError, match="at least one store"):
        _generate("hist", lines=0)
    with pytest.raises(CommandError, match="not a date"):
        call_command("generate_history", organization="hist", end="31/03/2026", stdout=StringIO())
    assert not Organization.objects.filter(slug="hist").exists()
