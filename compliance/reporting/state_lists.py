"""Lists the state keeps and reports must use: package adjustment reasons, sales customer types and where an
external patient may be registered. Read from the state (Metrc's own lists) and cached for some hours per
licence, so that building a report asks the state at most that often, briefly and without retries; when the
state cannot be read, the report is built with our usual choice and the state's answer to it shows on the sync
page."""

import logging

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from compliance.traceability.base import AdjustmentReason, TraceabilityError
from dispensary.models import Store

logger = logging.getLogger(__name__)

CACHE_SECONDS = 12 * 3600
LOOKUP_TIMEOUT_SECONDS = 3.0
UNAVAILABLE_SECONDS = 300
UNAVAILABLE = "unavailable"

# Our adjustment and waste reasons -> the names states give the matching Metrc reason, the name most states use
# first (it is also what is sent when the state's list cannot be read). The state's own list decides: the first
# of these it offers (by name, then by a name containing it) is sent.
REASON_PREFERENCES: dict[str, tuple[str, ...]] = {
    "damaged": ("Waste", "Damage", "Damaged", "Spoilage"),
    "expired": ("Waste", "Expired", "Spoilage"),
    "destroyed": ("Waste", "Destroyed", "Destruction"),
    "theft_shrinkage": ("Theft", "Shrinkage", "Loss"),
    "scale_variance": ("Scale Variance", "Weight Variance", "Scale"),
    "entry_error": ("Entry Error", "Incorrect Quantity", "Error"),
    "lab_sample": ("Waste", "Lab Sample", "Testing"),
    "returned_to_vendor": ("Entry Error", "Error"),
    "count_variance": ("Scale Variance", "Inventory Count", "Entry Error"),
}
DEFAULT_REASONS = ("Entry Error",)

US_STATE_NAMES = {
    "AK": "Alaska", "AL": "Alabama", "AR": "Arkansas", "AZ": "Arizona", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DC": "District of Columbia", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "GU": "Guam", "HI": "Hawaii", "IA": "Iowa", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "MA": "Massachusetts", "MD": "Maryland", "ME": "Maine", "MI": "Michigan",
    "MN": "Minnesota", "MO": "Missouri", "MS": "Mississippi", "MT": "Montana", "NC": "North Carolina",
    "ND": "North Dakota", "NE": "Nebraska", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NV": "Nevada", "NY": "New York", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "PR": "Puerto Rico", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VA": "Virginia", "VI": "U.S. Virgin Islands", "VT": "Vermont",
    "WA": "Washington", "WI": "Wisconsin", "WV": "West Virginia", "WY": "Wyoming",
}  # fmt: skip


def _cached(store: Store, license_number: str, name: str, read):
    """The list from the cache, else from the state within LOOKUP_TIMEOUT_SECONDS and no retry (reports are
    built inside the event's transaction); a failed read is not tried again for UNAVAILABLE_SECONDS."""
    key = f"state-list:{name}:{store.jurisdiction}:{license_number}"
    value = cache.get(key)
    if value is not None:
        return None if value == UNAVAILABLE else value
    from compliance.traceability.registry import provider_for_store

    try:
        provider = provider_for_store(store, license_number=license_number or None)
        quick = getattr(provider, "for_quick_lookup", None)
        value = read(quick(LOOKUP_TIMEOUT_SECONDS) if quick else provider)
    except (TraceabilityError, ImproperlyConfigured) as error:
        logger.warning("Could not read the state's %s for %s: %s", name, license_number, error)
        cache.set(key, UNAVAILABLE, UNAVAILABLE_SECONDS)
        return None
    cache.set(key, value, CACHE_SECONDS)
    return value


def state_adjustment_reasons(store: Store, license_number: str) -> list[AdjustmentReason] | None:
    """The state's package adjustment reasons (GET /packages/v2/adjust/reasons); None when unreadable."""
    return _cached(store, license_number, "adjust-reasons", lambda provider: provider.adjustment_reasons())


def state_adjustment_reason(store: Store, license_number: str, reason: str) -> AdjustmentReason:
    """The state's reason for one of ours: the first of our preferences the state offers, matched by name and
    then by a state name containing it; without the state's list, our first preference."""
    preferences = REASON_PREFERENCES.get(reason, DEFAULT_REASONS)
    offered = state_adjustment_reasons(store, license_number) or []
    by_name = {item.name.strip().lower(): item for item in offered if item.name}
    for wanted in preferences:
        if wanted.lower() in by_name:
            return by_name[wanted.lower()]
    for wanted in preferences:
        for name, item in by_name.items():
            if wanted.lower() in name:
                return item
    return AdjustmentReason(name=preferences[0])


def state_customer_types(store: Store, license_number: str) -> list[str] | None:
    """The SalesCustomerType values the state accepts (GET /sales/v2/customertypes); None when unreadable."""
    return _cached(store, license_number, "customer-types", lambda provider: provider.customer_types())


def state_registration_location_id(store: Store, license_number: str, state_code: str) -> int | None:
    """The state's id of the place an external patient is registered (a US state), or None."""
    locations = _cached(
        store, license_number, "registration-locations", lambda p: p.patient_registration_locations()
    )
    wanted = {state_code.strip().upper(), US_STATE_NAMES.get(state_code.strip().upper(), "").upper()} - {""}
    for location in locations or []:
        if location["name"].strip().upper() in wanted:
            return location["id"]
    return None
