"""Writing the append-only audit log, always inside the transaction of the change it records."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from dispensary import writes
from dispensary.models import ApiClient, AuditRecord, Organization, Store, User


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, ApiClient):
        return f"api-client:{actor.name} ({actor.key_prefix})"
    return actor.get_username()


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The JSON-safe values of a row's concrete fields (foreign keys as ids)."""
    names = fields or [field.attname for field in instance._meta.concrete_fields]
    values = {name: getattr(instance, name) for name in names}
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def audit_record(
    *,
    actor,
    action: str,
    instance: models.Model,
    before: dict | None = None,
    after: dict | None = None,
    organization: Organization | None = None,
    store: Store | None = None,
) -> AuditRecord:
    return AuditRecord.objects.create(
        organization=organization,
        store=store,
        actor=actor if isinstance(actor, User) else None,
        actor_label=actor_label(actor)[:200],
        action=action,
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        before=before,
        after=after,
    )


def audit_add(
    statement: writes.Statement,
    *,
    actor,
    action: str,
    instance: models.Model,
    before: dict | None = None,
    after: dict | None = None,
    organization_id: int | None = None,
    store_id: int | None = None,
) -> None:
    """The audit record of `audit_record` as a part of a statement written in one round trip (PostgreSQL)."""
    row = (
        organization_id,
        store_id,
        actor.pk if isinstance(actor, User) else None,
        actor_label(actor)[:200],
        action,
        instance._meta.label_lower,
        str(instance.pk),
        str(instance)[:200],
        None if before is None else json.dumps(before),
        None if after is None else json.dumps(after),
        timezone.now(),
    )
    statement.add(
        statement.fresh_name("audit_record"),
        f"INSERT INTO {AuditRecord._meta.db_table} (organization_id, store_id, actor_id, actor_label, action, "  # noqa: S608
        "object_type, object_id, object_repr, before, after, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)",
        row,
    )
