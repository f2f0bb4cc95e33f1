"""Every point-of-sale event is a frozen dataclass: a lost decorator (a merge) makes publishing it a TypeError."""

import dataclasses

import pytest

import pos.events
from dispensary.events import Event

EVENTS = [
    value
    for value in vars(pos.events).values()
    if isinstance(value, type) and issubclass(value, Event) and value is not Event
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: event.__name__)
def test_events_are_frozen_dataclasses(event):
    assert "__dataclass_fields__" in vars(event)
    assert event.__dataclass_params__.frozen
    assert dataclasses.fields(event)
