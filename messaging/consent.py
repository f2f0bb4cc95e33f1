"""The customer's current consent, derived from the append-only ledger (dispensary.MarketingConsent): the latest
row per channel and purpose decides. Marketing needs a grant that is not awaiting its confirmation by reply;
transactional messages are allowed to a number or address the customer gave us until they revoke them (a STOP
revokes both purposes, and the ledger records both)."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from dispensary.models import MarketingConsent

MARKETING = MarketingConsent.Purpose.MARKETING
TRANSACTIONAL = MarketingConsent.Purpose.TRANSACTIONAL


@dataclass(frozen=True)
class ConsentState:
    channel: str
    purpose: str
    allowed: bool
    awaiting_confirmation: bool
    since: dt.datetime | None  # when the deciding row was recorded; None: never asked
    source: str  # the deciding row's source, "" when never asked


def _state(channel: str, purpose: str, row: MarketingConsent | None) -> ConsentState:
    if row is None:
        return ConsentState(channel, purpose, purpose == TRANSACTIONAL, False, None, "")
    allowed = row.granted and not row.awaiting_confirmation
    return ConsentState(channel, purpose, allowed, row.awaiting_confirmation, row.recorded_at, row.source)


def consent_states(customer_ids: Iterable[int], *, channel: str) -> dict[tuple[int, str], ConsentState]:
    """{(customer_id, purpose): state} for every customer and both purposes, on one channel. One query."""
    ids = sorted({int(customer_id) for customer_id in customer_ids if customer_id})
    latest: dict[tuple[int, str], MarketingConsent] = {}
    if ids:
        rows = (
            MarketingConsent.objects.filter(customer_id__in=ids, channel=channel)
            .order_by("customer_id", "purpose", "-recorded_at", "-id")
            .only("customer_id", "purpose", "granted", "awaiting_confirmation", "recorded_at", "source")
        )
        for row in rows:
            latest.setdefault((row.customer_id, row.purpose), row)
    return {
        (customer_id, purpose): _state(channel, purpose, latest.get((customer_id, purpose)))
        for customer_id in ids
        for purpose in (MARKETING, TRANSACTIONAL)
    }


def consent_state(customer_id: int, *, channel: str, purpose: str) -> ConsentState:
    return consent_states([customer_id], channel=channel)[(customer_id, purpose)]
