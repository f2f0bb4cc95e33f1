"""Time helpers: UTC in the database, the store's IANA zone for "today"."""

import datetime as dt

from django.utils import timezone


def store_local_now(store, *, at: dt.datetime | None = None) -> dt.datetime:
    return (at or timezone.now()).astimezone(store.tz)


def store_local_date(store, *, at: dt.datetime | None = None) -> dt.date:
    """The store's local calendar day: the one "today" for limits, reports, delivery and quiet hours."""
    return store_local_now(store, at=at).date()


def store_local_day_bounds(store, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local day in UTC, correct across daylight-saving changes."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=store.tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=store.tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    years = day.year - date_of_birth.year
    if (day.month, day.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years
