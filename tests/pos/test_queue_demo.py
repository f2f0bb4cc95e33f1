"""The demo's check-in queue: each demo store's lobby has someone in it today, and loading again adds none."""

from dispensary.demo import demo_load as core_demo_load
from pos.demo import _queue_load
from pos.models import QueueEntry
from pos.selectors.queue import queue_board


def test_demo_queue_fills_todays_lobby_once(db):
    core_demo_load()
    assert _queue_load() == {"queue entries": 10}
    for store_code in ["sf-mission", "detroit-riverside"]:
        store = QueueEntry.objects.filter(store__code=store_code).first().store
        board = queue_board(store=store)
        assert (len(board.waiting), len(board.serving), board.called_today) == (3, 1, 2)
        assert board.serving[0].entry.register.name == "Register 1"
    assert _queue_load() == {"queue entries": 0}
    assert QueueEntry.objects.count() == 10
