"""The trip's return (issue 13 part 6): the store's managers end a trip that is back, with the cash counted;
the reconciliation itself shows on the trip page (templates/delivery/trips/_trip_return.html)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from delivery.selectors_trips import trip_access
from delivery.services_closing import trip_end
from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view


@staff_view(store_required=False)
@require_POST
def trip_end_view(request, trip_id: int):
    trip, _ = trip_access(user=request.user, trip_id=trip_id, manage=True)
    try:
        ended = trip_end(
            trip=trip,
            by=request.user,
            counted_cash=request.POST.get("counted_cash", "").strip(),
            # The form sends what the manager counted against; an older form sends the trip's version.
            balance_seen=request.POST.get("balance") or None,
            version=None if request.POST.get("balance") else request.POST.get("version"),
            note=request.POST.get("note", "")[:500],
        )
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        session_note = (
            f"Trip {ended.pk} ended: the cash is counted and the goods not delivered are back in stock."
        )
        messages.success(request, session_note)
    return redirect(reverse("delivery:trip_detail", kwargs={"trip_id": trip.pk}) + "#trip-return")


urlpatterns = [
    path("trips/<int:trip_id>/end/", trip_end_view, name="trip_end"),
]
