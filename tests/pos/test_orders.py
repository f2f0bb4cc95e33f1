"""Orders generalized from pickup orders: fulfilment and channel, the age and identity verification recorded with
each order, and refusals that name the rule that refused them."""

import datetime as dt
from decimal import Decimal as D

import pytest

from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord
from dispensary.services import api_client_create
from pos.errors import PurchaseLimitExceeded
from pos.models import PickupOrder
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from pos.services.pickup import AgeVerificationInput, pickup_order_create
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def customer(organization):
    return CustomerFactory(organization=organization, date_of_birth=dt.date(1990, 5, 17))


def place(store, customer, lines, *, key="order-1", customer_type="adult_use", **kw):
    return pickup_order_create(
        store=store, customer=customer, customer_type=customer_type, lines=lines, idempotency_key=key, **kw
    )


def test_an_order_records_fulfilment_channel_and_the_online_verification(
    clock, store, customer, product, package, budtender
):
    clock.move_to(NOW)
    order = place(
        store,
        customer,
        [(product.pk, D("1"))],
        created_by=budtender,
        channel="phone",
        age_verification=AgeVerificationInput(method="online", reference="VER-77", verified_by_name="IDme"),
    )

    order.refresh_from_db()
    assert (order.fulfilment, order.channel, order.source) == ("pickup", "phone", "staff")
    assert (
        order.age_verification_method,
        order.age_verification_reference,
        order.age_verified_by_name,
        order.age_verified_at,
        order.age_verified_by_id,
    ) == ("online", "VER-77", "IDme", NOW, budtender.pk)
    audit = AuditRecord.objects.get(action="pickup_order.placed", object_id=str(order.pk))
    assert (audit.after["fulfilment"], audit.after["channel"], audit.after["age_verification_method"]) == (
        "pickup",
        "phone",
        "online",
    )


def test_channel_defaults_to_the_caller_and_nothing_is_verified_yet(clock, store, customer, product, package):
    clock.move_to(NOW)
    client, _ = api_client_create(
        organization=store.organization, actor=None, name="Menu", scopes=[], stores=[store]
    )
    order = place(store, customer, [(product.pk, D("1"))], api_client=client)

    assert (order.channel, order.fulfilment, order.age_verification_method, order.age_verified_at) == (
        "api",
        "pickup",
        "",
        None,
    )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"fulfilment": "drone"}, "fulfilment"),
        ({"channel": "fax"}, "channel"),
        ({"age_verification": AgeVerificationInput(method="door_check")}, "age_verification"),
        ({"age_verification": AgeVerificationInput(method="medical_card")}, "age_verification"),
    ],
)
def test_bad_fulfilment_channel_or_verification_writes_nothing(
    clock, store, customer, product, package, budtender, fields, problem
):
    clock.move_to(NOW)
    with pytest.raises(ValidationFailed) as refused:
        place(store, customer, [(product.pk, D("1"))], created_by=budtender, **fields)

    assert list(refused.value.details) == [problem]
    assert PickupOrder.objects.count() == 0


def test_the_counter_scan_is_recorded_when_the_order_is_picked_up(
    clock, store, register, customer, product, package, budtender, adult_id
):
    clock.move_to(NOW)
    order = place(store, customer, [(product.pk, D("1"))], created_by=budtender)
    verification = adult_id(customer)
    checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("1"))],
        tenders=[TenderInput("cash", D("100"))],
        idempotency_key="sale-1",
        id_verification=verification,
        pickup_order=order,
    )

    order.refresh_from_db()
    assert (
        order.status,
        order.age_verification_method,
        order.id_verification_id,
        order.age_verified_by_id,
        order.age_verified_at,
    ) == ("completed", "counter_scan", verification.pk, budtender.pk, NOW)
    assert order.get_age_verification_method_display() == "ID scanned at the counter"


def test_a_refused_order_names_the_rule_in_plain_words(clock, store, customer, organization, budtender):
    clock.move_to(NOW)
    flower = ProductFactory(organization=organization, price=D("100.00"))
    ProductLimitAmountFactory(product=flower, bucket="flower_g", amount=D("28.5"))
    receive(store, flower, 3)

    with pytest.raises(PurchaseLimitExceeded) as refused:
        place(store, customer, [(flower.pk, D("2"))], created_by=budtender)

    violation = refused.value.details["violations"][0]
    assert (violation["code"], violation["limit"]) == ("limit_exceeded", "non-concentrated cannabis")
    assert violation["message"].endswith("57 g of the 28.5 g daily limit: 28.5 g over.")
    assert refused.value.message == " ".join(v["message"] for v in refused.value.details["violations"])
    assert PickupOrder.objects.count() == 0
