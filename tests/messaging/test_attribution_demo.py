"""The attribution demo: messages of a flow and a campaign before the demo's sales, coupons issued and some
redeemed, clicks, and conversions the results page shows; loading again adds nothing."""

import datetime as dt

import pytest

from messaging.demo_attribution import attribution_demo
from messaging.models import MessageConversion, MessageOrigin
from pos.models import CouponRedemption
from tests.factories import CustomerFactory
from tests.messaging.attribution_helpers import NOON, bare_sale

pytestmark = pytest.mark.django_db


def test_the_demo_credits_sales_to_messages_once(clock, organization, store, register, budtender):
    clock.move_to(NOON)
    for number in range(12):
        customer = CustomerFactory(organization=organization, phone=f"+1415555{number + 300:04d}")
        bare_sale(store, register, budtender, customer, "40.00", at=NOON - dt.timedelta(hours=number))

    added = attribution_demo(organization, {store.code: store}, None)

    assert added == {"messages": 12, "coupons": 6, "conversions": MessageConversion.objects.count()}
    assert set(MessageConversion.objects.values_list("kind", flat=True)) == {"code", "click"}
    assert CouponRedemption.objects.count() == MessageConversion.objects.filter(kind="code").count() == 3
    assert MessageOrigin.objects.filter(flow_step__isnull=False).count() == 4
    assert set(MessageOrigin.objects.exclude(campaign=None).values_list("variant", flat=True)) == {
        "a",
        "b",
        "",
    }
    assert set(MessageConversion.objects.values_list("revenue", flat=True)) == {40}
    assert attribution_demo(organization, {store.code: store}, None) == {
        "messages": 0,
        "coupons": 0,
        "conversions": 0,
    }
