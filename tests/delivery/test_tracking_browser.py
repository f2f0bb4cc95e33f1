# ruff: noqa: F811 - the fixtures imported from other test modules are parameters of the test
"""The driver's phone on the road in a real Chromium (390x844), on a browser without the Permissions API: it
queues its position every 20 s while offline (the phone's clock run forward 20 minutes) and, back online, sends
the queue in batches of 50, in order: 60 positions in 2 requests, each stored once."""

from pathlib import Path

import pytest

from delivery.models import Trip, TripPosition
from tests.browser.test_web_shell import CHROMIUM, browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    NOW,
    customer,
    now,
    package,
    product,
    zone,
)

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium executable at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]


def test_positions_queued_offline_go_in_batches_without_the_permissions_api(
    clock, live_server, browser, route
):
    clock.move_to(NOW, tick=True)
    trip = route["trip"]
    Trip.objects.filter(pk=trip.pk).update(status=Trip.Status.DEPARTED, departed_at=NOW)
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        timezone_id="America/Los_Angeles",
        geolocation={"latitude": 37.7612, "longitude": -122.4391, "accuracy": 15},
        permissions=["geolocation"],
    )
    # Older Safari: no navigator.permissions at all.
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'permissions', { get: () => undefined });"
    )
    page = context.new_page()
    page.clock.install(time=NOW)
    syncs = []
    page.on(
        "request", lambda request: syncs.append(request) if request.url.endswith("/driver/sync/") else None
    )
    log_in(page, live_server.url, "dana")
    page.goto(f"{live_server.url}/delivery/driver/")
    page.wait_for_selector("body[data-ready]")
    assert page.evaluate("navigator.permissions === undefined")

    context.set_offline(True)
    for _ in range(60):  # 20 minutes on the road, one position every 20 s
        page.clock.run_for(20_000)
        page.wait_for_timeout(60)  # the phone's real geolocation answer and IndexedDB write
    page.wait_for_function("() => Number(document.querySelector('[data-queue]').dataset.queueCount) === 60")
    assert page.locator("[data-queue]").inner_text() == "60 actions waiting to be sent"
    assert TripPosition.objects.count() == 0 and syncs == []

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector('[data-queue][data-queue-count="0"]', timeout=20_000)
    assert len(syncs) == 2  # 50, then 10
    positions = list(TripPosition.objects.filter(trip=trip).order_by("pk"))
    assert len(positions) == 60
    assert {(str(p.latitude), str(p.longitude), p.accuracy_m) for p in positions} == {
        ("37.761200", "-122.439100", 15)
    }
    context.close()
