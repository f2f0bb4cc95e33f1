"""What state reporting offers the manager's dashboard (dispensary.dashboard, the composition root, assembles
the cards): the store's reports to the state and the organization's open looping alerts."""

import datetime as dt

from django.conf import settings
from django.db.models import Count, IntegerField, Min, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from compliance.models import LoopingAlert, SyncRecord
from dispensary.models import Store, User

UNSENT = [SyncRecord.Status.PENDING, SyncRecord.Status.SENT]


def _count(queryset, group: str) -> Coalesce:
    counted = queryset.values(group).annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def compliance_summary_get(*, user: User, store: Store) -> dict | None:
    """The store's reports to the state and the organization's open looping alerts, for a member who may see
    them; None for anyone else (the card is then not shown). One query: the dashboard is counted."""
    if not user.has_perm("compliance.view_syncrecord"):
        return None
    records = SyncRecord.objects.filter(store=OuterRef("pk"))
    oldest = records.filter(status__in=UNSENT).values("store").annotate(m=Min("created_at")).values("m")
    row = (
        Store.objects.filter(pk=store.pk)
        .annotate(
            failed=_count(records.filter(status=SyncRecord.Status.FAILED), "store"),
            unsent=_count(records.filter(status__in=UNSENT), "store"),
            oldest=Subquery(oldest),
            open_alerts=_count(
                LoopingAlert.objects.filter(
                    organization=OuterRef("organization"), acknowledged_at__isnull=True
                ),
                "organization",
            ),
        )
        .values("failed", "unsent", "oldest", "open_alerts")
        .get()
    )
    alert_after = dt.timedelta(minutes=settings.STATE_SYNC["ALERT_AFTER_MINUTES"])
    return {
        "failed": row["failed"],
        "unsent": row["unsent"],
        "overdue": row["oldest"] is not None and timezone.now() - row["oldest"] > alert_after,
        "open_alerts": row["open_alerts"] if user.has_perm("compliance.view_loopingalert") else None,
    }
