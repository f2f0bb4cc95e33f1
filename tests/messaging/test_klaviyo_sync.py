"""Klaviyo kept in step through the outbox, against the local fake over real sockets: profiles upserted with
our customer id, subscription jobs for confirmed consent only, the order, product, refund, checkout and points
events with their unique ids; a lost answer then a retry never doubles; a 429 pauses and is retried; a request
Klaviyo refuses is recorded and not retried."""

import datetime as dt
from decimal import Decimal as D

import pytest

from dispensary.consent import CURRENT_VERSIONS
from dispensary.event_types import CustomerCreated, CustomerUpdated
from dispensary.events import publish
from dispensary.models import EventDelivery, MarketingConsent
from dispensary.services import marketing_consent_record
from messaging.klaviyo_client import REVISION
from messaging.models import KlaviyoSyncRecord
from pos.events import CartAbandoned, PointsEarned, TierChanged
from pos.models import LoyaltyAccount, LoyaltyTier
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput, sale_refund
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, receive
from tests.messaging.klaviyo_helpers import KEY, deliver_klaviyo, klaviyo_deliveries
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def fake(klaviyo_fake):
    return klaviyo_fake


@pytest.fixture
def customer(store):
    customer = CustomerFactory(
        organization=store.organization,
        phone="+14155552671",
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        home_store=store,
        customer_type="medical",
    )
    tier = LoyaltyTier.objects.create(organization=store.organization, name="Gold", min_spend=D("500"))
    LoyaltyAccount.objects.create(customer=customer, balance=120, tier=tier)
    return customer


def records(**filters):
    return list(
        KlaviyoSyncRecord.objects.filter(**filters)
        .order_by("kind", "unique_id")
        .values_list("kind", "metric", "unique_id", "status", "attempts")
    )


def test_customer_created_and_updated_upsert_one_profile_keyed_by_our_id(klaviyo, fake, customer, store):
    publish(
        CustomerCreated(
            customer_id=customer.pk, organization_id=store.organization_id, customer_type="medical"
        )
    )
    assert deliver_klaviyo("customer.created") == ["succeeded"]
    customer.first_name = "Augusta"
    customer.save()
    publish(
        CustomerUpdated(
            customer_id=customer.pk, organization_id=store.organization_id, changed_fields=["first_name"]
        )
    )
    assert deliver_klaviyo("customer.updated") == ["succeeded"]

    assert len(fake.profiles) == 1
    (profile,) = fake.profiles.values()
    assert profile["attributes"] == {
        "external_id": str(customer.pk),
        "phone_number": "+14155552671",
        "email": "ada@example.com",
        "first_name": "Augusta",
        "last_name": "Lovelace",
        "properties": {
            "Store": store.name,
            "Customer type": "Medical",
            "Loyalty tier": "Gold",
            "Loyalty points": 120,
        },
    }
    silver = LoyaltyTier.objects.create(organization=store.organization, name="Silver", min_spend=D("100"))
    LoyaltyAccount.objects.filter(customer=customer).update(tier=silver)
    publish(
        TierChanged(
            organization_id=store.organization_id, customer_id=customer.pk, from_tier="Gold", to_tier="Silver"
        )
    )
    assert deliver_klaviyo("pos.tier_changed") == ["succeeded"]
    assert profile["attributes"]["properties"]["Loyalty tier"] == "Silver"
    assert fake.requests == [("/api/profile-import", "201"), ("/api/profile-import", "200")] + [
        ("/api/profile-import", "200")
    ]
    assert records() == [("profile", "", f"customer-{customer.pk}", "sent", 1)]


def test_every_request_carries_the_key_and_the_revision(klaviyo, fake, customer, store, settings):
    assert REVISION == "2026-10-15"
    klaviyo.api_key_encrypted = klaviyo.api_key_encrypted  # the saved key, encrypted
    assert KEY not in klaviyo.api_key_encrypted
    publish(
        CustomerCreated(
            customer_id=customer.pk, organization_id=store.organization_id, customer_type="medical"
        )
    )
    fake.api_keys = {"pk_another_accounts_key"}
    assert deliver_klaviyo("customer.created") == ["retry"]
    delivery = klaviyo_deliveries("customer.created").get()
    assert "Klaviyo refused the API key (401)" in delivery.last_error
    assert fake.profiles == {}
    fake.api_keys = {KEY}
    assert deliver_klaviyo("customer.created") == ["succeeded"]
    assert records() == [("profile", "", f"customer-{customer.pk}", "sent", 2)]


def _consent(customer, store, manager, *, channel, granted=True, source="counter", awaiting=None):
    return marketing_consent_record(
        customer=customer,
        channel=channel,
        granted=granted,
        disclosure_version=CURRENT_VERSIONS[channel],
        staff=manager,
        store=store,
        source=source,
        age_affirmed=True,
        awaiting_confirmation=awaiting,
    )


def test_consent_subscribes_only_once_confirmed_and_unsubscribes_on_withdrawal(
    klaviyo, fake, customer, store, manager, clock
):
    clock.move_to(NOON)
    waiting = _consent(customer, store, manager, channel="sms")  # typed at the counter: awaits the YES
    assert waiting.awaiting_confirmation
    assert deliver_klaviyo("customer.marketing_consent_recorded") == ["succeeded"]
    assert fake.jobs == [] and fake.requests == []
    assert records() == [("subscribe", "", f"consent-{waiting.pk}", "skipped", 1)]

    clock.move_to(NOON + dt.timedelta(minutes=5))
    confirmed = _consent(customer, store, manager, channel="sms", source="keyword", awaiting=False)  # the YES
    email = _consent(customer, store, manager, channel="email")
    assert deliver_klaviyo("customer.marketing_consent_recorded") == ["succeeded", "succeeded"]
    profile = fake.profile_by(phone_number="+14155552671")
    assert profile["subscriptions"] == {
        "sms": {"consent": "SUBSCRIBED", "consented_at": "2026-03-10T12:05:00+00:00", "list": "SMS1"},
        "email": {"consent": "SUBSCRIBED", "consented_at": "2026-03-10T12:05:00+00:00", "list": "EMAILS1"},
    }
    assert profile["lists"] == {"SMS1", "EMAILS1"}

    clock.move_to(NOON + dt.timedelta(hours=1))
    withdrawn = _consent(customer, store, manager, channel="sms", granted=False)
    assert deliver_klaviyo("customer.marketing_consent_recorded") == ["succeeded"]
    assert profile["subscriptions"]["sms"] == {
        "consent": "UNSUBSCRIBED",
        "consented_at": None,
        "list": "SMS1",
    }
    assert profile["lists"] == {"EMAILS1"}
    assert [(job["kind"], job["list"]) for job in fake.jobs] == [
        ("subscribe", "SMS1"),
        ("subscribe", "EMAILS1"),
        ("unsubscribe", "SMS1"),
    ]
    assert records(kind__in=["subscribe", "unsubscribe"], status="sent") == [
        ("subscribe", "", f"consent-{confirmed.pk}", "sent", 1),
        ("subscribe", "", f"consent-{email.pk}", "sent", 1),
        ("unsubscribe", "", f"consent-{withdrawn.pk}", "sent", 1),
    ]


def test_a_late_grant_delivery_never_undoes_a_newer_withdrawal(
    klaviyo, fake, customer, store, manager, clock
):
    clock.move_to(NOON)
    _consent(customer, store, manager, channel="email")
    clock.move_to(NOON + dt.timedelta(minutes=1))
    _consent(customer, store, manager, channel="email", granted=False)
    # Both deliveries run after the withdrawal: each reads the ledger as it is now.
    assert deliver_klaviyo("customer.marketing_consent_recorded") == ["succeeded", "succeeded"]
    assert [job["kind"] for job in fake.jobs] == ["unsubscribe", "unsubscribe"]
    assert fake.profile_by(email="ada@example.com")["subscriptions"]["email"]["consent"] == "UNSUBSCRIBED"


def test_transactional_consent_and_other_organizations_send_nothing(
    klaviyo, fake, store, manager, organization
):
    other = CustomerFactory(email="bo@example.com")  # another organization, without Klaviyo
    marketing_consent_record(
        customer=other,
        channel="email",
        granted=True,
        disclosure_version="email-2025-01",
        staff=None,
        store=None,
        source="web",
        age_affirmed=True,
    )
    mine = CustomerFactory(organization=organization, email="cy@example.com")
    marketing_consent_record(
        customer=mine,
        channel="email",
        granted=True,
        disclosure_version="email-2025-01",
        staff=manager,
        store=store,
        purpose=MarketingConsent.Purpose.TRANSACTIONAL,
    )
    assert deliver_klaviyo("customer.marketing_consent_recorded") == ["succeeded", "succeeded"]
    assert fake.requests == [] and KlaviyoSyncRecord.objects.count() == 0


@pytest.fixture
def two_line_sale(store, register, budtender, product, package, adult_id, customer, clock):
    clock.move_to(NOON)
    gummies = ProductFactory(
        organization=store.organization, name="Gummies", brand="Kiva", category="edible", price=D("20.00")
    )
    gummies_package = receive(store, gummies, 10)
    return checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[
            QuoteLineInput(product.pk, D("2"), package_id=package.pk),
            QuoteLineInput(gummies.pk, D("1"), package_id=gummies_package.pk),
        ],
        tenders=[TenderInput("cash", D("500"))],
        idempotency_key="klaviyo-1",
        id_verification=adult_id(customer),
    )


def test_sale_sends_placed_order_and_one_ordered_product_per_line(klaviyo, fake, two_line_sale, product):
    sale = two_line_sale
    assert deliver_klaviyo("pos.sale_completed") == ["succeeded"]
    first, second = sale.lines.order_by("pk")
    assert [(e["metric"], e["unique_id"], e["value"]) for e in fake.events] == [
        ("Placed Order", f"sale-{sale.pk}", float(sale.total)),
        ("Ordered Product", f"sale-{sale.pk}-line-{first.pk}", float(first.total)),
        ("Ordered Product", f"sale-{sale.pk}-line-{second.pk}", float(second.total)),
    ]
    placed = fake.events[0]
    assert placed["time"] == "2026-03-10T12:00:00+00:00"
    assert placed["value_currency"] == "USD" and placed["backfill"] is False
    assert placed["properties"]["ItemNames"] == [product.name, "Gummies"]
    assert placed["properties"]["Categories"] == ["Edible", "Flower"]
    assert placed["properties"]["ItemCount"] == 2
    assert fake.events[2]["properties"] == {
        "ProductID": str(second.product_id),
        "ProductName": "Gummies",
        "Brand": "Kiva",
        "Category": "Edible",
        "Quantity": 1.0,
        "Unit": "each",
        "ItemPrice": 20.0,
        "RowTotal": float(second.total),
        "OrderId": str(sale.pk),
        "Store": sale.store.name,
    }
    assert len({e["profile_id"] for e in fake.events}) == 1
    assert records(kind="event") == [
        ("event", "Placed Order", f"sale-{sale.pk}", "sent", 1),
        ("event", "Ordered Product", f"sale-{sale.pk}-line-{first.pk}", "sent", 1),
        ("event", "Ordered Product", f"sale-{sale.pk}-line-{second.pk}", "sent", 1),
    ]


def test_a_lost_answer_then_the_retry_never_doubles_an_event(klaviyo, fake, two_line_sale):
    sale = two_line_sale
    fake.faults = ["", "lose"]  # Placed Order answered; the first Ordered Product applied, its answer lost
    assert deliver_klaviyo("pos.sale_completed") == ["retry"]
    delivery = klaviyo_deliveries("pos.sale_completed").get()
    assert delivery.attempts == 1 and "no answer from Klaviyo" in delivery.last_error
    assert [e["metric"] for e in fake.events] == ["Placed Order", "Ordered Product"]
    assert KlaviyoSyncRecord.objects.count() == 0  # the failed attempt's records rolled back with it

    assert deliver_klaviyo("pos.sale_completed") == ["succeeded"]
    assert [r[1] for r in fake.requests] == ["202", "lost", "202", "202", "202"]  # five calls...
    assert [e["metric"] for e in fake.events] == [
        "Placed Order",
        "Ordered Product",
        "Ordered Product",
    ]  # ...3 events
    assert len({e["unique_id"] for e in fake.events}) == 3
    assert [(r[2], r[3], r[4]) for r in records(kind="event")][0] == (f"sale-{sale.pk}", "sent", 2)
    assert "no answer from Klaviyo" in KlaviyoSyncRecord.objects.get(unique_id=f"sale-{sale.pk}").last_error
    # a duplicate delivery of the same event (the sweeper's) does nothing at all
    assert deliver_klaviyo("pos.sale_completed") == []


def test_a_429_pauses_the_account_until_retry_after_then_the_retry_sends_once(
    klaviyo, fake, customer, store, clock
):
    clock.move_to(NOON)
    publish(
        PointsEarned(
            organization_id=store.organization_id,
            customer_id=customer.pk,
            sale_id=991,
            points=45,
            balance=165,
        )
    )
    fake.faults = ["429"]
    assert deliver_klaviyo("pos.points_earned") == ["retry"]
    assert "rate limit (429): retry after 30 s" in klaviyo_deliveries("pos.points_earned").get().last_error
    # within Klaviyo's Retry-After nothing is called
    clock.move_to(NOON + dt.timedelta(seconds=20))
    assert deliver_klaviyo("pos.points_earned") == ["retry"]
    assert fake.requests == [("/api/events", "429")]
    clock.move_to(NOON + dt.timedelta(seconds=31))
    assert deliver_klaviyo("pos.points_earned") == ["succeeded"]
    (event,) = fake.events
    assert (event["metric"], event["unique_id"], event["properties"]) == (
        "Points Earned",
        "points-sale-991",
        {"Points": 45, "Balance": 165, "OrderId": "991", "Loyalty tier": "Gold"},
    )
    assert records() == [("event", "Points Earned", "points-sale-991", "sent", 3)]


def test_server_errors_are_retried_by_the_outbox(klaviyo, fake, customer, store):
    publish(
        CustomerCreated(
            customer_id=customer.pk, organization_id=store.organization_id, customer_type="medical"
        )
    )
    fake.faults = ["503", "500"]
    assert deliver_klaviyo("customer.created") == ["retry"]
    assert deliver_klaviyo("customer.created") == ["retry"]
    assert deliver_klaviyo("customer.created") == ["succeeded"]
    assert klaviyo_deliveries("customer.created").get().attempts == 3
    assert len(fake.profiles) == 1


def test_a_refused_request_is_recorded_and_not_retried(klaviyo, fake, store):
    odd = CustomerFactory(organization=store.organization, phone="+1234")  # not a number Klaviyo takes
    publish(
        CustomerCreated(customer_id=odd.pk, organization_id=store.organization_id, customer_type="adult_use")
    )
    assert deliver_klaviyo("customer.created") == ["succeeded"]
    record = KlaviyoSyncRecord.objects.get()
    assert (record.kind, record.status) == ("profile", "rejected")
    assert record.detail.startswith("Klaviyo refused the request (400): Invalid phone number format")


def test_refund_sends_refunded_order(klaviyo, fake, two_line_sale, budtender, manager):
    sale = two_line_sale
    line = sale.lines.order_by("pk").first()
    refund = sale_refund(
        sale=sale, lines=[(line, D("1"), True)], reason="Wrong strain", actor=budtender, approver=manager
    )
    assert deliver_klaviyo("pos.sale_refunded") == ["succeeded"]
    (event,) = fake.events_of("Refunded Order")
    assert (event["unique_id"], event["value"]) == (f"refund-{refund.pk}", float(refund.total))
    assert event["properties"]["OrderId"] == str(sale.pk)
    assert [(i["ProductName"], i["Quantity"]) for i in event["properties"]["Items"]] == [
        (line.product.name, 1.0)
    ]


def test_abandoned_cart_sends_started_checkout_once_per_abandonment(klaviyo, fake, customer, store, product):
    def abandon(at):
        publish(
            CartAbandoned(
                cart_id=77,
                organization_id=store.organization_id,
                store_id=store.pk,
                customer_id=customer.pk,
                lines=[{"product_id": product.pk, "quantity": "2"}],
                total_estimate="90.00",
                last_activity_at=at,
            )
        )

    abandon("2026-03-10T11:30:00+00:00")
    abandon("2026-03-10T11:30:00+00:00")  # the same abandonment published twice
    abandon("2026-03-10T15:00:00+00:00")  # abandoned again after new activity
    assert deliver_klaviyo("pos.cart_abandoned") == ["succeeded"] * 3
    assert [(e["unique_id"], e["value"]) for e in fake.events_of("Started Checkout")] == [
        ("cart-77-20260310T113000Z", 90.0),
        ("cart-77-20260310T150000Z", 90.0),
    ]
    assert fake.events[0]["properties"]["ItemNames"] == [product.name]


def test_sync_off_sends_nothing(klaviyo, fake, customer, store, manager):
    from messaging.klaviyo_services import klaviyo_account_save

    klaviyo_account_save(
        organization=store.organization,
        actor=manager,
        enabled=False,
        api_key="",
        email_list_id="",
        sms_list_id="",
    )
    publish(
        CustomerCreated(
            customer_id=customer.pk, organization_id=store.organization_id, customer_type="medical"
        )
    )
    assert deliver_klaviyo("customer.created") == ["succeeded"]
    assert fake.requests == [] and KlaviyoSyncRecord.objects.count() == 0
    assert EventDelivery.objects.filter(status="dead").count() == 0
