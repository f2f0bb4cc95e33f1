# ruff: noqa: F811 - the fixtures imported from order_fixtures and driver_fixtures are parameters of the tests
"""Proof of delivery: the signature and photo the phone sends in a `proof` action, stored once per stop (a
replayed key stores nothing twice), checked before anything is written, shown to the store's managers and the
trip's driver only (every view logged as a read of the customer's record), on the trip page, in the audit center
and on the receipt."""

import base64
import io
import uuid
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

from compliance.reporting.audit_center import day_record, patient_record
from delivery.driver_app import driver_trip_data, driver_trip_list
from delivery.models import DeliveryProof, DriverAction
from dispensary.errors import NotFound, ValidationFailed
from dispensary.models import AuditRecord
from pos.models import Sale
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    customer,
    local,
    now,
    package,
    product,
    zone,
)
from tests.delivery.test_driver_app import GOOD_ID, send, stops
from tests.factories import StoreFactory, UserFactory


def image_bytes(kind: str, size=(60, 30), colour=(20, 20, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=kind)
    return buffer.getvalue()


def data_url(kind: str, data: bytes) -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


SIGNATURE = image_bytes("PNG")
PHOTO = image_bytes("JPEG", size=(64, 48), colour=(120, 160, 90))
GOOD_PROOF = {
    "signature": data_url("png", SIGNATURE),
    "signed_name": "Ada Lovelace",
    "photo": data_url("jpeg", PHOTO),
    "latitude": "37.760100",
    "longitude": "-122.414700",
    "accuracy": "12.6",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media) -> list[Path]:
    return sorted(path for path in Path(media).rglob("*") if path.is_file())


def at_the_door(clock, user, stop):
    clock.move_to(local(14, 10))
    assert send(user, "arrived", stop)["outcome"] == "applied"
    assert send(user, "id_checked", stop, **GOOD_ID)["outcome"] == "applied"
    clock.move_to(local(14, 14))


@pytest.fixture
def delivered(clock, route):
    """Stop 1 handed over to Ada with its proof (signature and photo)."""
    dana = route["dana"].user
    first, *_ = stops(route)
    at_the_door(clock, dana, first)
    assert send(dana, "proof", first, **GOOD_PROOF)["outcome"] == "applied"
    assert send(dana, "delivered", first, collected="55.01")["outcome"] == "applied"
    return DeliveryProof.objects.get(stop=first)


def test_the_proof_is_stored_once_and_a_replayed_key_stores_nothing_twice(clock, route, media):
    dana = route["dana"].user
    first, *_ = stops(route)
    at_the_door(clock, dana, first)
    key = str(uuid.uuid4())

    answer = send(dana, "proof", first, key=key, **GOOD_PROOF)
    again = send(dana, "proof", first, key=key, **GOOD_PROOF)

    assert (answer["outcome"], answer["message"]) == (
        "applied",
        "Stop 1: proof of delivery kept (signed by Ada Lovelace).",
    )
    assert (again["replayed"], again["message"]) == (True, answer["message"])
    proof = DeliveryProof.objects.get()
    assert (proof.stop_id, proof.order_id, proof.driver_id, proof.signed_name) == (
        first.pk,
        first.order_id,
        route["dana"].pk,
        "Ada Lovelace",
    )
    assert (proof.captured_at, str(proof.latitude), str(proof.longitude), proof.accuracy_m) == (
        local(14, 14),
        "37.760100",
        "-122.414700",
        12,
    )
    with proof.signature.open("rb") as handle:
        assert handle.read() == SIGNATURE
    with proof.photo.open("rb") as handle:
        assert handle.read() == PHOTO
    # Two files, under random names (24 random bytes each), never the order's or the customer's.
    files = stored_files(media)
    assert sorted(path.suffix for path in files) == [".jpg", ".png"]
    assert all(len(path.stem) == 32 and path.parent.name == "delivery-proofs" for path in files)
    # The action's record keeps that images were sent, not the images.
    action = DriverAction.objects.get(key=key)
    assert (action.kind, action.payload["signature_sent"], action.payload["photo_sent"]) == (
        "proof",
        "True",
        "True",
    )
    assert "signature" not in action.payload and "photo" not in action.payload
    assert AuditRecord.objects.filter(action="delivery_proof.recorded", object_id=str(proof.pk)).count() == 1

    # Another proof for the same stop (a new key) is refused: the first one is kept.
    second = send(dana, "proof", first, **GOOD_PROOF)
    assert (second["outcome"], second["reason"], second["message"]) == (
        "conflict",
        "proof_exists",
        "Stop 1 already has its proof of delivery.",
    )
    assert (DeliveryProof.objects.count(), len(stored_files(media))) == (1, 2)

    # The hand-over after its proof (the server refuses it without one).
    assert send(dana, "delivered", first, collected="55.01")["outcome"] == "applied"
    assert Sale.objects.count() == 1


def test_without_a_signature_the_driver_says_why_and_the_proof_shows_it(clock, route):
    dana = route["dana"].user
    first, *_ = stops(route)
    at_the_door(clock, dana, first)
    refused = send(dana, "proof", first, signed_name="", signature="")
    assert (refused["outcome"], refused["message"]) == (
        "conflict",
        "The customer signs on the screen; without a signature, say why (for example: refused to sign).",
    )
    answer = send(dana, "proof", first, no_signature_reason="Customer's hands full, refused to sign")
    assert answer["message"] == "Stop 1: proof of delivery kept (not signed)."
    proof = DeliveryProof.objects.get()
    assert (proof.signature.name, proof.photo.name, proof.no_signature_reason) == (
        "",
        "",
        "Customer's hands full, refused to sign",
    )


NOT_PNG = data_url("png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200)
TRUNCATED_PNG = data_url("png", SIGNATURE[: len(SIGNATURE) // 2])
HUGE = data_url("png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (201 * 1024))
TOO_WIDE = data_url("png", image_bytes("PNG", size=(2500, 10)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"signature": data_url("png", PHOTO)}, "The signature is not a PNG image."),
        ({"signature": data_url("jpeg", PHOTO)}, "The signature must be a PNG image."),
        ({"signature": "data:image/png;base64,@@@notbase64"}, "The signature could not be read."),
        ({"signature": NOT_PNG}, "The signature is damaged or not a PNG image."),
        ({"signature": TRUNCATED_PNG}, "The signature is damaged or not a PNG image."),
        ({"signature": HUGE}, "The signature is too large (at most 200 KB)."),
        ({"signature": TOO_WIDE}, "The signature is too large (at most 2000 pixels a side)."),
        ({"photo": data_url("jpeg", SIGNATURE)}, "The photo is not a JPEG image."),
        ({"photo": "https://example.org/a.jpg"}, "The photo must be a JPEG image."),
        (
            {"photo": data_url("jpeg", b"\xff\xd8\xff" + b"junk" * 30)},
            "The photo is damaged or not a JPEG image.",
        ),
        ({"signed_name": ""}, "Type the name of the person who signed."),
    ],
)
def test_a_bad_image_is_refused_in_plain_words_and_nothing_is_written(clock, route, media, changes, message):
    dana = route["dana"].user
    first, *_ = stops(route)
    at_the_door(clock, dana, first)
    answer = send(dana, "proof", first, **{**GOOD_PROOF, **changes})
    assert (answer["outcome"], answer["reason"], answer["message"]) == ("conflict", "invalid", message)
    assert (DeliveryProof.objects.count(), stored_files(media)) == (0, [])
    assert not AuditRecord.objects.filter(action="delivery_proof.recorded").exists()


def test_a_nul_byte_in_the_proof_is_refused_before_anything_is_stored(clock, route, media):
    dana = route["dana"].user
    first, *_ = stops(route)
    at_the_door(clock, dana, first)
    with pytest.raises(ValidationFailed) as error:
        send(dana, "proof", first, **{**GOOD_PROOF, "signed_name": "Ada\x00"})
    assert error.value.message == "The text contains a NUL character, which is not allowed."
    assert (DeliveryProof.objects.count(), DriverAction.objects.filter(kind="proof").count()) == (0, 0)
    assert stored_files(media) == []


def test_no_proof_before_the_id_check_nor_on_a_stop_not_delivered(clock, route, media):
    dana = route["dana"].user
    first, second, _ = stops(route)
    clock.move_to(local(14, 10))
    send(dana, "arrived", first)
    early = send(dana, "proof", first, **GOOD_PROOF)
    assert (early["outcome"], early["reason"]) == ("conflict", "out_of_order")
    send(dana, "arrived", second)
    send(dana, "returned", second, reason="nobody_home")
    late = send(dana, "proof", second, **GOOD_PROOF)
    assert (late["outcome"], late["reason"]) == ("conflict", "stop_closed")
    # Another driver's stop does not exist for Dana.
    eve_stop = route["other"].stops.get()
    with pytest.raises(NotFound):
        send(dana, "proof", eve_stop, **GOOD_PROOF)
    assert (DeliveryProof.objects.count(), stored_files(media)) == (0, [])


def image_url(proof, image):
    return reverse("delivery:proof_image", args=[proof.pk, image])


def viewed(proof) -> list[str]:
    return list(
        AuditRecord.objects.filter(
            action="customer.viewed", after__via__startswith=f"delivery proof {proof.pk} "
        )
        .order_by("pk")
        .values_list("after__via", flat=True)
    )


def test_only_the_store_managers_and_the_trip_driver_see_the_images_and_each_view_is_logged(
    client, delivered, route, manager, budtender, store
):
    proof = delivered
    order_id = proof.order.order_id
    client.force_login(manager)
    signature = client.get(image_url(proof, "signature"))
    assert (signature.status_code, signature["Content-Type"], signature.content) == (
        200,
        "image/png",
        SIGNATURE,
    )
    assert signature["Cache-Control"] == "private, no-store"
    photo = client.get(image_url(proof, "photo"))
    assert (photo.status_code, photo["Content-Type"], photo.content) == (200, "image/jpeg", PHOTO)
    client.force_login(route["dana"].user)
    assert client.get(image_url(proof, "signature")).status_code == 200
    assert viewed(proof) == [
        f"delivery proof {proof.pk} (signature), order {order_id}",
        f"delivery proof {proof.pk} (photo), order {order_id}",
        f"delivery proof {proof.pk} (signature), order {order_id}",
    ]
    record = AuditRecord.objects.filter(action="customer.viewed").order_by("pk").first()
    assert (record.actor_id, record.object_id, record.store_id) == (
        manager.pk,
        str(proof.order.order.customer_id),
        store.pk,
    )

    other_store = StoreFactory(organization=store.organization)
    elsewhere = UserFactory(organization=store.organization, roles=["manager"], stores=[other_store])
    stranger = UserFactory(roles=["owner"])
    for user in (route["eve"].user, budtender, elsewhere, stranger):
        client.force_login(user)
        assert client.get(image_url(proof, "signature")).status_code == 404
        assert client.get(image_url(proof, "photo")).status_code == 404
    client.force_login(manager)
    assert client.get(reverse("delivery:proof_image", args=[proof.pk, "licence"])).status_code == 404
    assert client.get(reverse("delivery:proof_image", args=[proof.pk + 999, "signature"])).status_code == 404
    assert client.get(f"/delivery/proofs/{2**64}/signature/").status_code == 404  # beyond 64 bits: no 500
    client.logout()
    assert client.get(image_url(proof, "signature")).status_code == 302
    assert len(viewed(proof)) == 3  # refusals read nothing and log nothing


def test_the_trip_page_shows_each_delivered_stop_with_its_proof(client, delivered, route, manager):
    client.force_login(manager)
    page = client.get(reverse("delivery:trip_detail", args=[route["trip"].pk])).content.decode()
    assert "Delivered 2:14 PM</strong>, signed by Ada Lovelace" in page
    assert f'src="{image_url(delivered, "signature")}"' in page
    assert f'src="{image_url(delivered, "photo")}"' in page
    assert "37.760100, -122.414700 (±12 m)" in page
    assert page.count('class="trip-proof"') == 1  # the stops still to deliver have none
    assert viewed(delivered) == []  # the page itself reads no image: each image's own request is logged


def test_the_receipt_says_when_and_who_signed_and_shows_the_signature_to_a_manager(
    client, delivered, manager, budtender
):
    sale = Sale.objects.get()
    client.force_login(manager)
    page = client.get(reverse("pos:receipt", args=[sale.pk])).content.decode()
    assert "Delivered Mar 10, 2026 2:14 PM PDT, signed by Ada Lovelace" in " ".join(page.split())
    assert f'src="{image_url(delivered, "signature")}"' in page
    client.force_login(budtender)
    page = client.get(reverse("pos:receipt", args=[sale.pk])).content.decode()
    assert "signed by Ada Lovelace" in page
    assert image_url(delivered, "signature") not in page  # a budtender may not see the signature itself


def test_the_audit_center_lists_the_proof_with_the_customer_and_the_day(delivered, manager, store):
    customer = delivered.order.order.customer
    record = patient_record(customer=customer, actor=manager, store=store)
    table = next(table for table in record.tables if table.title == "Proof of delivery")
    assert table.rows == [
        [
            table.rows[0][0],
            str(delivered.order.order_id),
            f"{customer.first_name} {customer.last_name}",
            f"Trip {delivered.stop.trip_id}, stop 1",
            table.rows[0][4],
            "Ada Lovelace",
            "yes",
            "37.760100, -122.414700 (±12 m)",
        ]
    ]
    assert table.links == [image_url(delivered, "signature")]
    day = day_record(store=store, day=local(14, 14).date())
    assert [t.rows for t in day.tables if t.title == "Proof of delivery"] == [table.rows]


def test_the_signature_pad_is_vendored_and_kept_for_offline_use(client, route):
    from django.conf import settings

    folder = Path(settings.BASE_DIR) / "static" / "vendor" / "signature_pad-5.1.4"
    assert (folder / "LICENSE").read_text().startswith("MIT License")
    assert (folder / "signature_pad.umd.min.js").read_text().startswith("/*!\n * Signature Pad v5.1.4")
    client.force_login(route["dana"].user)
    assert b"vendor/signature_pad-5.1.4/signature_pad.umd.min.js" in client.get("/delivery/driver/").content
    worker = client.get("/delivery/driver/sw.js").content
    assert b"vendor/signature_pad-5.1.4/signature_pad.umd.min.js" in worker


def test_the_phone_downloads_who_signed_never_the_images(delivered, route, django_assert_max_num_queries):
    trips = driver_trip_list(user=route["dana"].user)
    with django_assert_max_num_queries(6):
        data = driver_trip_data(trips)
    proofs = [stop["proof"] for stop in data["trips"][0]["stops"]]
    assert proofs == [{"signed_name": "Ada Lovelace", "captured_at": "2026-03-10T21:14:00+00:00"}, None, None]


def test_a_phone_sized_photo_goes_through_the_sync_endpoint_and_an_oversized_body_is_refused(
    client, clock, route, media
):
    import json
    import random

    dana = route["dana"].user
    first, *_ = stops(route)
    at_the_door(clock, dana, first)
    # What the phone sends at worst: 1280 x 960 of noise (nothing compresses it) as JPEG 0.7.
    noise = random.Random(13)
    picture = Image.frombytes("RGB", (1280, 960), bytes(noise.getrandbits(8) for _ in range(1280 * 960 * 3)))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=70)
    assert 500_000 < len(buffer.getvalue()) < 1024 * 1024
    action = {
        "key": str(uuid.uuid4()),
        "kind": "proof",
        "stop_id": first.pk,
        "payload": {**GOOD_PROOF, "photo": data_url("jpeg", buffer.getvalue())},
    }
    client.force_login(dana)
    answer = client.post("/delivery/driver/sync/", {"actions": [action]}, content_type="application/json")
    assert (answer.status_code, answer.json()["results"][0]["outcome"]) == (200, "applied")
    with DeliveryProof.objects.get().photo.open("rb") as handle:
        assert handle.read() == buffer.getvalue()

    too_big = {**action, "key": str(uuid.uuid4()), "payload": {"photo": "x" * (3 * 1024 * 1024)}}
    refused = client.post(
        "/delivery/driver/sync/", json.dumps({"actions": [too_big]}), content_type="application/json"
    )
    assert (
        refused.status_code == 413
    )  # too large for one request: the phone then sends the proof without its photo
    assert (DeliveryProof.objects.count(), len(stored_files(media))) == (1, 2)
