"""Plain words for stored codes: every audit action the code writes, every kind of report to the state, every
event, limit window and bucket has its words, and the pages show the words, never the codes."""

import re
from pathlib import Path

from compliance.models import PurchaseLimit
from compliance.rules.limits import BUCKETS
from compliance.traceability.base import Operation
from dispensary.audit import audit_record
from dispensary.events import event_types
from dispensary.wording import WORDS, limit_window_words, plain_words
from pos.models import DrawerMovement, PickupOrder

ROOT = Path(__file__).resolve().parents[3]
APPS = ["dispensary", "inventory", "compliance", "pos", "delivery", "messaging"]
ASSIGNED = re.compile(r"\baction\s*=(.*)")
CODE = re.compile(r'"([a-z_]+\.[a-z_]+)"')


def audit_actions_in_the_code() -> set[str]:
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for line in path.read_text().splitlines():
                assigned = ASSIGNED.search(line)
                if assigned:
                    found.update(CODE.findall(assigned.group(1)))
    return found


def test_every_audit_action_written_has_its_words():
    actions = audit_actions_in_the_code()
    assert {"queue.checked_in", "sale.voided", "state_report.retried"} <= actions
    actions |= {f"drawer.{kind}" for kind in DrawerMovement.Kind.values}  # action=f"drawer.{kind}"
    actions |= {
        f"pickup_order.{status}"
        for status in (PickupOrder.Status.COMPLETED, PickupOrder.Status.CANCELLED, PickupOrder.Status.EXPIRED)
    }
    assert sorted(action for action in actions if action not in WORDS) == []


def test_every_report_to_the_state_event_window_and_bucket_has_its_words():
    assert [operation.value for operation in Operation if operation.value not in WORDS] == []
    assert [name for name in event_types() if name not in WORDS and not name.startswith("test.")] == []
    assert [bucket for bucket in BUCKETS if bucket not in WORDS] == []
    assert [limit_window_words(window, 30) for window in PurchaseLimit.Window.values] == [
        "this sale",
        "today",
        "last 30 days",
    ]


def test_a_code_without_words_is_spelled_out():
    assert plain_words("queue.checked_in") == "Checked in at the door"
    assert plain_words("stock.count_closed") == "Stock count closed"
    assert plain_words(None) == ""


def test_the_dashboard_shows_audit_actions_in_words(client, login, staff, store):
    manager = staff("manager")
    audit_record(
        actor=manager, action="queue.checked_in", instance=store, store=store, organization=store.organization
    )
    html = login(manager).get("/dashboard/").content.decode()
    assert "Checked in at the door" in html
    assert "queue.checked_in" not in html
