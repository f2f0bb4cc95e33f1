"""Proof of delivery: the customer's signature (PNG) and a photo (JPEG) the driver's phone captured at the door,
with the time and the phone's position. The phone sends them as data URLs in a `proof` action (queued offline
like every action and applied once under its key, see delivery.driver_app); here they are checked (a real PNG or
JPEG by its first bytes and by Pillow, within size limits) before anything is written, stored in the default
storage under random names, and read back only by the store's managers and the trip's driver, each read logged
as a read of the customer's record."""

import base64
import binascii
import io
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from PIL import Image, UnidentifiedImageError

from delivery.models import DeliveryProof, TripStop
from delivery.selectors_trips import trip_may_manage
from dispensary.audit import audit_record
from dispensary.errors import NotFound, ValidationFailed
from dispensary.inputs import text_problem
from dispensary.selectors import customer_record_viewed

SIGNATURE_MAX_BYTES = 200 * 1024
PHOTO_MAX_BYTES = 1024 * 1024
SIGNATURE_MAX_SIDE = 2000
PHOTO_MAX_SIDE = 2048  # the phone shrinks to 1280 px; a little room for phones that round differently
IMAGE_KINDS = {
    "signature": (
        "PNG",
        b"\x89PNG\r\n\x1a\n",
        "data:image/png;base64,",
        SIGNATURE_MAX_BYTES,
        SIGNATURE_MAX_SIDE,
    ),
    "photo": ("JPEG", b"\xff\xd8\xff", "data:image/jpeg;base64,", PHOTO_MAX_BYTES, PHOTO_MAX_SIDE),
}
CONTENT_TYPES = {"signature": "image/png", "photo": "image/jpeg"}
EXTENSIONS = {"signature": "png", "photo": "jpg"}


@dataclass(frozen=True)
class ProofInput:
    signature: bytes | None
    photo: bytes | None
    signed_name: str
    no_signature_reason: str
    latitude: Decimal | None
    longitude: Decimal | None
    accuracy_m: int | None


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


def image_decode(field: str, raw) -> bytes | None:
    """A data URL from the phone as the image's bytes, or None when absent; anything but a real PNG signature or
    JPEG photo within its limits is refused with a plain message."""
    if raw in (None, ""):
        return None
    image_format, magic, prefix, max_bytes, max_side = IMAGE_KINDS[field]
    label = "signature" if field == "signature" else "photo"
    if not isinstance(raw, str) or not raw.startswith(prefix):
        raise _refuse(field, f"The {label} must be a {image_format} image.")
    encoded = raw[len(prefix) :]
    if len(encoded) > (max_bytes * 4) // 3 + 4:
        raise _refuse(field, f"The {label} is too large (at most {max_bytes // 1024} KB).")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(field, f"The {label} could not be read.") from None
    if len(data) > max_bytes:
        raise _refuse(field, f"The {label} is too large (at most {max_bytes // 1024} KB).")
    if not data.startswith(magic):
        raise _refuse(field, f"The {label} is not a {image_format} image.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != image_format:
                raise _refuse(field, f"The {label} is not a {image_format} image.")
            width, height = image.size
            if max(width, height) > max_side or min(width, height) < 1:
                raise _refuse(field, f"The {label} is too large (at most {max_side} pixels a side).")
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # verify() checks the structure; decoding the pixels finds truncated files
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refuse(field, f"The {label} is damaged or not a {image_format} image.") from None
    return data


def _decimal(raw, limit: int) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and abs(value) <= limit else None


def proof_input_parse(payload: dict) -> ProofInput:
    """The proof action's payload, checked whole before anything is stored."""
    signature = image_decode("signature", payload.get("signature"))
    photo = image_decode("photo", payload.get("photo"))
    signed_name = str(payload.get("signed_name") or "").strip()[:120]
    reason = str(payload.get("no_signature_reason") or "").strip()[:300]
    for field, text in (("signed_name", signed_name), ("no_signature_reason", reason)):
        problem = text_problem(text)
        if problem:
            raise _refuse(field, problem)
    if signature is None and not reason:
        raise _refuse(
            "signature",
            "The customer signs on the screen; without a signature, say why (for example: refused to sign).",
        )
    if signature is not None and not signed_name:
        raise _refuse("signed_name", "Type the name of the person who signed.")
    try:
        accuracy = int(float(payload.get("accuracy"))) if payload.get("accuracy") not in (None, "") else None
    except (TypeError, ValueError, OverflowError):
        accuracy = None
    return ProofInput(
        signature=signature,
        photo=photo,
        signed_name=signed_name,
        no_signature_reason="" if signature is not None else reason,
        latitude=_decimal(payload.get("latitude"), 90),
        longitude=_decimal(payload.get("longitude"), 180),
        accuracy_m=accuracy if accuracy is not None and 0 <= accuracy < 1_000_000 else None,
    )


def _store_file(field: str, data: bytes) -> str:
    name = f"delivery-proofs/{secrets.token_urlsafe(24)}.{EXTENSIONS[field]}"
    return default_storage.save(name, ContentFile(data))


def delivery_proof_record(*, stop: TripStop, driver, proof: ProofInput, captured_at, user) -> DeliveryProof:
    """Store the stop's proof (the caller holds the stop's row locked and has checked the stop is the driver's).
    The files are written first, under random names, and deleted again if the row cannot be written."""
    names: list[str] = []
    try:
        signature_name = _store_file("signature", proof.signature) if proof.signature else ""
        names.append(signature_name)
        photo_name = _store_file("photo", proof.photo) if proof.photo else ""
        names.append(photo_name)
        with transaction.atomic():
            record = DeliveryProof.objects.create(
                stop=stop,
                order=stop.order,
                driver=driver,
                signature=signature_name,
                photo=photo_name,
                signed_name=proof.signed_name,
                no_signature_reason=proof.no_signature_reason,
                captured_at=captured_at,
                latitude=proof.latitude,
                longitude=proof.longitude,
                accuracy_m=proof.accuracy_m,
            )
            audit_record(
                actor=user,
                action="delivery_proof.recorded",
                instance=record,
                after={
                    "stop_id": stop.pk,
                    "order_id": stop.order.order_id,
                    "signed": bool(signature_name),
                    "photo": bool(photo_name),
                    "no_signature_reason": proof.no_signature_reason,
                },
                organization=stop.trip.store.organization,
                store=stop.trip.store,
            )
    except (DatabaseError, OSError):
        for name in names:
            if name:
                default_storage.delete(name)
        raise
    return record


# --- Reads --------------------------------------------------------------------------------------------------------


def delivery_proof_may_view(user, proof: DeliveryProof) -> bool:
    """The store's owners and managers, and the trip's own driver."""
    trip = proof.stop.trip
    if not getattr(user, "is_authenticated", False):
        return False
    if trip.organization_id != user.organization_id and not user.is_superuser:
        return False
    return trip_may_manage(user, trip) or trip.driver.user_id == user.pk


def delivery_proof_image_get(*, user, proof_id: int, image: str) -> tuple[DeliveryProof, bytes]:
    """One of a proof's images for someone allowed to see it, logged as a read of the customer's record;
    NotFound for anyone else (and for an image the proof does not have)."""
    if image not in IMAGE_KINDS:
        raise NotFound("No such image.")
    proof = (
        DeliveryProof.objects.filter(pk=proof_id)
        .select_related("stop__trip__store__organization", "stop__trip__driver", "order__order__customer")
        .first()
    )
    if proof is None or not delivery_proof_may_view(user, proof):
        raise NotFound("No such image.")
    stored = getattr(proof, image)
    if not stored:
        raise NotFound("No such image.")
    with default_storage.open(stored.name, "rb") as handle:
        data = handle.read()
    customer_record_viewed(
        customer=proof.order.order.customer,
        actor=user,
        store=proof.stop.trip.store,
        via=f"delivery proof {proof.pk} ({image}), order {proof.order.order_id}",
    )
    return proof, data


def delivery_proof_for_sale(*, sale_id: int) -> DeliveryProof | None:
    """The proof of the stop whose hand-over became this sale (the receipt's line), if any."""
    return (
        DeliveryProof.objects.filter(stop__visit__sale_id=sale_id)
        .select_related("stop__trip__store", "stop__trip__driver")
        .first()
    )
