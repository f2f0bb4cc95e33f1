"""Events of the sync queue, for alerts (messaging tells managers; the dashboard shows them)."""

from dataclasses import dataclass

from dispensary.events import Event


@dataclass(frozen=True)
class StateReportFailed(Event):
    name = "compliance.state_report_failed"
    organization_id: int
    store_id: int
    sync_record_id: int
    kind: str
    message: str


@dataclass(frozen=True)
class StateReportOverdue(Event):
    name = "compliance.state_report_overdue"
    organization_id: int
    store_id: int
    sync_record_id: int
    kind: str
    waiting_minutes: int
