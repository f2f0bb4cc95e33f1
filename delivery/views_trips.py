"""The trip page (stops, packages, the state's records and their status, the actions allowed now), its
actions (send, retry the state's records, depart, cancel before departure) and the printable manifest. The
store's owners and managers act; the trip's own driver reads; anyone else gets 403."""

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from delivery.manifest import trip_manifest_pdf
from delivery.selectors_trips import trip_access, trip_page_stops
from delivery.services_closing import trip_balance
from delivery.services_trips import (
    trip_cancel_sent,
    trip_depart,
    trip_departure_refusal,
    trip_retry_state,
    trip_send,
)
from delivery.state_records import trip_carried
from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view


@staff_view(store_required=False)
@require_GET
def trip_detail(request, trip_id: int):
    trip, may_manage = trip_access(user=request.user, trip_id=trip_id)
    stops = trip_page_stops(trip)
    prefetch_related_objects(stops, "proof")  # each delivered stop's proof of delivery: one query
    with timezone.override(trip.store.tz):
        return render(
            request,
            "delivery/trips/detail.html",
            {
                "trip": trip,
                "store": trip.store,
                "stops": stops,
                "carried": list(trip_carried(stops).items()),
                "read_only": not may_manage,
                "departure_refusal": trip_departure_refusal(trip) if trip.status == "sent" else None,
                # The trip's return: what left, was sold and came back, and the cash (on the road and after).
                "balance": trip_balance(trip) if trip.status in ("departed", "returned") else None,
            },
        )


def _back(request, trip) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("delivery:trip_detail", kwargs={"trip_id": trip.pk})


def _action(request, trip_id: int, service, done: str, **extra):
    trip, _ = trip_access(user=request.user, trip_id=trip_id, manage=True)
    try:
        service(trip=trip, by=request.user, version=request.POST.get("version"), **extra)
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect(_back(request, trip))


@staff_view(store_required=False)
@require_POST
def trip_send_view(request, trip_id: int):
    return _action(
        request, trip_id, trip_send, "Trip sent to the driver; the state's records are being filed."
    )


@staff_view(store_required=False)
@require_POST
def trip_retry_view(request, trip_id: int):
    return _action(request, trip_id, trip_retry_state, "The trip's records were sent to the state again.")


@staff_view(store_required=False)
@require_POST
def trip_depart_view(request, trip_id: int):
    return _action(request, trip_id, trip_depart, "The trip left the store.")


@staff_view(store_required=False)
@require_POST
def trip_cancel_view(request, trip_id: int):
    return _action(
        request,
        trip_id,
        trip_cancel_sent,
        "Trip cancelled; its orders wait for another trip.",
        reason=request.POST.get("reason", "")[:500],
    )


@staff_view(store_required=False)
@require_GET
def trip_manifest(request, trip_id: int):
    trip, _ = trip_access(user=request.user, trip_id=trip_id)
    pdf = trip_manifest_pdf(trip, trip_page_stops(trip))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="trip-{trip.pk}-manifest.pdf"'
    return response


urlpatterns = [
    path("trips/<int:trip_id>/", trip_detail, name="trip_detail"),
    path("trips/<int:trip_id>/send/", trip_send_view, name="trip_send"),
    path("trips/<int:trip_id>/retry/", trip_retry_view, name="trip_retry"),
    path("trips/<int:trip_id>/depart/", trip_depart_view, name="trip_depart"),
    path("trips/<int:trip_id>/cancel/", trip_cancel_view, name="trip_cancel"),
    path("trips/<int:trip_id>/manifest.pdf", trip_manifest, name="trip_manifest"),
]
