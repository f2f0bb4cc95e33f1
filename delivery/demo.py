"""Delivery demo data: zones around the demo stores (a small near zone inside a wider city zone, so the overlap
rule shows) and an excluded place or two, through the same services as the zones screen. Idempotent: a zone
or place of the same name is left as it is. The places are fictional ("demo")."""

from django.db import transaction

from delivery.models import DeliveryExclusion, DeliveryZone
from delivery.services import delivery_exclusion_create, delivery_zone_create
from dispensary.demo import ORG_SLUG
from dispensary.models import Store


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


@transaction.atomic
def demo_load() -> dict[str, int]:
    added = {"zones": 0, "excluded places": 0}
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
    return added
