# ruff: noqa: F811 - the fixtures imported from other test modules are parameters of the test
"""Proof of delivery in a real Chromium on a 390x844 phone, offline: the customer signs on the pad (mouse strokes
on its canvas), the driver attaches a photo (a small JPEG through the camera input), the phone shrinks it and
queues the proof with the hand-over; back online the server has one proof with both images, the time and the
position, and the manager sees it on the trip page."""

import io

from PIL import Image

from delivery.models import DeliveryProof, DriverAction
from pos.models import Sale
from tests.browser.test_web_shell import browser, log_in  # noqa: F401 - the browser fixture
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    NOW,
    customer,
    now,
    package,
    product,
    zone,
)
from tests.delivery.test_driver_app_browser import media, pytestmark, shot, sign  # noqa: F401

__all__ = ["pytestmark"]


def door_photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (40, 120, 60)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_the_customer_signs_the_driver_takes_a_photo_offline_and_the_store_gets_one_proof(
    clock, live_server, browser, route, manager, tmp_path
):
    clock.move_to(NOW, tick=True)
    first, *_ = route["trip"].stops.order_by("sequence")
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        timezone_id="America/Los_Angeles",
        geolocation={"latitude": 37.7601, "longitude": -122.4147, "accuracy": 15},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.clock.set_fixed_time(NOW)
    log_in(page, live_server.url, "dana")
    page.goto(f"{live_server.url}/delivery/driver/")
    page.wait_for_selector("body[data-ready]")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_selector(f'[data-stop="{first.pk}"]')

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready]")
    card = page.locator(f'[data-stop="{first.pk}"]')
    card.locator('[data-action="arrived"]').click()
    card.locator('input[name="date_of_birth"]').fill("1990-05-17")
    card.locator('input[name="expires_on"]').fill("2030-01-01")
    card.locator('[data-action="id_checked"]').click()

    # Complete without a signature or a reason: the phone says what is missing and queues nothing.
    card.locator("[data-signature-pad]").wait_for()
    card.locator('[data-action="delivered"]').click()
    assert card.locator('.stop__proof [role="alert"]').inner_text() == (
        "The customer signs in the box, or say why there is no signature."
    )
    assert page.locator("[data-queue]").inner_text() == "2 actions waiting to be sent"

    sign(page, card)
    card.locator('input[name="signed_name"]').fill("Ada Lovelace")
    card.locator('input[type="file"][data-photo]').set_input_files(
        files=[{"name": "door.jpg", "mimeType": "image/jpeg", "buffer": door_photo()}]
    )
    card.locator(".stop__photo:not([hidden])").wait_for()
    assert card.locator('input[type="file"]').get_attribute("capture") == "environment"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "proof")
    card.locator('[data-action="delivered"]').click()
    card.locator(".stop__done").wait_for(state="attached")
    assert card.locator(".stop__done").text_content() == "Handed over. Signed by Ada Lovelace."
    assert page.locator("[data-queue]").inner_text() == "4 actions waiting to be sent"
    # The images wait in IndexedDB with the queued action.
    queued = page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("canopy-driver-" + document.body.dataset.user);
            open.onsuccess = () => {
                const get = open.result.transaction("queue").objectStore("queue").getAll();
                get.onsuccess = () => resolve(get.result.map((item) => [item.kind,
                    (item.payload.signature || "").slice(0, 22), (item.payload.photo || "").slice(0, 23)]));
            };
        })"""
    )
    assert queued == [
        ["arrived", "", ""],
        ["id_checked", "", ""],
        ["proof", "data:image/png;base64,", "data:image/jpeg;base64,"],
        ["delivered", "", ""],
    ]
    assert DeliveryProof.objects.count() == 0

    context.set_offline(False)
    page.wait_for_selector('[data-queue][data-queue-count="0"]', timeout=20000)
    shot(page, tmp_path, "proof-synced")
    assert list(DriverAction.objects.order_by("pk").values_list("kind", "outcome")) == [
        ("arrived", "applied"),
        ("id_checked", "applied"),
        ("proof", "applied"),
        ("delivered", "applied"),
    ]
    proof = DeliveryProof.objects.get()
    assert (proof.stop_id, proof.signed_name, proof.no_signature_reason, Sale.objects.count()) == (
        first.pk,
        "Ada Lovelace",
        "",
        1,
    )
    assert (str(proof.latitude), str(proof.longitude), proof.accuracy_m) == ("37.760100", "-122.414700", 15)
    with proof.signature.open("rb") as handle, Image.open(handle) as signature:
        # The pad's strokes: a white PNG with dark ink on it.
        assert signature.format == "PNG"
        assert signature.convert("L").getextrema()[0] < 100
    with proof.photo.open("rb") as handle, Image.open(handle) as photo:
        assert (photo.format, photo.size) == ("JPEG", (96, 64))

    # Replayed by a phone that lost the answers: nothing more is stored.
    page.reload()
    page.wait_for_selector("body[data-ready]")
    assert (DriverAction.objects.count(), DeliveryProof.objects.count()) == (4, 1)
    page.wait_for_selector(f'[data-stop="{first.pk}"] .stop__done', state="attached")
    assert card.locator(".stop__done").text_content() == "Handed over. Signed by Ada Lovelace."

    # The manager sees the thumbnails on the trip page (each image served by its logged view).
    context.close()
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    page = desk.new_page()
    log_in(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/delivery/trips/{route['trip'].pk}/")
    thumbs = page.locator(f'[data-proof="{first.pk}"] img')
    assert thumbs.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-proof] img')].every((i) => i.complete && i.naturalWidth > 0)"
    )
    shot(page, tmp_path, "trip-proof")

    # The order's receipt, printed: the delivery's line and the signature.
    page.goto(f"{live_server.url}/pos/sales/{Sale.objects.get().pk}/receipt/")
    page.emulate_media(media="print")
    proof_line = page.locator(".receipt__proof")
    assert (
        " ".join(proof_line.inner_text().split())
        == "Delivered Mar 10, 2026 11:00 AM PDT, signed by Ada Lovelace"
    )
    page.wait_for_function(
        "() => { const i = document.querySelector('.receipt__signature'); return i && i.complete && i.naturalWidth > 0; }"
    )
    shot(page, tmp_path, "receipt-proof")
    desk.close()


def test_a_proof_too_large_for_the_store_goes_without_its_photo_and_the_queue_moves_on(
    clock, live_server, browser, route, settings, tmp_path
):
    import random

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 40_000  # a store that takes small requests only
    noise = random.Random(7)
    picture = Image.frombytes("RGB", (400, 300), bytes(noise.getrandbits(8) for _ in range(400 * 300 * 3)))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=90)
    clock.move_to(NOW, tick=True)
    first, *_ = route["trip"].stops.order_by("sequence")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.clock.set_fixed_time(NOW)
    log_in(page, live_server.url, "dana")
    page.goto(f"{live_server.url}/delivery/driver/")
    page.wait_for_selector(f'[data-stop="{first.pk}"]')
    context.set_offline(True)
    card = page.locator(f'[data-stop="{first.pk}"]')
    card.locator('[data-action="arrived"]').click()
    card.locator('input[name="date_of_birth"]').fill("1990-05-17")
    card.locator('input[name="expires_on"]').fill("2030-01-01")
    card.locator('[data-action="id_checked"]').click()
    sign(page, card)
    card.locator('input[type="file"][data-photo]').set_input_files(
        files=[{"name": "door.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}]
    )
    card.locator(".stop__photo:not([hidden])").wait_for()
    card.locator('[data-action="delivered"]').click()
    card.locator(".stop__done").wait_for(state="attached")
    context.set_offline(False)
    page.wait_for_selector('[data-queue][data-queue-count="0"]', timeout=20000)
    assert page.locator(".driver-notice__message").all_inner_texts() == [
        "The photo at the door was too large to send: the proof went without it."
    ]
    proof = DeliveryProof.objects.get()
    assert (bool(proof.signature), bool(proof.photo), Sale.objects.count()) == (True, False, 1)
    context.close()
