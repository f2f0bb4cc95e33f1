# ruff: noqa: F811 - the fixtures imported from other test modules are parameters of the test
"""The driver app in a real Chromium on a 390x844 phone: opened online (the trip downloaded, the shell kept by
the service worker), then the network is cut: the page reopens offline, two stops are handed over after a typed ID
check and one is returned, the screen counts the actions waiting; back online the queue is sent and the server has
each action exactly once."""

import os
from pathlib import Path

import pytest

from delivery.models import DriverAction, StopVisit
from pos.models import Sale
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
SHOTS = os.environ.get("DRIVER_APP_SCREENSHOTS", "")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """The proofs of delivery's images go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def shot(page, tmp_path, name):
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"driver-{name}.png"), full_page=True)


def sign(page, card):
    """The customer's finger on the signature box: a few strokes of the mouse across the canvas."""
    pad = card.locator("[data-signature-pad]")
    pad.evaluate("el => el.scrollIntoView({block: 'center'})")  # clear of the status bar at the bottom
    box = pad.bounding_box()
    for row in (0.35, 0.65):
        page.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + box["height"] * row)
        page.mouse.down()
        for step in range(1, 9):
            page.mouse.move(
                box["x"] + box["width"] * (0.15 + 0.08 * step),
                box["y"] + box["height"] * (row + (0.12 if step % 2 else -0.12)),
                steps=3,
            )
        page.mouse.up()


def hand_over(page, stop_id, tmp_path=None):
    card = page.locator(f'[data-stop="{stop_id}"]')
    card.locator('[data-action="arrived"]').click()
    if tmp_path:
        shot(page, tmp_path, "id-check")
    card.locator('input[name="date_of_birth"]').fill("1990-05-17")
    card.locator('input[name="expires_on"]').fill("2030-01-01")
    card.locator('[data-action="id_checked"]').click()
    sign(page, card)
    card.locator('[data-action="delivered"]').click()
    card.locator(".stop__done").wait_for(state="attached")


def test_a_whole_route_offline_then_each_action_reaches_the_store_once(
    clock, live_server, browser, route, tmp_path
):
    clock.move_to(NOW, tick=True)
    first, second, third = route["trip"].stops.order_by("sequence")
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        timezone_id="America/Los_Angeles",
    )
    page = context.new_page()
    page.clock.set_fixed_time(NOW)  # the phone's date too: its own age arithmetic runs offline
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server.url, "dana")
    page.goto(f"{live_server.url}/delivery/driver/")
    page.wait_for_selector("body[data-ready]")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_selector(f'[data-stop="{first.pk}"]')
    assert page.locator("[data-net]").inner_text() == "Online"
    shot(page, tmp_path, "online")

    context.set_offline(True)
    page.reload()  # the shell from the service worker, the trip from IndexedDB
    page.wait_for_selector("body[data-ready]")
    assert page.locator("[data-net]").inner_text() == "Offline"
    assert page.locator(f'[data-stop="{first.pk}"] .stop__who strong').inner_text() == "Ada L."

    hand_over(page, first.pk, tmp_path)
    hand_over(page, second.pk)
    card = page.locator(f'[data-stop="{third.pk}"]')
    card.locator('[data-action="arrived"]').click()
    card.locator('[data-return="nobody_home"]').click()
    card.locator(".stop__done").wait_for(state="attached")
    assert page.locator("[data-queue]").inner_text() == "10 actions waiting to be sent"
    shot(page, tmp_path, "offline")
    assert DriverAction.objects.count() == 0

    context.set_offline(False)
    page.wait_for_selector('[data-queue][data-queue-count="0"]', timeout=20000)
    assert page.locator("[data-queue]").inner_text() == "All actions sent"
    shot(page, tmp_path, "synced")

    actions = list(DriverAction.objects.order_by("pk").values_list("stop_id", "kind", "outcome"))
    assert actions == [
        (first.pk, "arrived", "applied"),
        (first.pk, "id_checked", "applied"),
        (first.pk, "proof", "applied"),
        (first.pk, "delivered", "applied"),
        (second.pk, "arrived", "applied"),
        (second.pk, "id_checked", "applied"),
        (second.pk, "proof", "applied"),
        (second.pk, "delivered", "applied"),
        (third.pk, "arrived", "applied"),
        (third.pk, "returned", "applied"),
    ]
    assert Sale.objects.count() == 2
    assert [s.status for s in route["trip"].stops.order_by("sequence")] == [
        "delivered",
        "delivered",
        "returned",
    ]
    assert StopVisit.objects.get(stop=third).return_reason == "nobody_home"

    # The phone opens again: nothing waits, nothing is sent twice.
    page.reload()
    page.wait_for_selector("body[data-ready]")
    assert page.locator("[data-queue]").inner_text() == "All actions sent"
    assert DriverAction.objects.count() == 10
    page.set_viewport_size({"width": 1280, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(page, tmp_path, "desktop")
    context.close()


def test_offline_an_under_age_id_blocks_the_hand_over_and_a_cancellation_comes_back_as_a_conflict(
    clock, live_server, browser, route, manager, tmp_path
):
    from delivery.services_orders import delivery_order_cancel

    clock.move_to(NOW, tick=True)
    first, second, _ = route["trip"].stops.order_by("sequence")
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        timezone_id="America/Los_Angeles",
    )
    page = context.new_page()
    page.clock.set_fixed_time(NOW)  # the phone's date too: its own age arithmetic runs offline
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server.url, "dana")
    page.goto(f"{live_server.url}/delivery/driver/")
    page.wait_for_selector(f'[data-stop="{first.pk}"]')
    context.set_offline(True)

    card = page.locator(f'[data-stop="{first.pk}"]')
    card.locator('[data-action="arrived"]').click()
    card.locator('input[name="date_of_birth"]').fill("2010-01-01")
    card.locator('input[name="expires_on"]').fill("2030-01-01")
    card.locator('[data-action="id_checked"]').click()
    # The phone's own arithmetic refuses: no hand-over, only the two reasons an ID refusal allows.
    card.locator(".stop__conflict").wait_for()
    assert card.locator('[data-action="delivered"]').count() == 0
    assert sorted(card.locator("[data-return]").evaluate_all("els => els.map(e => e.dataset.return)")) == [
        "no_id",
        "under_age",
    ]
    shot(page, tmp_path, "under-age")
    card.locator('[data-return="under_age"]').click()

    # The store cancels the second order while the phone is offline; the driver hands it over anyway.
    delivery_order_cancel(delivery=second.order, actor=manager, reason="Customer called")
    hand_over(page, second.pk)
    assert page.locator("[data-queue]").inner_text() == "7 actions waiting to be sent"

    context.set_offline(False)
    page.wait_for_selector('[data-queue][data-queue-count="0"]', timeout=20000)
    page.wait_for_selector(f'[data-stop="{second.pk}"] .stop__conflict')
    notices = page.locator(".driver-notice").all_inner_texts()
    cancelled = f"The store cancelled order {second.order.order_id} while you were on the road."
    assert [text.split("\n")[0] for text in notices] == [
        "ID refused: Under age: 16, the minimum is 21.",
        cancelled,
    ]
    assert "What to do: Do not hand it over" in notices[1]
    shot(page, tmp_path, "conflict")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.visit.return_reason, first.visit.id_passed) == (
        "returned",
        "under_age",
        False,
    )
    assert (second.status, Sale.objects.count()) == ("pending", 0)
    assert (
        second.visit.conflict
        == f"The store cancelled order {second.order.order_id} while you were on the road."
    )
    assert DriverAction.objects.count() == 7
    context.close()
