"""Saved segments kept current as events arrive: a sale at the register enters the customer (one
CustomerEnteredSegment, in the delivery's transaction), a redelivery does nothing, a void takes them out; the
periodic pass catches what time alone changes; saving a segment fills it without entry events."""

import datetime as dt
from decimal import Decimal as D

import pytest

from dispensary.models import OutboxEvent
from messaging.events import CustomerEnteredSegment
from messaging.metrics import metrics_rebuild
from messaging.models import CustomerMetrics, Segment, SegmentMember
from messaging.segment_handlers import on_sale_completed
from messaging.segment_members import customer_segments_update, segment_save, segments_refresh
from pos.events import SaleCompleted
from pos.selectors.quote import QuoteLineInput
from pos.services import TenderInput
from pos.services.sales import sale_void
from tests.factories import CustomerFactory, UserFactory
from tests.pos.sale_helpers import checkout

pytestmark = pytest.mark.django_db
ENTERED = CustomerEnteredSegment.name


def entries():
    return list(OutboxEvent.objects.filter(name=ENTERED).order_by("pk").values_list("payload", flat=True))


@pytest.fixture
def buyers(organization):
    return Segment.objects.create(
        organization=organization,
        name="Buyers of 40 or more",
        rules=[{"field": "lifetime_value", "op": "gte", "value": "40"}],
    )


def sell(store, register, budtender, product, package, adult_id, customer, key="seg-1"):
    return checkout(
        store=store,
        register=register,
        staff=budtender,
        customer=customer,
        customer_type="adult_use",
        lines=[QuoteLineInput(product.pk, D("1"), package_id=package.pk)],
        tenders=[TenderInput("cash", D("100"))],
        idempotency_key=key,
        id_verification=adult_id(customer),
    )


def test_a_sale_enters_the_customer_once_and_a_void_takes_them_out(
    organization,
    store,
    register,
    budtender,
    product,
    package,
    adult_id,
    buyers,
    django_capture_on_commit_callbacks,
):
    customer = CustomerFactory(organization=organization)
    with django_capture_on_commit_callbacks(execute=True):
        sale = sell(store, register, budtender, product, package, adult_id, customer)
    member = SegmentMember.objects.get(segment=buyers)
    assert member.customer_id == customer.pk
    buyers.refresh_from_db()
    assert buyers.member_count == 1
    assert entries() == [
        {
            "segment_id": buyers.pk,
            "customer_id": customer.pk,
            "organization_id": organization.pk,
            "entered_at": member.entered_at.astimezone(dt.UTC).isoformat(),
        }
    ]
    metrics = CustomerMetrics.objects.get(customer=customer)
    assert (metrics.orders_count, metrics.lifetime_value) == (1, sale.total)

    # The same event delivered again: nothing changes, nothing is published.
    payload = OutboxEvent.objects.get(name=SaleCompleted.name).payload
    on_sale_completed(SaleCompleted.from_payload(payload))
    assert SegmentMember.objects.filter(segment=buyers).count() == 1
    assert len(entries()) == 1

    manager = UserFactory(organization=organization, roles=["manager"], stores=[store])
    with django_capture_on_commit_callbacks(execute=True):
        sale_void(sale=sale, actor=budtender, approver=manager)
    assert not SegmentMember.objects.filter(segment=buyers).exists()
    buyers.refresh_from_db()
    assert buyers.member_count == 0
    assert CustomerMetrics.objects.get(customer=customer).orders_count == 0
    assert len(entries()) == 1  # leaving publishes nothing


def test_a_customer_of_another_organization_is_never_judged(organization, buyers):
    stranger = CustomerFactory()
    assert customer_segments_update(customer_id=stranger.pk, organization_id=organization.pk) == []
    assert not SegmentMember.objects.exists()


def test_time_passing_enters_lapsed_customers_in_the_periodic_pass(
    organization,
    store,
    register,
    budtender,
    product,
    package,
    adult_id,
    clock,
    django_capture_on_commit_callbacks,
):
    clock.move_to(dt.datetime(2030, 3, 2, 20, 0, tzinfo=dt.UTC))
    lapsed = Segment.objects.create(
        organization=organization,
        name="Lapsed 30+ days",
        rules=[{"field": "days_since_last_purchase", "op": "gt", "value": 30}],
    )
    customer = CustomerFactory(organization=organization)
    with django_capture_on_commit_callbacks(execute=True):
        sell(store, register, budtender, product, package, adult_id, customer)
    assert segments_refresh() == 0
    clock.advance(dt.timedelta(days=30, hours=23))
    assert segments_refresh() == 0  # 30 whole days: not more than 30
    clock.advance(dt.timedelta(hours=1))
    assert segments_refresh() == 1
    assert segments_refresh() == 0
    assert list(SegmentMember.objects.filter(segment=lapsed).values_list("customer_id", flat=True)) == [
        customer.pk
    ]
    assert [payload["customer_id"] for payload in entries()] == [customer.pk]


def test_saving_a_segment_fills_it_without_entry_events(organization, manager):
    customers = [
        CustomerFactory(organization=organization, customer_type=kind) for kind in ("medical", "adult_use")
    ]
    metrics_rebuild(organization_id=organization.pk)
    segment = segment_save(
        organization=organization,
        actor=manager,
        name="Patients",
        rules=[{"field": "customer_type", "op": "eq", "value": "medical"}],
    )
    assert (segment.member_count, entries()) == (1, [])
    assert list(SegmentMember.objects.values_list("customer_id", flat=True)) == [customers[0].pk]
    # Changing the conditions refills it, still without entry events.
    segment = segment_save(
        organization=organization, actor=manager, name="Patients", rules=[], segment=segment
    )
    assert (segment.member_count, entries()) == (2, [])


def test_the_demo_segments_are_added_once(organization, manager):
    from messaging.demo_segments import segments_demo

    CustomerFactory(organization=organization)
    assert segments_demo(organization, {}, {}) == 4
    assert segments_demo(organization, {}, {}) == 0
    assert sorted(Segment.objects.values_list("name", flat=True)) == [
        "Birthdays this month",
        "Flower lovers who text",
        "Lapsed 30+ days",
        "VIPs",
    ]
    assert entries() == []


def test_a_customer_without_metrics_is_judged_with_zeros(organization):
    newcomers = Segment.objects.create(
        organization=organization,
        name="Never bought",
        rules=[
            {"field": "orders_count", "op": "eq", "value": 0},
            {"field": "points_balance", "op": "lte", "value": 0},
        ],
    )
    customer = CustomerFactory(organization=organization)
    assert customer_segments_update(customer_id=customer.pk, organization_id=organization.pk) == [newcomers]
    assert [payload["segment_id"] for payload in entries()] == [newcomers.pk]


def test_the_rebuild_command_shows_its_progress_and_refuses_an_unknown_organization(organization, buyers):
    import io

    from django.core.management import CommandError, call_command

    CustomerFactory(organization=organization)
    out, err = io.StringIO(), io.StringIO()
    call_command("metrics_rebuild", organization=organization.slug, stdout=out, stderr=err)
    assert out.getvalue() == "Metrics computed for 1 customers; 0 segment entries.\n"
    assert err.getvalue().endswith("100% 1/1 customers\n")
    assert CustomerMetrics.objects.count() == 1
    with pytest.raises(CommandError, match="No organization 'nowhere'."):
        call_command("metrics_rebuild", organization="nowhere")


def test_withdrawing_consent_takes_the_customer_out_of_a_texts_allowed_segment_at_once(
    organization, store, manager, django_capture_on_commit_callbacks
):
    from dispensary.consent import CURRENT_VERSIONS
    from dispensary.services import marketing_consent_record

    texters = Segment.objects.create(
        organization=organization,
        name="Texts allowed",
        rules=[{"field": "consent_sms", "op": "is", "value": True}],
    )
    customer = CustomerFactory(organization=organization)
    with django_capture_on_commit_callbacks(execute=True):
        marketing_consent_record(
            customer=customer,
            channel="sms",
            granted=True,
            disclosure_version=CURRENT_VERSIONS["sms"],
            staff=manager,
            store=store,
            age_affirmed=True,
            awaiting_confirmation=False,
        )
    assert list(SegmentMember.objects.filter(segment=texters).values_list("customer_id", flat=True)) == [
        customer.pk
    ]
    with django_capture_on_commit_callbacks(execute=True):
        marketing_consent_record(
            customer=customer,
            channel="sms",
            granted=False,
            disclosure_version=CURRENT_VERSIONS["sms"],
            staff=manager,
            store=store,
        )
    assert not SegmentMember.objects.filter(segment=texters).exists()
