"""The delivery demo: zones around both demo stores (a near zone inside the city one), excluded places, the
store itself inside its near zone, and loading again adds nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from delivery import demo as delivery_demo
from delivery.models import DeliveryExclusion, DeliveryZone
from delivery.selectors import delivery_place_check, delivery_quote_get, drivers_on_shift
from dispensary import demo as core_demo
from dispensary.models import Store

pytestmark = pytest.mark.django_db


def test_demo_zones_and_places_around_the_demo_stores(shipped_rules):
    core_demo.demo_load()
    assert delivery_demo.demo_load() == {
        "zones": 4,
        "excluded places": 3,
        "drivers": 3,
        "vehicles": 3,
        "shifts": 3,
        "delivery orders": 0,  # no stock without the inventory demo
    }
    assert delivery_demo.demo_load() == {
        "zones": 0,
        "excluded places": 0,
        "drivers": 0,
        "vehicles": 0,
        "shifts": 0,
        "delivery orders": 0,
    }
    mission = Store.objects.get(code="sf-mission")
    riverside = Store.objects.get(code="detroit-riverside")
    assert DeliveryZone.objects.filter(store=mission).count() == 2
    assert DeliveryExclusion.objects.filter(store=riverside).count() == 1
    for store, near in ((mission, "Mission & Noe Valley"), (riverside, "Corktown & Downtown")):
        quote = delivery_quote_get(
            store=store, latitude=store.latitude, longitude=store.longitude, order_value=Decimal("100")
        )
        assert quote.zone.name == near and quote.allowed, quote.reasons
    # Beside the demo school the address is refused, within the near zone all the same.
    school = delivery_place_check(store=mission, latitude="37.756500", longitude="-122.421000")
    assert school.zone.name == "Mission & Noe Valley"
    assert school.reasons == (
        "The address is within 150 m of Valencia Street Elementary (demo), a school (K-12), where the store may "
        "not deliver.",
    )
    # Out in the city zone only.
    assert (
        delivery_place_check(store=mission, latitude="37.79", longitude="-122.48").zone.name
        == "San Francisco"
    )


def test_demo_drivers_on_shift_now_with_their_vehicles(shipped_rules, clock):
    # Any hour of the day: the demo's shifts cover the moment it is loaded.
    clock.move_to(dt.datetime(2026, 3, 8, 23, 40, tzinfo=dt.UTC))  # the day the clocks go forward in the US
    core_demo.demo_load()
    delivery_demo.demo_load()
    mission = Store.objects.get(code="sf-mission")
    riverside = Store.objects.get(code="detroit-riverside")
    now = timezone.now()
    on_shift = drivers_on_shift(mission, now)
    assert [
        (entry.driver.user.username, entry.vehicle.plate, entry.capacity, entry.clocked_in)
        for entry in on_shift
    ] == [
        ("driver.sf2", "8DMO102", 10, False),
        ("driver", "8DMO101", 12, True),
    ]
    assert all(
        entry.zone_ids == set(DeliveryZone.objects.filter(store=mission).values_list("pk", flat=True))
        for entry in on_shift
    )
    assert [entry.driver.user.username for entry in drivers_on_shift(riverside, now)] == ["driver.mi"]
    # Two hours later, still on shift; loading again adds no shift.
    clock.advance(dt.timedelta(hours=2))
    assert delivery_demo.demo_load()["shifts"] == 0
    assert len(drivers_on_shift(mission, timezone.now())) == 2


def test_demo_delivery_orders_wait_for_the_board_and_the_planner_places_them(shipped_rules, clock):
    from delivery.models import DeliveryOrder
    from delivery.services_dispatch import dispatch_plan, waiting_orders
    from dispensary.clock import store_local_date
    from inventory import demo as inventory_demo

    clock.move_to(dt.datetime(2026, 3, 10, 18, 30, tzinfo=dt.UTC))  # 11:30 in San Francisco, 14:30 in Detroit
    core_demo.demo_load()
    inventory_demo.demo_load()
    assert delivery_demo.demo_load()["delivery orders"] == 18
    assert delivery_demo.demo_load()["delivery orders"] == 0
    mission = Store.objects.get(code="sf-mission")
    riverside = Store.objects.get(code="detroit-riverside")
    day = store_local_date(mission)
    waiting = list(waiting_orders(mission, day))
    assert len(waiting) == 12 and len(list(waiting_orders(riverside, day))) == 6
    assert {delivery.zone.name for delivery in waiting} == {"Mission & Noe Valley", "San Francisco"}
    assert len({delivery.window_start for delivery in waiting}) >= 3
    result = dispatch_plan(store=mission, day=day, by=None, seconds=1)
    assert result.planned + len(result.unplaced) == 12 and result.planned >= 10
    assert DeliveryOrder.objects.filter(stops__isnull=False).count() == result.planned


def test_no_demo_delivery_orders_late_at_night(shipped_rules, clock):
    from inventory import demo as inventory_demo

    clock.move_to(dt.datetime(2026, 3, 11, 6, 30, tzinfo=dt.UTC))  # 23:30 in San Francisco, 2:30 in Detroit
    core_demo.demo_load()
    inventory_demo.demo_load()
    assert delivery_demo.demo_load()["delivery orders"] == 0
