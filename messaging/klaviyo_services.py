"""Writes of the Klaviyo settings: the account saved (the key encrypted, never written back to a page), a test
event sent on demand, and the backfill started in the background. Each change is audited (never the key)."""

import datetime as dt
import threading
import uuid

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from dispensary.audit import audit_record
from dispensary.errors import ValidationFailed
from dispensary.models import Organization, User
from messaging.integration_keys import KeyUnreadable, key_encrypt, key_hint
from messaging.klaviyo_client import KlaviyoError
from messaging.klaviyo_sync import Kind, Status, klaviyo_connection, record_write
from messaging.models import KlaviyoAccount, KlaviyoBackfill

TEST_METRIC = "Dispensary Platform Test"
WORDS = {
    "klaviyo.settings_changed": "Klaviyo settings changed",
    "klaviyo.test_sent": "Klaviyo test sent",
    "klaviyo.backfill_started": "Klaviyo history sending started",
}


def klaviyo_account_get(*, organization: Organization) -> KlaviyoAccount:
    """The organization's account row (an unsaved, disabled one when there is none yet)."""
    return KlaviyoAccount.objects.filter(organization=organization).first() or KlaviyoAccount(
        organization=organization
    )


@transaction.atomic
def klaviyo_account_save(
    *,
    organization: Organization,
    actor: User,
    enabled: bool,
    api_key: str,
    email_list_id: str,
    sms_list_id: str,
) -> KlaviyoAccount:
    """Save the settings. An empty `api_key` keeps the stored one. Sync cannot be on without a key."""
    api_key = (api_key or "").strip()
    account, _ = KlaviyoAccount.objects.select_for_update().get_or_create(organization=organization)
    before = {
        "enabled": account.enabled,
        "api_key": account.api_key_hint,
        "email_list_id": account.email_list_id,
        "sms_list_id": account.sms_list_id,
    }
    if api_key and (not api_key.startswith("pk_") or len(api_key) < 12 or any(c.isspace() for c in api_key)):
        raise ValidationFailed(
            "That is not a Klaviyo private API key: it starts with pk_.",
            details={"api_key": ["A Klaviyo private API key starts with pk_."]},
        )
    if enabled and not api_key and not account.api_key_encrypted:
        raise ValidationFailed(
            "Enter the private API key before turning sync on.",
            details={"api_key": ["Enter the private API key before turning sync on."]},
        )
    if api_key:
        account.api_key_encrypted = key_encrypt(api_key)
        account.api_key_hint = key_hint(api_key)
    account.enabled = bool(enabled)
    account.email_list_id = (email_list_id or "").strip()
    account.sms_list_id = (sms_list_id or "").strip()
    account.updated_by = actor
    account.save()
    after = {
        "enabled": account.enabled,
        "api_key": account.api_key_hint,
        "email_list_id": account.email_list_id,
        "sms_list_id": account.sms_list_id,
    }
    audit_record(
        actor=actor,
        action="klaviyo.settings_changed",
        instance=account,
        before=before,
        after=after,
        organization=organization,
    )
    return account


def klaviyo_test_send(*, account: KlaviyoAccount, actor: User) -> tuple[bool, str]:
    """Send one test event to the staff member's own profile (by their email): the key, its scope and the
    address of the API checked end to end. Returns (ok, what happened), also kept on the account."""
    now = timezone.now()
    if not actor.email:
        return False, "Add an email address to your staff account first: the test event goes to it."
    try:
        conn = klaviyo_connection(organization_id=account.organization_id)
    except KeyUnreadable as error:
        conn, message = None, str(error)
    else:
        message = "Turn sync on and save a key first."
    ok = False
    if conn is not None:
        unique_id = f"test-{uuid.uuid4().hex}"
        try:
            conn.client.event_create(
                metric=TEST_METRIC,
                profile={"email": actor.email},
                properties={"Organization": account.organization.name, "SentBy": actor.get_username()},
                unique_id=unique_id,
                time=now,
            )
        except KlaviyoError as error:
            message = str(error)
        else:
            ok = True
            message = f"Klaviyo accepted a “{TEST_METRIC}” event for {actor.email}."
            record_write(
                account=account,
                kind=Kind.TEST,
                metric=TEST_METRIC,
                unique_id=unique_id,
                reference=f"staff:{actor.pk}",
                status=Status.SENT,
                source="test",
            )
    KlaviyoAccount.objects.filter(pk=account.pk).update(
        last_test_at=now, last_test_ok=ok, last_test_message=message[:500]
    )
    audit_record(
        actor=actor,
        action="klaviyo.test_sent",
        instance=account,
        after={"ok": ok, "message": message[:200]},
        organization=account.organization,
    )
    return ok, message


def klaviyo_backfill_start(
    *, account: KlaviyoAccount, since: dt.date | None, actor: User | None
) -> KlaviyoBackfill:
    """Resume the unfinished backfill of the same `since`, or start a new one; then run it in the background
    (a Celery task with a broker, a thread of this process without one)."""
    from messaging.klaviyo_backfill import klaviyo_backfill_create

    backfill = klaviyo_backfill_create(account=account, since=since, actor=actor)
    audit_record(
        actor=actor,
        action="klaviyo.backfill_started",
        instance=account,
        after={"backfill": backfill.pk, "since": since.isoformat() if since else None},
        organization=account.organization,
    )
    transaction.on_commit(lambda: klaviyo_backfill_dispatch(backfill.pk), robust=True)
    return backfill


def klaviyo_backfill_dispatch(backfill_id: int) -> None:
    if settings.CELERY_BROKER_URL:
        from messaging.tasks import klaviyo_backfill_task

        klaviyo_backfill_task.apply_async(args=[backfill_id])
    elif settings.KLAVIYO["IN_PROCESS"] == "inline":
        _backfill_run(backfill_id)
    else:
        threading.Thread(
            target=_backfill_thread, args=(backfill_id,), name="klaviyo-backfill", daemon=True
        ).start()


def _backfill_run(backfill_id: int) -> None:
    from messaging.klaviyo_backfill import BackfillStopped, klaviyo_backfill_run

    try:
        klaviyo_backfill_run(backfill_id=backfill_id)
    except BackfillStopped:
        pass  # recorded on the backfill row, shown on the page


def _backfill_thread(backfill_id: int) -> None:
    close_old_connections()
    try:
        _backfill_run(backfill_id)
    finally:
        connection.close()
