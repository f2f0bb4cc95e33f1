"""Register -> Alpine IQ and Springbig: members, transactions and balances, each write exactly once whatever
the faults (the fakes apply a write and lose the answer, or answer 429 or 500; the outbox retries)."""

import pytest

from dispensary.events import deliver
from dispensary.models import EventDelivery
from messaging.models import LoyaltyMemberLink
from pos.models import LoyaltyAccount
from pos.services import sale_void
from tests.messaging.loyalty_sync_helpers import consent_grant, pending_loyalty_deliveries, sell_to

pytestmark = pytest.mark.django_db


def balance(customer) -> int:
    return LoyaltyAccount.objects.get(customer=customer).balance


def test_a_sale_reaches_alpine_as_member_transaction_and_balance(
    alpine,
    alpine_fake,
    program,
    member,
    store,
    register,
    budtender,
    product,
    package,
    adult_id,
    django_capture_on_commit_callbacks,
):
    consent_grant(member, "sms")
    consent_grant(member, "email", awaiting=False)
    sale = sell_to(
        member,
        store=store,
        register=register,
        staff=budtender,
        product=product,
        adult_id=adult_id,
        capture=django_capture_on_commit_callbacks,
    )
    assert sale.points_earned > 0
    link = LoyaltyMemberLink.objects.get(settings=alpine, customer=member)
    persona = alpine_fake.personas[link.vendor_member_id]
    assert (persona["mobilePhone"], persona["firstName"], persona["lastName"], persona["email"]) == (
        "4155550134",
        "Ada",
        "Ng",
        "ada@x.org",
    )
    assert persona["optin"] is True
    visit = alpine_fake.transactions[f"sale-{sale.pk}"]
    assert (visit["pos_user"], visit["transaction_total"], visit["location"]) == (
        link.vendor_member_id,
        float(sale.total),
        "Mission St",
    )
    assert [(row["sku"], row["quantity"]) for row in visit["visit_details_attributes"]] == [
        (product.sku, 2.0)
    ]
    # The balance is set once (by the sale's handler); the points handler finds it equal and writes nothing.
    assert persona["points"] == balance(member) == sale.points_earned
    assert [row["value"] for row in alpine_fake.adjustments] == [sale.points_earned]
    assert link.synced_balance == sale.points_earned
    assert pending_loyalty_deliveries() == []


def test_unconfirmed_sms_consent_is_not_an_opt_in(
    alpine, alpine_fake, member, django_capture_on_commit_callbacks
):
    from messaging.loyalty_sync import sync

    consent_grant(member, "sms", awaiting=True)
    with sync.provider_for(alpine) as provider:
        link = sync.member_push(settings=alpine, provider=provider, customer=member)
    assert alpine_fake.personas[link.vendor_member_id]["optin"] is False


def test_alpine_points_never_double_after_a_lost_answer_and_a_retry(
    alpine,
    alpine_fake,
    program,
    member,
    store,
    register,
    budtender,
    product,
    package,
    adult_id,
    django_capture_on_commit_callbacks,
):
    # Alpine IQ applies every adjustment it receives: the answer to the first is lost after it is applied.
    alpine_fake.faults = ["lose@/adjust/loyaltyPoints"]
    sale = sell_to(
        member,
        store=store,
        register=register,
        staff=budtender,
        product=product,
        adult_id=adult_id,
        capture=django_capture_on_commit_callbacks,
    )
    (stuck,) = pending_loyalty_deliveries()  # whichever of the sale's and the points' handlers came first
    assert "could not reach /api/v1.1/adjust/loyaltyPoints" in stuck.last_error
    assert deliver(stuck.pk).status == "succeeded"
    link = LoyaltyMemberLink.objects.get(settings=alpine, customer=member)
    # Exactly one adjustment in the vendor's ledger, and its balance is the register's.
    assert [row["value"] for row in alpine_fake.adjustments] == [sale.points_earned]
    assert alpine_fake.personas[link.vendor_member_id]["points"] == balance(member) == sale.points_earned
    assert list(alpine_fake.transactions) == [f"sale-{sale.pk}"]


def test_springbig_visit_and_points_never_double_after_lost_answers(
    springbig,
    springbig_fake,
    program,
    member,
    store,
    register,
    budtender,
    product,
    package,
    adult_id,
    django_capture_on_commit_callbacks,
):
    springbig_fake.faults = ["lose@/pos/v1/visits", "lose@/points"]
    sale = sell_to(
        member,
        store=store,
        register=register,
        staff=budtender,
        product=product,
        adult_id=adult_id,
        capture=django_capture_on_commit_callbacks,
    )
    retries = 0
    while pending := pending_loyalty_deliveries():
        for delivery in pending:
            deliver(delivery.pk)
        retries += 1
        assert retries < 4
    link = LoyaltyMemberLink.objects.get(settings=springbig, customer=member)
    row = springbig_fake.members[link.vendor_member_id]
    assert (row["phone_number"], row["pos_user"], row["first_name"]) == ("4155550134", str(member.pk), "Ada")
    assert list(springbig_fake.visits) == [f"sale-{sale.pk}"]
    visit = springbig_fake.visits[f"sale-{sale.pk}"]
    assert (visit["points"], visit["transaction_total"], visit["pos_type"]) == (
        sale.points_earned,
        str(sale.total),
        "greenleaf",
    )
    assert [entry["points"] for entry in springbig_fake.adjustments] == [sale.points_earned]
    assert row["points"] == balance(member)


def test_rate_limits_and_vendor_failures_are_retried_by_the_outbox(
    springbig,
    springbig_fake,
    program,
    member,
    store,
    register,
    budtender,
    product,
    package,
    adult_id,
    django_capture_on_commit_callbacks,
):
    springbig_fake.faults = ["429@/pos/v1/visits", "500@/pos/v1/visits"]
    sell_to(
        member,
        store=store,
        register=register,
        staff=budtender,
        product=product,
        adult_id=adult_id,
        capture=django_capture_on_commit_callbacks,
    )
    (stuck,) = pending_loyalty_deliveries()
    assert "429" in stuck.last_error
    assert deliver(stuck.pk).status == "retry"
    assert "500" in EventDelivery.objects.get(pk=stuck.pk).last_error
    assert deliver(stuck.pk).status == "succeeded"
    assert len(springbig_fake.visits) == 1


def test_a_void_sends_its_reversal_and_the_balance_back(
    alpine,
    alpine_fake,
    program,
    member,
    store,
    register,
    budtender,
    manager,
    product,
    package,
    adult_id,
    django_capture_on_commit_callbacks,
):
    sale = sell_to(
        member,
        store=store,
        register=register,
        staff=budtender,
        product=product,
        adult_id=adult_id,
        capture=django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=True):
        sale_void(sale=sale, actor=budtender, approver=manager)
    link = LoyaltyMemberLink.objects.get(settings=alpine, customer=member)
    reversal = alpine_fake.transactions[f"sale-{sale.pk}-void"]
    assert reversal["transaction_total"] == -float(sale.total)
    assert [row["quantity"] for row in reversal["visit_details_attributes"]] == [-2.0]
    assert balance(member) == 0
    assert alpine_fake.personas[link.vendor_member_id]["points"] == 0
    assert [row["value"] for row in alpine_fake.adjustments] == [sale.points_earned, -sale.points_earned]
    assert pending_loyalty_deliveries() == []


def test_nothing_is_sent_without_enabled_settings(
    alpine,
    alpine_fake,
    program,
    member,
    store,
    register,
    budtender,
    product,
    package,
    adult_id,
    django_capture_on_commit_callbacks,
):
    alpine.enabled = False
    alpine.save()
    sell_to(
        member,
        store=store,
        register=register,
        staff=budtender,
        product=product,
        adult_id=adult_id,
        capture=django_capture_on_commit_callbacks,
    )
    assert (alpine_fake.requests, LoyaltyMemberLink.objects.count()) == ([], 0)


def test_a_new_customer_meets_the_member_the_vendor_already_had_once(
    alpine, alpine_fake, program, organization, django_capture_on_commit_callbacks
):
    from dispensary.services import customer_create
    from pos.models import PointsEntry

    contact = alpine_fake.persona_add(phone="4155550142", first_name="Old", points=50)
    with django_capture_on_commit_callbacks(execute=True):
        customer = customer_create(
            organization=organization, actor=None, phone="+14155550142", first_name="Old", last_name="Friend"
        )
    link = LoyaltyMemberLink.objects.get(settings=alpine, customer=customer)
    assert (link.vendor_member_id, link.synced_balance) == (contact, 50)
    assert list(
        PointsEntry.objects.filter(account__customer=customer).values_list("kind", "points", "note")
    ) == [("adjusted", 50, "Alpine IQ balance")]
    assert len(alpine_fake.personas) == 1 and alpine_fake.adjustments == []
    assert alpine_fake.personas[contact]["lastName"] == "Friend"
