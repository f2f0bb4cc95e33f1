"""Saved segments kept current: a customer's memberships are judged again on every event about them (one query
for all the organization's segments), and every segment in full by the periodic job (time passes: "no purchase
for 30 days"; consent changes). Each entry publishes CustomerEnteredSegment once, in the transaction that writes
the SegmentMember row; leaving deletes the row. Segment rows are locked (in id order) while their members
change, so an event and the periodic job never judge one segment at once.

A segment's members when it is saved (created, or its conditions changed) are filled without entry events: the
definition changed, not the customers."""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Value
from django.utils import timezone

from dispensary import events
from dispensary.audit import audit_record
from dispensary.errors import ValidationFailed
from dispensary.models import Customer, Organization
from messaging.events import CustomerEnteredSegment
from messaging.models import Segment, SegmentMember
from messaging.segments import SegmentRuleError, rules_check, rules_q, segment_customers

logger = logging.getLogger(__name__)
BATCH = 2000


def _depends(segment: Segment) -> bool:
    """Whether the segment reads another segment's members (judged after the others)."""
    return any(isinstance(rule, dict) and rule.get("field") == "in_segment" for rule in segment.rules or [])


def _entered(segment: Segment, customer_id: int, at: dt.datetime) -> None:
    events.publish(
        CustomerEnteredSegment(
            segment_id=segment.pk,
            customer_id=customer_id,
            organization_id=segment.organization_id,
            entered_at=at.astimezone(dt.UTC).isoformat(),
        )
    )


@transaction.atomic
def customer_segments_update(
    *, customer_id: int, organization_id: int, now: dt.datetime | None = None
) -> list:
    """Judge one customer against every saved segment of the organization; insert and delete their
    SegmentMember rows and publish an entry event per new membership. Returns the segments entered."""
    now = now or timezone.now()
    segments = list(
        Segment.objects.select_for_update()
        .filter(organization_id=organization_id, archived=False)
        .order_by("pk")
    )
    if not segments:
        return []
    present = set(
        SegmentMember.objects.filter(customer_id=customer_id, segment__in=segments).values_list(
            "segment_id", flat=True
        )
    )
    entered = []
    # Those that read other segments' members go second, so they see this event's entries and departures.
    for group in ([s for s in segments if not _depends(s)], [s for s in segments if _depends(s)]):
        if not group:
            continue
        annotations = {}
        for segment in group:
            try:
                combined = rules_q(segment.rules, segment.match, now=now)
            except SegmentRuleError as error:
                logger.warning("Segment %s has conditions that cannot be read: %s", segment.pk, error)
                continue
            annotations[f"s{segment.pk}"] = (
                Value(True) if combined is None else ExpressionWrapper(combined, output_field=BooleanField())
            )
        if not annotations:
            continue
        row = (
            Customer.objects.filter(pk=customer_id, organization_id=organization_id)
            .annotate(**annotations)
            .values(*annotations)
            .first()
        )
        judged = {segment for segment in group if f"s{segment.pk}" in annotations}
        matched = {segment for segment in judged if row and row[f"s{segment.pk}"]}
        joins = [segment for segment in judged if segment in matched and segment.pk not in present]
        leaves = [segment for segment in judged if segment not in matched and segment.pk in present]
        if joins:
            SegmentMember.objects.bulk_create(
                [SegmentMember(segment=segment, customer_id=customer_id, entered_at=now) for segment in joins]
            )
            Segment.objects.filter(pk__in=[segment.pk for segment in joins]).update(
                member_count=F("member_count") + 1, counted_at=now
            )
            for segment in joins:
                _entered(segment, customer_id, now)
                present.add(segment.pk)
            entered += joins
        if leaves:
            SegmentMember.objects.filter(customer_id=customer_id, segment__in=leaves).delete()
            Segment.objects.filter(pk__in=[segment.pk for segment in leaves], member_count__gt=0).update(
                member_count=F("member_count") - 1, counted_at=now
            )
            present.difference_update(segment.pk for segment in leaves)
    return entered


def segment_members_refresh(
    *, segment_id: int, publish: bool = True, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Judge every customer against one saved segment: add the new members (an entry event each when
    `publish`), remove those who left, recount. Returns (entered, left)."""
    now = now or timezone.now()
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id, archived=False).first()
        if segment is None:
            return 0, 0
        try:
            matching = set(
                segment_customers(segment.organization_id, segment.rules, segment.match, now=now).values_list(
                    "pk", flat=True
                )
            )
        except SegmentRuleError as error:
            logger.warning("Segment %s has conditions that cannot be read: %s", segment.pk, error)
            return 0, 0
        present = set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
        joins = sorted(matching - present)
        leaves = sorted(present - matching)
        for first in range(0, len(leaves), BATCH):
            SegmentMember.objects.filter(
                segment=segment, customer_id__in=leaves[first : first + BATCH]
            ).delete()
        with events.batch():
            SegmentMember.objects.bulk_create(
                [SegmentMember(segment=segment, customer_id=pk, entered_at=now) for pk in joins],
                batch_size=BATCH,
            )
            if publish:
                for pk in joins:
                    _entered(segment, pk, now)
        Segment.objects.filter(pk=segment.pk).update(member_count=len(matching), counted_at=now)
    return len(joins), len(leaves)


def segments_refresh(*, organization_id: int | None = None, now: dt.datetime | None = None) -> int:
    """The periodic pass: every saved segment judged in full (those reading other segments last), each in its
    own transaction. Returns how many customers entered a segment."""
    now = now or timezone.now()
    segments = Segment.objects.filter(archived=False)
    if organization_id is not None:
        segments = segments.filter(organization_id=organization_id)
    rows = list(segments.order_by("pk").only("pk", "rules"))
    entered = 0
    for segment in sorted(rows, key=_depends):
        entered += segment_members_refresh(segment_id=segment.pk, now=now)[0]
    return entered


@transaction.atomic
def segment_save(
    *,
    organization: Organization,
    actor,
    name: str,
    rules: list[dict],
    match: str = Segment.Match.ALL,
    description: str = "",
    segment: Segment | None = None,
    now: dt.datetime | None = None,
) -> Segment:
    """Create or change a saved segment: its conditions checked in full, the name unique in the organization,
    its members filled (without entry events) when new or when its conditions changed; audited."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the segment a name.", details={"name": ["Give the segment a name."]})
    rules_check(organization_id=organization.pk, rules=rules, match=match)
    taken = Segment.objects.filter(organization=organization, name__iexact=name)
    if segment is not None:
        if segment.organization_id != organization.pk:
            raise ValidationFailed("No such segment.")
        taken = taken.exclude(pk=segment.pk)
    if taken.exists():
        raise ValidationFailed(
            f"A segment called “{name}” exists already.", details={"name": ["That name is taken."]}
        )
    before = None
    if segment is None:
        segment = Segment(organization=organization, created_by=actor)
        changed = True
    else:
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        before = {"name": segment.name, "match": segment.match, "rules": segment.rules}
        changed = segment.rules != rules or segment.match != match
    segment.name, segment.description, segment.match, segment.rules = name, description or "", match, rules
    segment.save()
    audit_record(
        actor=actor,
        action="messaging.segment_saved",
        instance=segment,
        before=before,
        after={"name": segment.name, "match": segment.match, "rules": segment.rules},
        organization=organization,
    )
    if changed:
        segment_members_refresh(segment_id=segment.pk, publish=False, now=now)
        segment.refresh_from_db()
    return segment


@transaction.atomic
def segment_archive(*, segment: Segment, actor) -> Segment:
    """Hide a segment from the list and stop keeping it current (campaigns that used it keep their link)."""
    locked = Segment.objects.select_for_update().get(pk=segment.pk)
    locked.archived = True
    locked.save(update_fields=["archived", "updated_at"])
    SegmentMember.objects.filter(segment=locked).delete()
    Segment.objects.filter(pk=locked.pk).update(member_count=0)
    audit_record(
        actor=actor,
        action="messaging.segment_archived",
        instance=locked,
        organization=locked.organization,
    )
    locked.refresh_from_db()
    return locked
