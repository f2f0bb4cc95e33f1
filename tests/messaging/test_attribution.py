"""Sales credited to messages: by the personal coupon a message carried, else by a click within the window
before the sale (the latest click wins); a void takes the credit back, a refund lowers its revenue; one
conversion per sale whatever the redeliveries. Engagement (a short link opened) is published for flows."""

import datetime as dt
from decimal import Decimal as D

import pytest

from dispensary.models import EventDelivery, OutboxEvent
from messaging.attribution import conversion_record, sale_revenue
from messaging.models import MessageConversion, MessageStatusEvent, ShortLink
from pos.models import SaleLine
from pos.services.sales import sale_refund, sale_void
from tests.factories import CustomerFactory
from tests.messaging.attribution_helpers import (
    NOON,
    click,
    deliver,
    marketing_message,
    personal_coupon,
    redeliver,
    sell,
)

pytestmark = pytest.mark.django_db
COMPLETED, VOIDED, REFUNDED = "pos.sale_completed", "pos.sale_voided", "pos.sale_refunded"


@pytest.fixture
def ctx(store, register, budtender, manager, product, package, adult_id):
    return {
        "store": store,
        "register": register,
        "budtender": budtender,
        "manager": manager,
        "product": product,
        "package": package,
        "adult_id": adult_id,
    }


@pytest.fixture
def ada(store):
    return CustomerFactory(organization=store.organization, phone="+14155550134")


def conversion_row(sale):
    conversion = MessageConversion.objects.get(sale=sale)
    return conversion.message_id, conversion.kind, conversion.revenue, conversion.customer_id


def test_a_redeemed_personal_coupon_credits_its_message(clock, ctx, ada):
    clock.move_to(NOON)
    message = marketing_message(ctx["store"], ada)
    coupon = personal_coupon(ctx["store"], ada, message)
    clock.move_to(NOON + dt.timedelta(days=9))  # far outside any click window: the code needs none
    sale = sell(ctx, ada, coupon_codes=[coupon.code.lower()])
    assert (sale.subtotal, sale.discount_total) == (D("90.00"), D("9.00"))

    assert deliver(COMPLETED) == 1

    # Revenue is before taxes: the subtotal less the discounts.
    assert conversion_row(sale) == (message.pk, "code", D("81.00"), ada.pk)
    assert sale_revenue(sale) == D("81.00") and sale.total > D("81.00")


def test_a_click_inside_the_window_credits_the_latest_clicked_message(clock, ctx, ada):
    clock.move_to(NOON)
    older = marketing_message(ctx["store"], ada)
    newer = marketing_message(ctx["store"], ada)
    sale_at = NOON + dt.timedelta(days=5)
    click(older, sale_at - dt.timedelta(days=5))  # exactly at the window's start: inside
    click(newer, sale_at - dt.timedelta(days=2))
    click(older, sale_at - dt.timedelta(days=3))
    clock.move_to(sale_at)
    sale = sell(ctx, ada)

    deliver(COMPLETED)

    assert conversion_row(sale) == (newer.pk, "click", D("90.00"), ada.pk)


def test_the_window_edge_is_exact(clock, ctx, ada):
    clock.move_to(NOON)
    message = marketing_message(ctx["store"], ada)
    sale_at = NOON + dt.timedelta(days=6)
    click(message, sale_at - dt.timedelta(days=5, seconds=1))  # one second too early
    clock.move_to(sale_at)
    late = sell(ctx, ada)
    deliver(COMPLETED)
    assert not MessageConversion.objects.filter(sale=late).exists()

    click(message, sale_at - dt.timedelta(days=5))
    again = sell(ctx, ada)
    deliver(COMPLETED)
    assert conversion_row(again) == (message.pk, "click", D("90.00"), ada.pk)


def test_the_window_is_configurable(clock, ctx, ada, settings):
    settings.MESSAGING_ATTRIBUTION_CLICK_DAYS = 1
    clock.move_to(NOON)
    message = marketing_message(ctx["store"], ada)
    click(message, NOON)
    clock.move_to(NOON + dt.timedelta(days=2))
    sale = sell(ctx, ada)
    deliver(COMPLETED)
    assert not MessageConversion.objects.exists()
    settings.MESSAGING_ATTRIBUTION_CLICK_DAYS = 3
    assert conversion_record(sale_id=sale.pk).message_id == message.pk


def test_clicks_of_transactional_messages_others_and_later_clicks_do_not_count(clock, ctx, ada, store):
    clock.move_to(NOON)
    receipt = marketing_message(store, ada, category="transactional")
    click(receipt, NOON)
    someone_else = CustomerFactory(organization=store.organization, phone="+14155550135")
    click(marketing_message(store, someone_else), NOON)
    mine = marketing_message(store, ada)
    click(mine, NOON + dt.timedelta(hours=2))  # after the sale
    clock.move_to(NOON + dt.timedelta(hours=1))
    sale = sell(ctx, ada)
    deliver(COMPLETED)
    assert not MessageConversion.objects.exists()
    assert sale.customer_id == ada.pk


def test_the_code_beats_a_later_click(clock, ctx, ada):
    clock.move_to(NOON)
    with_code = marketing_message(ctx["store"], ada)
    coupon = personal_coupon(ctx["store"], ada, with_code)
    clicked = marketing_message(ctx["store"], ada)
    click(clicked, NOON + dt.timedelta(hours=1))
    clock.move_to(NOON + dt.timedelta(hours=2))
    sale = sell(ctx, ada, coupon_codes=[coupon.code])
    deliver(COMPLETED)
    assert conversion_row(sale) == (with_code.pk, "code", D("81.00"), ada.pk)


def test_a_void_reverses_the_conversion_once(clock, ctx, ada):
    clock.move_to(NOON)
    message = marketing_message(ctx["store"], ada)
    click(message, NOON)
    clock.move_to(NOON + dt.timedelta(hours=1))
    sale = sell(ctx, ada)
    deliver(COMPLETED)
    clock.move_to(NOON + dt.timedelta(hours=2))
    sale_void(sale=sale, actor=ctx["budtender"], approver=ctx["manager"])

    assert deliver(VOIDED) == 1
    conversion = MessageConversion.objects.get(sale=sale)
    assert conversion.reversed_at == NOON + dt.timedelta(hours=2)

    clock.move_to(NOON + dt.timedelta(hours=3))
    redeliver(VOIDED, COMPLETED)
    conversion.refresh_from_db()
    assert conversion.reversed_at == NOON + dt.timedelta(hours=2)
    assert MessageConversion.objects.count() == 1


def test_a_refund_lowers_the_revenue(clock, ctx, ada):
    clock.move_to(NOON)
    message = marketing_message(ctx["store"], ada)
    coupon = personal_coupon(ctx["store"], ada, message)
    clock.move_to(NOON + dt.timedelta(hours=1))
    sale = sell(ctx, ada, coupon_codes=[coupon.code])
    deliver(COMPLETED)
    line = SaleLine.objects.get(sale=sale)
    refund = sale_refund(
        sale=sale,
        lines=[(line, D("1"), True)],
        reason="Wrong strain",
        actor=ctx["budtender"],
        approver=ctx["manager"],
    )
    assert refund.net_amount == D("40.50")

    assert deliver(REFUNDED) == 1
    assert conversion_row(sale) == (message.pk, "code", D("40.50"), ada.pk)
    redeliver(REFUNDED)
    assert conversion_row(sale) == (message.pk, "code", D("40.50"), ada.pk)


def test_redelivery_changes_nothing(clock, ctx, ada):
    clock.move_to(NOON)
    message = marketing_message(ctx["store"], ada)
    click(message, NOON)
    clock.move_to(NOON + dt.timedelta(hours=1))
    sale = sell(ctx, ada)
    deliver(COMPLETED)
    first = MessageConversion.objects.get()
    # A newer click arriving before a redelivery does not move the credit: the first answer stands.
    click(marketing_message(ctx["store"], ada), NOON + dt.timedelta(minutes=30))
    assert redeliver(COMPLETED) == 1
    assert list(MessageConversion.objects.values_list("pk", "message_id", "sale_id")) == [
        (first.pk, message.pk, sale.pk)
    ]
    assert (
        EventDelivery.objects.filter(handler__endswith="on_sale_completed_attribute").get().status
        == "succeeded"
    )


def test_a_sale_without_message_or_customer_is_credited_to_nothing(clock, ctx, store):
    clock.move_to(NOON)
    sale = sell(ctx, None, verification=ctx["adult_id"]())
    deliver(COMPLETED)
    assert not MessageConversion.objects.exists()
    assert conversion_record(sale_id=sale.pk) is None
    assert conversion_record(sale_id=999999) is None


def test_a_short_link_click_goes_on_the_timeline_and_publishes_engagement(clock, client, ada, store):
    clock.move_to(NOON)
    message = marketing_message(store, ada)
    link = ShortLink.objects.create(
        code="abcdEFGH12",
        organization=store.organization,
        message=message,
        target_url="https://shop.example/x",
    )
    receipt = marketing_message(store, ada, category="transactional")
    plain = ShortLink.objects.create(
        code="abcdEFGH13",
        organization=store.organization,
        message=receipt,
        target_url="https://shop.example/y",
    )

    assert client.get(f"/l/{link.code}").status_code == 200  # the age gate
    assert client.get(f"/l/{plain.code}").status_code == 200

    assert list(MessageStatusEvent.objects.values_list("message_id", "status", "source", "occurred_at")) == [
        (message.pk, "clicked", "link", NOON),
        (receipt.pk, "clicked", "link", NOON),
    ]
    engaged = OutboxEvent.objects.filter(name="messaging.message_engaged")
    assert [event.payload for event in engaged] == [
        {
            "message_id": message.pk,
            "customer_id": ada.pk,
            "organization_id": store.organization_id,
            "engagement": "clicked",
            "occurred_at": NOON.isoformat(),
        }
    ]
