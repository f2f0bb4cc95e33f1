"""The one way tests set "now": time-machine moves every clock the code can read (Django's timezone.now,
datetime.now, date.today, time.time) for the duration of a test or a block.

- the `clock` fixture (tests/conftest.py): `clock.move_to(moment)` for the rest of the test;
- `at(moment)`: a block that happens at a moment, then the clock returns to where it was.

Moments are aware datetimes (naive ones are refused, so a test cannot depend on the machine's zone). CI also
runs the whole suite with the clock moved far from today (TEST_CLOCK_START, see tests/conftest.py), so a test
that depends on the real date fails there."""

import datetime as dt
from contextlib import contextmanager

import time_machine


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a test moment must carry its zone: {moment!r}")
    return moment


@contextmanager
def at(moment: dt.datetime, *, tick: bool = False):
    """Everything inside happens at `moment` (the clock stands still unless tick=True)."""
    with time_machine.travel(_aware(moment), tick=tick):
        yield moment


class Clock:
    """Moves "now" for the rest of a test; stopped at the end of the test by the fixture."""

    def __init__(self) -> None:
        self._travellers: list[time_machine.travel] = []

    def move_to(self, moment: dt.datetime, *, tick: bool = False) -> dt.datetime:
        traveller = time_machine.travel(_aware(moment), tick=tick)
        traveller.start()
        self._travellers.append(traveller)
        return moment

    def advance(self, delta: dt.timedelta) -> None:
        from django.utils import timezone

        self.move_to(timezone.now() + delta)

    def stop(self) -> None:
        while self._travellers:
            self._travellers.pop().stop()


def local_noon(store, *, days: int = 0) -> dt.datetime:
    """Noon of the store's local day `days` from today: "yesterday" is a local day, not 24 hours ago (the day
    daylight-saving time ends has 25 hours)."""
    from dispensary.clock import store_local_date

    day = store_local_date(store) + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(12), tzinfo=store.tz)
