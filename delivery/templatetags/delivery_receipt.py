"""The proof of delivery on a sale's receipt: "Delivered <time>, signed by <name>", and the signature for those
who may see it (the store's managers and the trip's driver; each image load is logged by its view). A template
tag, so that the receipt (pos, a lower floor) needs no import of delivery."""

from django import template
from django.utils import timezone

from delivery.proofs import delivery_proof_for_sale, delivery_proof_may_view

register = template.Library()


@register.inclusion_tag("delivery/_receipt_proof.html", takes_context=True)
def delivery_proof_on_receipt(context, sale_id: int) -> dict:
    proof = delivery_proof_for_sale(sale_id=sale_id)
    if proof is None:
        return {"proof": None}
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "proof": proof,
        "local_time": timezone.localtime(proof.captured_at, proof.stop.trip.store.tz),
        "show_signature": bool(proof.signature) and user is not None and delivery_proof_may_view(user, proof),
    }
