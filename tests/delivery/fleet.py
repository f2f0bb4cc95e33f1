"""Drivers, vehicles and shifts for the delivery tests, made through the services."""

import datetime as dt

from delivery.fleet import driver_profile_create, driver_shift_create, vehicle_create
from tests.factories import UserFactory


def make_driver(store, *, username=None, born=dt.date(1990, 5, 17), licence="D1234567", expires=None, **user):
    member = UserFactory(
        organization=store.organization,
        roles=["driver"],
        stores=[store],
        **({"username": username} if username else {}),
        **user,
    )
    return driver_profile_create(
        organization=store.organization,
        actor=None,
        user=member,
        licence_number=licence,
        licence_region="CA",
        licence_expires=expires or dt.date(2040, 1, 1),
        date_of_birth=born,
        phone="(415) 555-0134",
    )


def make_vehicle(store, *, plate="8ABC123", capacity=12, **values):
    return vehicle_create(
        store=store,
        actor=None,
        make=values.get("make", "Toyota"),
        model=values.get("model", "Prius"),
        year=values.get("year", 2021),
        colour=values.get("colour", "Silver"),
        plate=plate,
        capacity=capacity,
    )


def local(store, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=store.tz)


def make_shift(store, driver, vehicle, day: dt.date, start: int = 10, end: int = 18, zones=None):
    return driver_shift_create(
        store=store,
        actor=None,
        driver=driver,
        vehicle=vehicle,
        starts_at=local(store, day, start),
        ends_at=local(store, day, end),
        zones=zones,
    )
