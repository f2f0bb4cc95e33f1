"""Alpine IQ and Springbig -> register: members matched by phone (never twice), balances as one ledger entry,
conflicts won by the register, audiences as saved segments, and a failing vendor leaving the cursor."""

import pytest

from dispensary.models import Customer
from messaging.loyalty_sync.sync import loyalty_pull, loyalty_pull_all
from messaging.models import (
    LoyaltyAudience,
    LoyaltyMemberLink,
    LoyaltySyncLog,
    LoyaltySyncSettings,
    SegmentMember,
)
from pos.models import LoyaltyAccount, PointsEntry
from pos.services.loyalty import loyalty_points_adjust

pytestmark = pytest.mark.django_db


def entries(customer):
    return list(
        PointsEntry.objects.filter(account__customer=customer)
        .order_by("pk")
        .values_list("kind", "points", "note")
    )


def balance(customer) -> int:
    account = LoyaltyAccount.objects.filter(customer=customer).first()
    return account.balance if account else 0


def test_alpine_members_are_matched_by_phone_or_created_never_twice(alpine, alpine_fake, member, program):
    known = alpine_fake.persona_add(phone="4155550134", first_name="Ada", points=0)
    new = alpine_fake.persona_add(phone="4155550199", first_name="Bo", last_name="Li", points=40)
    alpine_fake.persona_add(phone="12", first_name="Nobody")  # no valid number: skipped, said so
    before = Customer.objects.count()
    assert loyalty_pull(settings_id=alpine.pk) == 3
    assert loyalty_pull(settings_id=alpine.pk) == 3
    bo = Customer.objects.get(phone="+14155550199")
    assert Customer.objects.count() == before + 1
    assert (bo.first_name, bo.last_name) == ("Bo", "Li")
    links = dict(
        LoyaltyMemberLink.objects.filter(settings=alpine).values_list("vendor_member_id", "customer_id")
    )
    assert links == {known: member.pk, new: bo.pk}
    # The new customer's ledger starts with the vendor's balance, once.
    assert entries(bo) == [("adjusted", 40, "Alpine IQ balance")]
    assert list(
        LoyaltySyncLog.objects.filter(settings=alpine).order_by("pk").values_list("kind", flat=True)
    ) == [
        "matched",
        "created",
        "imported",
        "error",
        "error",
    ]


def test_a_vendor_side_balance_change_becomes_one_ledger_entry(alpine, alpine_fake, member, program):
    contact = alpine_fake.persona_add(phone="4155550134", points=0)
    loyalty_pull(settings_id=alpine.pk)
    alpine_fake.personas[contact]["points"] = 25  # a bonus given at Alpine IQ
    loyalty_pull(settings_id=alpine.pk)
    loyalty_pull(settings_id=alpine.pk)
    assert entries(member) == [("adjusted", 25, "Alpine IQ balance")]
    assert balance(member) == 25
    assert LoyaltyMemberLink.objects.get(customer=member).synced_balance == 25
    assert alpine_fake.adjustments == []


def test_a_register_side_change_is_sent_and_both_sides_changing_keeps_the_register(
    springbig, springbig_fake, member, program
):
    member_id = springbig_fake.member_add(phone="4155550134", points=0)
    loyalty_pull(settings_id=springbig.pk)
    loyalty_points_adjust(customer_id=member.pk, points=30, note="Staff gift")
    loyalty_pull(settings_id=springbig.pk)
    assert springbig_fake.members[member_id]["points"] == 30
    # Both sides move before the next sync: the register's ledger wins, the vendor is set to it, logged.
    loyalty_points_adjust(customer_id=member.pk, points=5, note="Staff gift")
    springbig_fake.members[member_id]["points"] = 100
    loyalty_pull(settings_id=springbig.pk)
    assert springbig_fake.members[member_id]["points"] == balance(member) == 35
    assert [entry["points"] for entry in springbig_fake.adjustments] == [30, -65]
    assert entries(member) == [("adjusted", 30, "Staff gift"), ("adjusted", 5, "Staff gift")]
    conflict = LoyaltySyncLog.objects.get(settings=springbig, kind="conflict")
    assert conflict.customer_id == member.pk
    assert "register 35, Springbig 100" in conflict.detail


def test_a_matched_customer_with_history_keeps_the_register_balance(alpine, alpine_fake, member, program):
    loyalty_points_adjust(customer_id=member.pk, points=12, note="Opening balance")
    contact = alpine_fake.persona_add(phone="4155550134", points=50)
    loyalty_pull(settings_id=alpine.pk)
    assert alpine_fake.personas[contact]["points"] == balance(member) == 12
    assert LoyaltySyncLog.objects.filter(settings=alpine, kind="conflict").count() == 1


def test_audiences_become_external_segments_with_the_vendors_members(
    alpine, alpine_fake, springbig, springbig_fake, member, program
):
    ada = alpine_fake.persona_add(phone="4155550134")
    bo = alpine_fake.persona_add(phone="4155550199", first_name="Bo")
    alpine_fake.audience_add("77", "VIPs", [ada, bo])
    springbig_fake.segment_add("9", "Edible fans", ["4155550134"])
    loyalty_pull_all()
    vips = LoyaltyAudience.objects.get(settings=alpine, audience_id="77").segment
    fans = LoyaltyAudience.objects.get(settings=springbig, audience_id="9").segment
    bo_customer = Customer.objects.get(phone="+14155550199")
    assert (vips.name, vips.rules, vips.member_count) == (
        "Alpine IQ: VIPs",
        [{"field": "in_segment", "op": "eq", "value": vips.pk}],
        2,
    )
    assert set(SegmentMember.objects.filter(segment=vips).values_list("customer_id", flat=True)) == {
        member.pk,
        bo_customer.pk,
    }
    assert list(SegmentMember.objects.filter(segment=fans).values_list("customer_id", flat=True)) == [
        member.pk
    ]
    alpine_fake.audiences["77"]["members"] = [bo]
    loyalty_pull(settings_id=alpine.pk)
    assert list(SegmentMember.objects.filter(segment=vips).values_list("customer_id", flat=True)) == [
        bo_customer.pk
    ]
    assert LoyaltyAudience.objects.filter(settings=alpine).count() == 1


def test_a_failing_vendor_is_recorded_and_the_cursor_kept(alpine, alpine_fake, member):
    alpine_fake.persona_add(phone="4155550134")
    alpine.cursor = {"start": 0}
    alpine.save()
    alpine_fake.read_faults = ["429"]
    assert loyalty_pull(settings_id=alpine.pk) == 0
    alpine.refresh_from_db()
    assert "429" in alpine.last_error and alpine.cursor == {"start": 0}
    assert LoyaltyMemberLink.objects.count() == 0
    assert loyalty_pull(settings_id=alpine.pk) == 1
    alpine.refresh_from_db()
    assert (alpine.last_error, alpine.cursor) == ("", {})


def test_a_wrong_key_is_refused_and_said(alpine, alpine_fake):
    LoyaltySyncSettings.objects.filter(pk=alpine.pk).update(api_key="wrong-key-1234")
    assert loyalty_pull(settings_id=alpine.pk) == 0
    alpine.refresh_from_db()
    assert "refused the request (401)" in alpine.last_error
