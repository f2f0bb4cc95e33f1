"""The customer's tracking page and its refresh, by the link's token alone (no login): a token that is not ours
answers 404 with no hint. Never cached, never indexed, and no Referer leaves it; each address may ask
DELIVERY_TRACKING_RATE_PER_MINUTE times a minute (then 429), on top of the token's 144 bits."""

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from delivery.selectors_tracking import tracking_data, tracking_get
from delivery.views import LEAFLET_VERSION
from dispensary.client_address import client_address
from dispensary.phones import phone_display

REFRESH_SECONDS = 20


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _over_rate(request) -> bool:
    key = f"delivery-tracking-rate:{client_address(request)}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    return count > settings.DELIVERY_TRACKING_RATE_PER_MINUTE


def _refused(request, status: int, *, json: bool) -> HttpResponse:
    message = (
        "Too many requests: try again in a minute."
        if status == 429
        else "This tracking link is not valid, or it has expired."
    )
    if json:
        response = JsonResponse({"code": "not_found" if status == 404 else "throttled", "message": message})
        response.status_code = status
    else:
        response = render(request, "delivery/tracking/missing.html", {"message": message}, status=status)
    if status == 429:
        response["Retry-After"] = "60"
    return _private(response)


@never_cache
@require_GET
def tracking_page(request, token: str):
    if _over_rate(request):
        return _refused(request, 429, json=False)
    tracking = tracking_get(token=token, now=timezone.now())
    if tracking is None:
        return _refused(request, 404, json=False)
    data = tracking_data(tracking)
    context = {
        "tracking": tracking,
        "data": data,
        "store_phone": phone_display(tracking.store_phone) if tracking.store_phone else "",
        "refresh_url": reverse("delivery:tracking_status", kwargs={"token": token}),
        "refresh_seconds": REFRESH_SECONDS,
        "leaflet": f"vendor/leaflet-{LEAFLET_VERSION}",
        "tiles": {
            "url": settings.DELIVERY_MAP_TILE_URL,
            "attribution": settings.DELIVERY_MAP_TILE_ATTRIBUTION,
        },
    }
    return _private(render(request, "delivery/tracking/page.html", context))


@never_cache
@require_GET
def tracking_status(request, token: str):
    if _over_rate(request):
        return _refused(request, 429, json=True)
    tracking = tracking_get(token=token, now=timezone.now())
    if tracking is None:
        return _refused(request, 404, json=True)
    return _private(JsonResponse(tracking_data(tracking)))


urlpatterns = [
    path("t/<str:token>/", tracking_page, name="tracking"),
    path("t/<str:token>/status.json", tracking_status, name="tracking_status"),
]
