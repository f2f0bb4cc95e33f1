"""The delivery demo: zones around both demo stores (a near zone inside the city one), excluded places, the
store itself inside its near zone, and loading again adds nothing."""

from decimal import Decimal

import pytest

from delivery import demo as delivery_demo
from delivery.models import DeliveryExclusion, DeliveryZone
from delivery.selectors import delivery_place_check, delivery_quote_get
from dispensary import demo as core_demo
from dispensary.models import Store

pytestmark = pytest.mark.django_db


def test_demo_zones_and_places_around_the_demo_stores(shipped_rules):
    core_demo.demo_load()
    assert delivery_demo.demo_load() == {"zones": 4, "excluded places": 3}
    assert delivery_demo.demo_load() == {"zones": 0, "excluded places": 0}
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
