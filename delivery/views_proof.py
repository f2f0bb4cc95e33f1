"""The proof of delivery's images for the people allowed to see them (the store's owners and managers, the
trip's driver): streamed from storage through this view only, never by a public address; each view is logged as
a read of the customer's record. Anyone else gets a 404."""

from django.http import Http404, HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from delivery.proofs import CONTENT_TYPES, delivery_proof_image_get
from dispensary.errors import NotFound
from dispensary.views.access import staff_view


@staff_view(store_required=False)
@require_GET
def delivery_proof_image(request, proof_id: int, image: str):
    try:
        proof, data = delivery_proof_image_get(user=request.user, proof_id=proof_id, image=image)
    except NotFound:
        raise Http404 from None
    response = HttpResponse(data, content_type=CONTENT_TYPES[image])
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="delivery-{proof.order_id}-{image}"'
    return response


urlpatterns = [
    path("proofs/<id:proof_id>/<str:image>/", delivery_proof_image, name="proof_image"),
]
