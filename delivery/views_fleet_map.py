"""Live tracking on the dispatch board: the fleet map's JSON (polled every 15 s by the board), and a manager
acknowledging an alert. The same people as the board (owners and managers of the store, members given
`delivery.change_trip`), object-level by store: anyone else gets 403."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from delivery.services_tracking import tracking_alert_acknowledge
from delivery.tracking import fleet_for_day
from delivery.views import _store_get
from delivery.views_dispatch import _day, can_dispatch
from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view


@never_cache
@staff_view(allow=can_dispatch)
@require_GET
def fleet_json(request, store_id: int):
    """Every driver on the road on the day (default today): position and its age, the route still to drive,
    the next stop, each remaining stop's arrival in words, and the alerts not acknowledged yet."""
    store = _store_get(request, store_id)
    return JsonResponse(fleet_for_day(store, _day(request, store)))


@staff_view(allow=can_dispatch)
@require_POST
def tracking_alert_acknowledge_view(request, store_id: int, alert_id: int):
    store = _store_get(request, store_id)
    try:
        alert = tracking_alert_acknowledge(alert_id=alert_id, store=store, by=request.user)
        messages.success(request, f"Alert acknowledged: {alert.get_kind_display()} (trip {alert.trip_id}).")
    except ApplicationError as error:
        messages.error(request, error.message)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(reverse("delivery:dispatch", kwargs={"store_id": store.pk}))


urlpatterns = [
    path("stores/<int:store_id>/dispatch/fleet.json", fleet_json, name="fleet_json"),
    path(
        "stores/<int:store_id>/tracking/alerts/<int:alert_id>/acknowledge/",
        tracking_alert_acknowledge_view,
        name="tracking_alert_acknowledge",
    ),
]
