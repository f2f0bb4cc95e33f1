"""The demo's loyalty page: one link for the first demo customer of each store with a number (no text is sent
while the demo loads), so the admin's list of loyalty page links has rows and the README's steps have a
customer to open the page for. Loading again adds nothing."""

import datetime as dt
import secrets

from django.utils import timezone

from messaging.loyalty_page import LINK_DAYS
from messaging.models import LoyaltyPageLink


def loyal_demo(organization, stores, customers) -> int:
    """`stores`: {code: store}; `customers`: {code: {"consented": [...], "others": [...]}} (messaging.demo)."""
    now = timezone.now()
    made = 0
    for code, store in stores.items():
        group = customers.get(code, {})
        first = next((c for c in [*group.get("consented", []), *group.get("others", [])] if c.phone), None)
        if first is None or LoyaltyPageLink.objects.filter(customer=first).exists():
            continue
        LoyaltyPageLink.objects.create(
            organization=organization,
            customer=first,
            store=store,
            nonce=secrets.token_urlsafe(18),
            via=LoyaltyPageLink.Via.STAFF,
            created_at=now,
            expires_at=now + dt.timedelta(days=LINK_DAYS),
        )
        made += 1
    return made
