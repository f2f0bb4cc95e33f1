"""Demo data of the Alpine IQ and Springbig sync: Alpine IQ's settings pointing at the local fake
(`manage.py alpine_fake --port 8031`), switched off until the fake runs, a few linked members, an audience kept
as a saved segment, and a sync log with a conflict won by the register. Idempotent."""

import datetime as dt

from django.utils import timezone

from messaging.fake_alpine import DEV_API_KEY, DEV_UID
from messaging.models import (
    LoyaltyAudience,
    LoyaltyMemberLink,
    LoyaltySyncLog,
    LoyaltySyncSettings,
    Segment,
    SegmentMember,
)


def alpine_demo(organization, stores, customers) -> int:
    """`customers`: the messaging demo's people per store. Returns the members linked (0 when already done)."""
    settings, created = LoyaltySyncSettings.objects.get_or_create(
        organization=organization,
        vendor=LoyaltySyncSettings.Vendor.ALPINE,
        defaults={
            "enabled": False,
            "api_key": DEV_API_KEY,
            "account_id": DEV_UID,
            "base_url": "http://127.0.0.1:8031",
            "location": next(iter(stores.values())).name if stores else "",
        },
    )
    if not created:
        return 0
    people = [c for groups in customers.values() for c in groups["consented"] + groups["others"]][:6]
    now = timezone.now()
    for number, customer in enumerate(people, start=1):
        LoyaltyMemberLink.objects.create(
            settings=settings,
            customer=customer,
            vendor_member_id=f"demo{number:04d}",
            synced_balance=0,
            synced_at=now - dt.timedelta(hours=1),
        )
    segment = Segment.objects.create(
        organization=organization,
        name="Alpine IQ: VIPs",
        description="Kept in step with Alpine IQ audience 1; its members are the vendor's list.",
        member_count=len(people[:3]),
        counted_at=now,
    )
    segment.rules = [{"field": "in_segment", "op": "eq", "value": segment.pk}]
    segment.save(update_fields=["rules"])
    LoyaltyAudience.objects.create(
        settings=settings, audience_id="1", name="VIPs", segment=segment, synced_at=now
    )
    SegmentMember.objects.bulk_create(
        [SegmentMember(segment=segment, customer=customer, entered_at=now) for customer in people[:3]]
    )
    if people:
        LoyaltySyncLog.objects.create(
            settings=settings,
            kind=LoyaltySyncLog.Kind.CONFLICT,
            customer=people[0],
            detail="Both sides changed the balance (register 120, Alpine IQ 150, agreed 100): the register's 120 "
            "kept and sent.",
            created_at=now - dt.timedelta(minutes=30),
        )
    return len(people)
