"""The Django admin of promotions, coupons and loyalty, and generating single-use codes."""

from decimal import Decimal as D

import pytest

from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord
from pos.models import (
    Coupon,
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTier,
    PointsMultiplier,
    Promotion,
    Reward,
)
from pos.services.coupons import coupon_codes_generate
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(organization, store):
    return UserFactory(organization=organization, is_staff=True, is_superuser=True, stores=[store])


@pytest.fixture
def promotion(organization):
    return Promotion.objects.create(organization=organization, name="Mailing", kind="amount", value=D("5"))


def test_admin_lists_and_opens_every_model(client, superuser, organization, promotion):
    LoyaltyProgram.objects.create(organization=organization)
    tier = LoyaltyTier.objects.create(organization=organization, name="Green", min_spend=D("0"))
    PointsMultiplier.objects.create(organization=organization, name="Double", multiplier=D("2"))
    Reward.objects.create(organization=organization, name="$5", points_cost=100, value=D("5"))
    coupon = Coupon.objects.create(organization=organization, code="HELLO", promotion=promotion)
    LoyaltyAccount.objects.create(customer=CustomerFactory(organization=organization), tier=tier)
    client.force_login(superuser)
    for model in (
        "promotion",
        "coupon",
        "loyaltyprogram",
        "loyaltytier",
        "pointsmultiplier",
        "reward",
        "loyaltyaccount",
    ):
        assert client.get(f"/admin/pos/{model}/").status_code == 200, model
    assert client.get(f"/admin/pos/coupon/{coupon.pk}/change/").status_code == 200
    assert client.get(f"/admin/pos/promotion/{promotion.pk}/change/").status_code == 200


def test_admin_action_generates_single_use_codes(client, superuser, promotion):
    client.force_login(superuser)
    response = client.post(
        "/admin/pos/promotion/",
        {"action": "generate_codes", "_selected_action": [promotion.pk], "count": "3", "prefix": "mail"},
        follow=True,
    )
    assert response.status_code == 200
    codes = list(Coupon.objects.filter(promotion=promotion))
    assert len(codes) == 3
    assert all(c.code.startswith("MAIL") and len(c.code) == 12 and c.max_uses == 1 for c in codes)
    assert codes[0].code in response.content.decode()
    assert AuditRecord.objects.filter(action="coupon.generated").count() == 1


def test_generating_codes_refuses_bad_counts_and_writes_nothing(promotion, superuser):
    with pytest.raises(ValidationFailed):
        coupon_codes_generate(promotion=promotion, count=0, actor=superuser)
    with pytest.raises(ValidationFailed):
        coupon_codes_generate(promotion=promotion, count=2, actor=superuser, prefix="no-dash")
    assert not Coupon.objects.exists()
