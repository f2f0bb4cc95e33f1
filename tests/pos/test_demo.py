import pytest
from django.core.management import call_command

from compliance.models import IdVerification, SyncRecord
from compliance.traceability.registry import reset_shared_simulator
from inventory.selectors import ledger_mismatch_list
from pos.models import Coupon, LoyaltyAccount, Promotion, Register, Sale

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the state reports are sent on commit, as when embedded
    pytest.mark.usefixtures("shipped_rules"),  # an earlier transactional test may have flushed them
]


@pytest.fixture(autouse=True)
def fresh_simulator():
    reset_shared_simulator()
    yield
    reset_shared_simulator()


def test_pos_demo_sales_are_reported_and_accepted_and_loading_again_adds_nothing(capsys):
    call_command("load_demo")
    assert "added: 20 sales" in capsys.readouterr().out
    # The counter's sales (the delivery demo's past trips add the sales handed over at their doors).
    sales = Sale.objects.filter(idempotency_key__startswith="demo-sale-")
    assert sales.count() == 20
    assert set(sales.values_list("idempotency_key", flat=True)) == {f"demo-sale-{n}" for n in range(1, 21)}
    assert {sale.store.code for sale in sales.select_related("store")} == {"sf-mission", "detroit-riverside"}
    assert Register.objects.exclude(name__startswith="Trip ").count() == 2  # a trip has its own register
    assert all(sale.id_verification_id and sale.id_verification.passed for sale in sales)
    receipts = SyncRecord.objects.filter(kind="sales_receipt.create")
    assert receipts.count() == 20
    assert set(receipts.values_list("status", flat=True)) == {"accepted"}
    for store in {sale.store for sale in sales}:
        assert ledger_mismatch_list(store=store) == []
    counts = (Sale.objects.count(), IdVerification.objects.count(), SyncRecord.objects.count())
    assert set(Coupon.objects.values_list("code", flat=True)) >= {"WELCOME10"}
    assert sum(sales.values_list("points_earned", flat=True)) > 0 and LoyaltyAccount.objects.exists()
    loyalty_counts = (Promotion.objects.count(), Coupon.objects.count(), LoyaltyAccount.objects.count())

    call_command("load_demo")
    assert "added: 0 sales" in capsys.readouterr().out
    assert (Sale.objects.count(), IdVerification.objects.count(), SyncRecord.objects.count()) == counts
    assert (
        Promotion.objects.count(),
        Coupon.objects.count(),
        LoyaltyAccount.objects.count(),
    ) == loyalty_counts


def test_the_demo_is_consistent_stock_before_sales_and_medical_sales_to_patients():
    """No demo sale precedes the receipt of what it sold; medical sales are to registered patients whose card
    is valid on the day; the medical demographics report counts them."""
    import datetime as dt

    from django.utils import timezone

    from compliance.identity import medical_status
    from compliance.models import CaregiverLink, PatientRegistration
    from compliance.reporting.reports.patients import medical_demographics
    from dispensary.models import Customer, Organization
    from inventory.models import StockMovement
    from pos.models import SaleLine

    call_command("load_demo")
    lines = SaleLine.objects.select_related("sale", "package")
    assert lines.exists()
    for line in lines:
        received = StockMovement.objects.get(package=line.package, kind="received")
        assert line.package.received_at <= line.sale.completed_at
        assert received.created_at <= line.sale.completed_at

    medical = Sale.objects.filter(customer_type="medical").select_related("customer", "store")
    assert medical.exists()
    for sale in medical:
        assert sale.customer is not None
        assert medical_status(customer=sale.customer, today=sale.local_date).allowed
    organization = Organization.objects.get(slug="emerald-coast")
    patients = Customer.objects.filter(organization=organization, customer_type="medical")
    assert PatientRegistration.objects.filter(customer__in=patients).count() == patients.count()
    report = medical_demographics(organization=organization, on=timezone.localdate())
    assert report.patients == patients.count() > 0
    assert sum(count for _, count in report.by_age) == report.patients
    assert "No condition recorded" not in dict(report.by_condition)
    assert CaregiverLink.objects.filter(patient__organization=organization).count() == 2

    counts = (PatientRegistration.objects.count(), CaregiverLink.objects.count())
    call_command("load_demo")
    assert (PatientRegistration.objects.count(), CaregiverLink.objects.count()) == counts
    assert (
        dt.timedelta(days=13)
        < timezone.now() - StockMovement.objects.filter(kind="received").earliest("created_at").created_at
    )
