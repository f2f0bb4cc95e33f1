"""The driver's phone app: the page (an installable web app that works offline), its service worker and web
manifest, the signed-in driver's trips as JSON, and the sync endpoint the phone replays its queued actions to.
Every trip and stop is the signed-in driver's own: anything else answers 404."""

import json

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from delivery.driver_app import (
    driver_actions_apply,
    driver_profile_for_user,
    driver_trip_data,
    driver_trip_get,
    driver_trip_list,
)
from dispensary.errors import ApplicationError, NotFound
from dispensary.views.access import staff_view

WORKBOX_VERSION = "7.4.1"  # static/vendor/workbox-<version>/, refreshed by scripts/vendor_workbox.sh


def is_driver(user) -> bool:
    """The app is for members with a driver's profile; everyone else has no trips here."""
    return driver_profile_for_user(user) is not None


@never_cache
@require_GET
@staff_view(allow=is_driver, store_required=False)
def driver_app(request):
    return render(request, "delivery/driver/app.html", {})


@never_cache
@require_GET
@staff_view(allow=is_driver, store_required=False)
def driver_today_json(request):
    trips = driver_trip_list(user=request.user)
    return JsonResponse(driver_trip_data(trips))


@never_cache
@require_GET
@staff_view(store_required=False)
def driver_trip_json(request, trip_id: int):
    try:
        trip = driver_trip_get(user=request.user, trip_id=trip_id)
    except NotFound:
        raise Http404 from None
    return JsonResponse(driver_trip_data([trip]))


@never_cache
@require_POST
@staff_view(store_required=False)
def driver_sync(request):
    """The phone's queued actions, in order: {"actions": [{key, kind, stop_id | trip_id, payload, happened_at}]}.
    Each answer says applied, conflict (with the message and what to do), invalid or not found; replays of a
    key answer what the first copy did."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"code": "invalid", "message": "Send JSON."}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"code": "invalid", "message": "Send a JSON object."}, status=400)
    if driver_profile_for_user(request.user) is None:
        raise Http404
    try:
        results = driver_actions_apply(user=request.user, actions=body.get("actions"))
    except ApplicationError as error:
        return JsonResponse(
            {"code": error.code, "message": error.message, "details": error.details}, status=error.status
        )
    return JsonResponse({"results": results})


@require_GET
def driver_service_worker(request):
    """The worker is served from the app's own path so that its scope is the app (/delivery/driver/)."""
    body = render_to_string("delivery/driver/sw.js", {"workbox": f"vendor/workbox-{WORKBOX_VERSION}"})
    response = HttpResponse(body, content_type="application/javascript")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def driver_manifest(request):
    body = render_to_string("delivery/driver/manifest.webmanifest", {})
    return HttpResponse(body, content_type="application/manifest+json")


urlpatterns = [
    path("driver/", driver_app, name="driver_app"),
    path("driver/today.json", driver_today_json, name="driver_today_json"),
    path("driver/trips/<int:trip_id>.json", driver_trip_json, name="driver_trip_json"),
    path("driver/sync/", driver_sync, name="driver_sync"),
    path("driver/sw.js", driver_service_worker, name="driver_service_worker"),
    path("driver/manifest.webmanifest", driver_manifest, name="driver_manifest"),
]
