"""Events and handlers used by the outbox tests. Handlers leave their effect as an audit record, so the
effect is visible from any process (the tests also run them in a real Celery worker)."""

import os
from dataclasses import dataclass

from dispensary.events import Event, handles
from dispensary.models import AuditRecord, Organization


@dataclass(frozen=True)
class ProbePublished(Event):
    name = "test.probe_published"
    version = 1
    marker: str
    fail_times: int = 0  # the failing handler fails this many attempts, then succeeds


def _record(action: str, event: ProbePublished) -> None:
    AuditRecord.objects.create(
        actor_label=f"pid:{os.getpid()}", action=action, object_type="probe", object_id=event.marker
    )


@handles(ProbePublished)
def on_probe_published_record(event: ProbePublished) -> None:
    _record("probe.recorded", event)


@handles(ProbePublished)
def on_probe_published_flaky(event: ProbePublished) -> None:
    # Count earlier failed attempts by the rows a failure cannot leave (they roll back): use the delivery row.
    from dispensary.models import EventDelivery

    delivery = EventDelivery.objects.get(
        event__payload__marker=event.marker, handler=f"{__name__}.on_probe_published_flaky"
    )
    attempt = delivery.attempts + 1  # the row holds the attempts made before this one
    if attempt <= event.fail_times:
        _record("probe.flaky_partial_write", event)  # rolled back with the failure
        raise RuntimeError(f"flaky handler failing on attempt {attempt}")
    _record("probe.flaky_succeeded", event)


def effects(action: str, marker: str | None = None) -> int:
    rows = AuditRecord.objects.filter(action=action)
    if marker is not None:
        rows = rows.filter(object_id=marker)
    return rows.count()


def organization_for_tests() -> Organization:
    return Organization.objects.get_or_create(slug="outbox-tests", defaults={"name": "Outbox tests"})[0]
