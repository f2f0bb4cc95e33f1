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
    sales = Sale.objects.all()
    assert sales.count() == 20
    assert set(sales.values_list("idempotency_key", flat=True)) == {f"demo-sale-{n}" for n in range(1, 21)}
    assert {sale.store.code for sale in sales.select_related("store")} == {"sf-mission", "detroit-riverside"}
    assert Register.objects.count() == 2
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
