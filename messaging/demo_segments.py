"""Segments demo: the customers' metrics computed from the demo's sales, then four saved segments operators
ask for first, filled now and kept current from then on. Idempotent: a segment found by its name is left as
it is."""

from dispensary.models import User
from messaging.metrics import metrics_rebuild
from messaging.models import Segment
from messaging.segment_members import segment_save

SEGMENTS = (
    (
        "Lapsed 30+ days",
        "Bought before, nothing in the last 30 days: the win-back audience.",
        "all",
        [{"field": "days_since_last_purchase", "op": "gt", "value": 30}],
    ),
    (
        "VIPs",
        "The top fifth by spend who also come often.",
        "all",
        [
            {"field": "rfm_monetary", "op": "gte", "value": 5},
            {"field": "rfm_frequency", "op": "gte", "value": 4},
        ],
    ),
    (
        "Birthdays this month",
        "Born this month (store-local), for the birthday offer.",
        "all",
        [{"field": "birthday_month", "op": "eq", "value": "current"}],
    ),
    (
        "Flower lovers who text",
        "Flower is what they spend most on, and they agreed to marketing texts.",
        "all",
        [
            {"field": "favourite_category", "op": "eq", "value": "flower"},
            {"field": "consent_sms", "op": "is", "value": True},
        ],
    ),
)


def segments_demo(organization, stores, customers) -> int:
    """Compute the metrics, then add the demo segments that are missing. Returns how many were added."""
    metrics_rebuild(organization_id=organization.pk)
    actor = User.objects.filter(organization=organization, username="manager").first()
    added = 0
    for name, description, match, rules in SEGMENTS:
        if Segment.objects.filter(organization=organization, name=name).exists():
            continue
        segment_save(
            organization=organization,
            actor=actor,
            name=name,
            description=description,
            match=match,
            rules=rules,
        )
        added += 1
    return added
