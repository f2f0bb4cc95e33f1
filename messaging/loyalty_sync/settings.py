"""Saving an organization's Alpine IQ or Springbig settings: one write, audited without the key."""

from django.db import transaction

from dispensary.audit import audit_record
from messaging.models import LoyaltySyncSettings

SETTINGS_WORDS = {"loyalty_sync.settings_changed": "Loyalty sync settings changed"}
_AUDITED = ("enabled", "account_id", "location", "base_url")


def _snapshot(row: LoyaltySyncSettings) -> dict:
    # The key and token are never written to the audit trail: only whether one is set.
    return {
        **{name: getattr(row, name) for name in _AUDITED},
        "api_key_set": bool(row.api_key),
        "auth_token_set": bool(row.auth_token),
    }


@transaction.atomic
def loyalty_sync_settings_save(
    *,
    organization,
    vendor: str,
    actor,
    enabled: bool,
    account_id: str,
    location: str,
    base_url: str,
    api_key: str = "",
    auth_token: str = "",
) -> LoyaltySyncSettings:
    """Create or change the vendor's settings; an empty key or token keeps the one saved."""
    row, _ = LoyaltySyncSettings.objects.select_for_update().get_or_create(
        organization=organization, vendor=vendor
    )
    before = _snapshot(row)
    row.enabled = enabled
    row.account_id = account_id.strip()
    row.location = location.strip()
    row.base_url = base_url.strip()
    if api_key.strip():
        row.api_key = api_key.strip()
    if auth_token.strip():
        row.auth_token = auth_token.strip()
    row.save()
    audit_record(
        actor=actor,
        action="loyalty_sync.settings_changed",
        instance=row,
        before=before,
        after=_snapshot(row),
        organization=organization,
    )
    return row
