"""Abandoned baskets: a known customer's open cart with lines and no activity for POS_CART_ABANDONED_MINUTES
publishes CartAbandoned once and is marked in the same transaction; every other cart is left alone."""

import datetime as dt
import importlib
from decimal import Decimal as D

import pytest

from dispensary.models import OutboxEvent
from dispensary.schedule import BEAT_SCHEDULE
from pos.models import Cart, CartLine
from pos.services.abandoned import cart_abandoned_publish
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 4, 20, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def cart(store, budtender, product):
    keys = iter(range(1, 1000))

    def make(*, idle_minutes=31, customer=True, lines=((None, D("2")),), status=Cart.Status.OPEN, **fields):
        last = NOW - dt.timedelta(minutes=idle_minutes)
        row = Cart.objects.create(
            store=store,
            staff=budtender,
            customer=CustomerFactory(organization=store.organization) if customer else None,
            status=status,
            idempotency_key=f"cart-{next(keys)}",
            created_at=last - dt.timedelta(minutes=5),
            updated_at=last,
            **fields,
        )
        for line_product, quantity in lines:
            CartLine.objects.create(
                cart=row, product=line_product or product, quantity=quantity, added_at=last
            )
        return row

    return make


def test_an_idle_cart_publishes_once_and_is_marked(cart, store, organization, settings):
    settings.POS_CART_ABANDONED_MINUTES = 30
    bulk = ProductFactory(organization=organization, price=D("8.50"), sold_by="g")
    idle = cart(lines=[(None, D("2")), (bulk, D("3.5"))])
    CartLine.objects.filter(cart=idle, product=bulk).update(price_override=D("8.00"))
    assert cart_abandoned_publish(now=NOW) == 1
    event = OutboxEvent.objects.get(name="pos.cart_abandoned")
    assert event.organization_id == organization.pk
    assert event.payload == {
        "cart_id": idle.pk,
        "organization_id": organization.pk,
        "store_id": store.pk,
        "customer_id": idle.customer_id,
        "lines": [
            {"product_id": idle.lines.first().product_id, "quantity": "2"},
            {"product_id": bulk.pk, "quantity": "3.5"},
        ],
        "total_estimate": "118.00",  # 2 x 45.00 + 3.5 g x 8.00 (the approved override)
        "last_activity_at": "2026-04-20T17:29:00+00:00",
    }
    idle.refresh_from_db()
    assert idle.abandoned_at == NOW
    assert cart_abandoned_publish(now=NOW + dt.timedelta(minutes=5)) == 0
    assert OutboxEvent.objects.filter(name="pos.cart_abandoned").count() == 1


def test_other_carts_are_left_alone(cart, settings):
    settings.POS_CART_ABANDONED_MINUTES = 30
    rows = [
        cart(idle_minutes=29),  # still active
        cart(customer=False),  # anonymous
        cart(lines=()),  # empty
        cart(status=Cart.Status.COMPLETED),
        cart(status=Cart.Status.CANCELLED),
        cart(abandoned_at=NOW - dt.timedelta(hours=1)),  # already published
    ]
    assert cart_abandoned_publish(now=NOW) == 0
    assert OutboxEvent.objects.filter(name="pos.cart_abandoned").count() == 0
    assert [row.abandoned_at for row in Cart.objects.filter(pk__in=[r.pk for r in rows[:5]])] == [None] * 5


def test_the_threshold_is_a_setting(cart, settings):
    settings.POS_CART_ABANDONED_MINUTES = 120
    cart(idle_minutes=90)
    assert cart_abandoned_publish(now=NOW) == 0
    settings.POS_CART_ABANDONED_MINUTES = 60
    assert cart_abandoned_publish(now=NOW) == 1


def test_default_threshold_comes_from_the_environment(monkeypatch):
    from dispensary import settings as settings_module

    monkeypatch.delenv("POS_CART_ABANDONED_MINUTES", raising=False)
    assert importlib.reload(settings_module).POS_CART_ABANDONED_MINUTES == 30
    monkeypatch.setenv("POS_CART_ABANDONED_MINUTES", "45")
    assert importlib.reload(settings_module).POS_CART_ABANDONED_MINUTES == 45
    monkeypatch.delenv("POS_CART_ABANDONED_MINUTES")
    importlib.reload(settings_module)


def test_runs_every_minute_on_the_schedule(cart, settings, clock):
    from pos.tasks import cart_abandoned_publish_task

    assert BEAT_SCHEDULE["pos-cart-abandoned"] == {
        "task": "pos.tasks.cart_abandoned_publish_task",
        "schedule": 60,
    }
    settings.POS_CART_ABANDONED_MINUTES = 30
    cart(idle_minutes=24 * 60)
    clock.move_to(NOW)
    assert cart_abandoned_publish_task() == 1
