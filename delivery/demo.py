"""Delivery demo data: zones around the demo stores (a small near zone inside a wider city zone, so the overlap
rule shows) and an excluded place or two, through the same services as the zones screen; drivers with their
profiles, vehicles, and shifts covering the moment the demo is loaded (the `driver` login clocked in), so the
dispatch board has drivers on shift; and today's delivery orders waiting for a route (one-hour windows from the
next hour while the drivers are on shift, over both zones of each store), placed through the order service so
they allocate stock and count against limits. Idempotent: a zone, place, driver or vehicle of the same name is
left as it is, a driver already on shift now gets no second shift, and an order's key is per store and day. The
places and people are fictional."""

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from delivery.fleet import (
    ShiftOverlap,
    driver_profile_create,
    driver_shift_clock_in,
    driver_shift_create,
    plate_normalize,
    vehicle_create,
)
from delivery.models import DeliveryExclusion, DeliveryZone, DriverProfile, DriverShift, Vehicle
from delivery.services import delivery_exclusion_create, delivery_zone_create
from dispensary.clock import age_on, store_local_date
from dispensary.demo import DEMO_PASSWORD, ORG_SLUG
from dispensary.models import Store, User
from dispensary.roles import Role
from dispensary.services import staff_create


def _polygon(*corners):
    """[(latitude, longitude), ...] -> a closed GeoJSON Polygon ([longitude, latitude] pairs)."""
    ring = [[lon, lat] for lat, lon in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


ZONES = {
    "sf-mission": [
        dict(
            name="Mission & Noe Valley",
            geometry=_polygon(
                (37.7735, -122.4340), (37.7735, -122.4050), (37.7440, -122.4050), (37.7440, -122.4340)
            ),
            minimum_order="40.00",
            fee="4.99",
            estimated_minutes=35,
        ),
        dict(
            name="San Francisco",
            geometry=_polygon(
                (37.8080, -122.5130),
                (37.8110, -122.4040),
                (37.7890, -122.3870),
                (37.7080, -122.3780),
                (37.7080, -122.5040),
            ),
            minimum_order="75.00",
            fee="9.99",
            estimated_minutes=60,
        ),
    ],
    "detroit-riverside": [
        dict(
            name="Corktown & Downtown",
            geometry=_polygon(
                (42.3420, -83.0850), (42.3420, -83.0380), (42.3150, -83.0380), (42.3120, -83.0850)
            ),
            minimum_order="35.00",
            fee="3.99",
            estimated_minutes=30,
        ),
        dict(
            name="Southwest Detroit",
            geometry=_polygon(
                (42.3300, -83.1350), (42.3420, -83.0850), (42.3120, -83.0850), (42.2960, -83.1200)
            ),
            minimum_order="60.00",
            fee="7.99",
            estimated_minutes=45,
        ),
    ],
}

PLACES = {
    "sf-mission": [
        dict(
            name="Valencia Street Elementary (demo)",
            kind="school",
            latitude="37.756500",
            longitude="-122.421000",
            radius_m=150,
        ),
        dict(
            name="Little Sprouts Day Care (demo)",
            kind="day_care",
            latitude="37.765200",
            longitude="-122.415500",
            radius_m=100,
        ),
    ],
    "detroit-riverside": [
        dict(
            name="Riverside Youth Centre (demo)",
            kind="youth_center",
            latitude="42.326800",
            longitude="-83.072500",
            radius_m=200,
        ),
    ],
}


def demo_load() -> dict[str, int]:
    """The zones, fleet and today's orders in one transaction; then the trips (delivery.demo_trips), each step
    in its own transaction as at the store, so the state's answers come between them."""
    from delivery.demo_trips import trips_load

    added = _base_load()
    added.update({"trips on the road": 0, "positions": 0, "past trips": 0})
    stores = Store.objects.filter(organization__slug=ORG_SLUG, code__in=list(ZONES)).select_related(
        "organization"
    )
    if stores:
        trips_load({store.code: store for store in stores}, added)
    return added


@transaction.atomic
def _base_load() -> dict[str, int]:
    added = {"zones": 0, "excluded places": 0, "drivers": 0, "vehicles": 0, "shifts": 0, "delivery orders": 0}
    stores = Store.objects.filter(organization__slug=ORG_SLUG, code__in=list(ZONES)).select_related(
        "organization"
    )
    for store in stores:
        zone_names = set(DeliveryZone.objects.filter(store=store).values_list("name", flat=True))
        for zone in ZONES[store.code]:
            if zone["name"] not in zone_names:
                delivery_zone_create(store=store, actor=None, **zone)
                added["zones"] += 1
        place_names = set(DeliveryExclusion.objects.filter(store=store).values_list("name", flat=True))
        for place in PLACES.get(store.code, []):
            if place["name"] not in place_names:
                delivery_exclusion_create(store=store, actor=None, **place)
                added["excluded places"] += 1
    by_code = {store.code: store for store in stores}
    if by_code:
        _fleet_load(by_code, added)
        _orders_load(by_code, added)
    return added


@dataclass(frozen=True)
class DemoDriver:
    username: str
    first_name: str
    last_name: str
    store: str
    licence_number: str
    licence_region: str
    date_of_birth: dt.date
    phone: str
    vehicle_plate: str
    hours_before_now: int  # the shift starts this many whole hours before the demo's "now"
    clocked_in: bool


DRIVERS = [
    # The logins come from the core demo's staff (dispensary.demo.STAFF); a missing one is added here.
    DemoDriver(
        "driver",
        "Dante",
        "Brooks",
        "sf-mission",
        "D4821937",
        "CA",
        dt.date(1991, 3, 14),
        "(415) 555-0190",
        "8DMO101",
        1,
        True,
    ),
    DemoDriver(
        "driver.sf2",
        "Rosa",
        "Alvarez",
        "sf-mission",
        "A7730215",
        "CA",
        dt.date(1996, 11, 2),
        "(415) 555-0191",
        "8DMO102",
        2,
        False,
    ),
    DemoDriver(
        "driver.mi",
        "Jamal",
        "Carter",
        "detroit-riverside",
        "C400123456789",
        "MI",
        dt.date(1988, 7, 23),
        "(313) 555-0192",
        "DMO4501",
        1,
        False,
    ),
]

VEHICLES = {
    "sf-mission": [
        dict(make="Toyota", model="Prius", year=2021, colour="Silver", plate="8DMO101", capacity=12),
        dict(make="Kia", model="Niro EV", year=2023, colour="Blue", plate="8DMO102", capacity=10),
    ],
    "detroit-riverside": [
        dict(make="Ford", model="Transit Connect", year=2020, colour="White", plate="DMO4501", capacity=16),
    ],
}


def _fleet_load(stores: dict[str, Store], added: dict[str, int]) -> None:
    organization = next(iter(stores.values())).organization
    plates = set(Vehicle.objects.filter(organization=organization).values_list("plate", flat=True))
    for code, vehicles in VEHICLES.items():
        for vehicle in vehicles:
            if code in stores and plate_normalize(vehicle["plate"]) not in plates:
                vehicle_create(store=stores[code], actor=None, **vehicle)
                added["vehicles"] += 1
    now = timezone.now()
    for demo in DRIVERS:
        store = stores.get(demo.store)
        if store is None:
            continue
        user = User.objects.filter(username=demo.username).first()
        if user is None:
            user = staff_create(
                organization=organization,
                actor=None,
                username=demo.username,
                password=DEMO_PASSWORD,
                roles=[Role.DRIVER],
                stores=[store],
                first_name=demo.first_name,
                last_name=demo.last_name,
                email=f"{demo.username}@emerald-coast.example",
            )
        profile = DriverProfile.objects.filter(user=user).first()
        if profile is None:
            profile = driver_profile_create(
                organization=organization,
                actor=None,
                user=user,
                licence_number=demo.licence_number,
                licence_region=demo.licence_region,
                # Valid for years after whatever day the demo is loaded on.
                licence_expires=store_local_date(store) + dt.timedelta(days=3 * 365),
                date_of_birth=demo.date_of_birth,
                phone=demo.phone,
            )
            added["drivers"] += 1
        on_shift = DriverShift.objects.filter(
            driver=profile, cancelled_at__isnull=True, starts_at__lte=now, ends_at__gt=now
        ).exists()
        if on_shift:
            continue
        hour = now.astimezone(store.tz).replace(minute=0, second=0, microsecond=0)
        starts_at = hour - dt.timedelta(hours=demo.hours_before_now)
        try:
            with transaction.atomic():
                shift = driver_shift_create(
                    store=store,
                    actor=None,
                    driver=profile,
                    vehicle=Vehicle.objects.filter(
                        organization=organization, plate=demo.vehicle_plate
                    ).first(),
                    starts_at=starts_at,
                    ends_at=starts_at + dt.timedelta(hours=8),
                )
        except ShiftOverlap:
            continue  # a shift from an earlier load today holds the driver or the vehicle: leave it
        if demo.clocked_in:
            driver_shift_clock_in(shift=shift, actor=user)
        added["shifts"] += 1


# --- Today's waiting delivery orders ------------------------------------------------------------------------------

# Doors in each store's zones (latitude, longitude, street), away from the excluded places.
DOORS = {
    "sf-mission": [
        ("37.760200", "-122.428400", "3920 20th St"),
        ("37.752900", "-122.418800", "1180 Shotwell St"),
        ("37.748100", "-122.428900", "4015 24th St"),
        ("37.769300", "-122.412600", "2210 Harrison St"),
        ("37.763900", "-122.430900", "95 Sanchez St"),
        ("37.757400", "-122.409800", "2730 Bryant St"),
        ("37.785400", "-122.439200", "2401 Sutter St"),
        ("37.776700", "-122.454300", "640 Masonic Ave"),
        ("37.791900", "-122.421500", "1535 Jackson St"),
        ("37.739200", "-122.466800", "55 Vasquez Ave"),
        ("37.771400", "-122.468900", "1290 9th Ave"),
        ("37.798800", "-122.409400", "720 Vallejo St"),
    ],
    "detroit-riverside": [
        ("42.331200", "-83.065400", "1640 Michigan Ave"),
        ("42.335100", "-83.049800", "1250 Library St"),
        ("42.327600", "-83.078900", "2150 Trumbull St"),
        ("42.317900", "-83.101200", "5520 W Vernor Hwy"),
        ("42.309800", "-83.115300", "7410 Michigan Ave"),
        ("42.322400", "-83.094700", "3820 Bagley St"),
    ],
}
CITIES = {"sf-mission": ("San Francisco", "CA", "94110"), "detroit-riverside": ("Detroit", "MI", "48216")}


def _demo_windows(store: Store, now: dt.datetime, shifts_end: dt.datetime | None) -> list[tuple]:
    """One-hour windows today from the next whole hour, as long as the drivers are on shift and the state's
    and the store's delivery hours allow them (none late at night: the board then shows no waiting order)."""
    from delivery.selectors import delivery_window_problems

    local_now = now.astimezone(store.tz)
    start = local_now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    windows = []
    for _ in range(6):
        end = start + dt.timedelta(hours=1)
        if start.date() != local_now.date() or (shifts_end is not None and end > shifts_end):
            break
        if not delivery_window_problems(store=store, start=start, end=end, return_minutes=30):
            windows.append((start, end))
        start = end
    return windows


def _demo_products(store: Store) -> list:
    """Products the demo orders allocate: sold by the unit, worth at least $25, with plenty in stock (at least 15
    available, so the counter's demo keeps selling them), never the first of a category (the inventory demo's
    special packages and the counter's tests use those)."""
    from django.db.models import F, Sum

    from inventory.models import Product
    from inventory.selectors import package_sellable_list

    chosen, firsts = [], set()
    candidates = Product.objects.filter(
        organization_id=store.organization_id, category__in=("flower", "pre_roll", "edible"), sold_by="each"
    ).order_by("pk")
    for product in candidates:
        if product.category not in firsts:
            firsts.add(product.category)
            continue
        if product.price < Decimal("25"):
            continue
        available = package_sellable_list(store=store, product_id=product.pk).aggregate(
            total=Sum(F("quantity_on_hand") - F("quantity_allocated"))
        )["total"]
        if available is not None and available >= 15:
            chosen.append(product)
    return sorted(chosen, key=lambda product: product.sku)


def demo_customers(store: Store, day: dt.date) -> list:
    """Customers past the first few (the counter's demo and its tests start with those), adults only."""
    from dispensary.models import Customer

    return [
        customer
        for customer in Customer.objects.filter(organization_id=store.organization_id, home_store=store)
        .exclude(date_of_birth=None)
        .order_by("pk")[10:60]
        if age_on(customer.date_of_birth, day) >= 22 and customer.customer_type != Customer.Type.MEDICAL
    ]


def _orders_load(stores: dict[str, Store], added: dict[str, int]) -> None:
    from delivery.selectors import delivery_place_check
    from delivery.services_orders import delivery_order_create
    from dispensary.errors import ApplicationError
    from pos.models import PickupOrder

    now = timezone.now()
    staff = User.objects.filter(username="manager").first()
    for code, doors in DOORS.items():
        store = stores.get(code)
        if store is None or staff is None:
            continue
        day = store_local_date(store, at=now)
        shifts_end = (
            DriverShift.objects.filter(store=store, day=day, cancelled_at__isnull=True)
            .order_by("-ends_at")
            .values_list("ends_at", flat=True)
            .first()
        )
        windows = _demo_windows(store, now, shifts_end)
        if not windows:
            continue
        products = _demo_products(store)
        customers = demo_customers(store, day)
        if not products or not customers:
            continue
        city, region, postal_code = CITIES[code]
        for number, (latitude, longitude, street) in enumerate(doors):
            key = f"demo-delivery-{day.isoformat()}-{number}"
            if PickupOrder.objects.filter(store=store, idempotency_key=key).exists():
                continue
            if delivery_place_check(
                store=store, latitude=latitude, longitude=longitude, line1=street
            ).reasons:
                continue
            customer = customers[number % len(customers)]
            product = products[number % len(products)]
            # Enough to clear the city zone's minimum ($75 before taxes).
            quantity = max(1, math.ceil(Decimal("85") / product.price))
            start, end = windows[number % len(windows)]
            try:
                with transaction.atomic():
                    delivery_order_create(
                        store=store,
                        customer=customer,
                        customer_type="adult_use",
                        lines=[(product.pk, Decimal(quantity))],
                        idempotency_key=key,
                        window_start=start,
                        window_end=end,
                        new_address={
                            "line1": street,
                            "city": city,
                            "region": region,
                            "postal_code": postal_code,
                            "latitude": latitude,
                            "longitude": longitude,
                        },
                        created_by=staff,
                        channel="phone",
                        now=now,
                    )
            except ApplicationError:
                continue  # a limit, the stock or the zone's minimum refused it: the demo goes without
            added["delivery orders"] += 1
