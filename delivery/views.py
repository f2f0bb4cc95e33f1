"""Delivery pages: the driver's start page, and the manager's zones screen per store (zones with fee, minimum
and time on a map where they are drawn or imported as GeoJSON, excluded places, the week's delivery hours)."""

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compliance.selectors import jurisdiction_rules_get
from delivery.forms import ExclusionForm, PointCheckForm, ZoneForm, ZoneImportForm
from delivery.models import DeliveryExclusion, DeliveryZone
from delivery.selectors import (
    delivery_exclusion_list,
    delivery_quote_get,
    delivery_week_hours,
    delivery_zone_list,
    driver_shifts_for_user,
)
from delivery.services import (
    delivery_exclusion_create,
    delivery_exclusion_remove,
    delivery_zone_create,
    delivery_zone_update,
    delivery_zones_import,
)
from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError
from dispensary.models import Store
from dispensary.roles import Role
from dispensary.selectors import user_can_access_store
from dispensary.views.access import can_see_driver_home, staff_view, user_roles
from dispensary.views.stores import store_today

LEAFLET_VERSION = "1.9.4"  # static/vendor/leaflet-<version>/, refreshed by scripts/vendor_leaflet.sh
ZONE_MANAGERS = {Role.OWNER, Role.MANAGER}


@staff_view(allow=can_see_driver_home)
def driver_home(request):
    stores = [store_today(store) for store in request.accessible_stores]
    # The member's own shifts only (today's and the next ones): never another driver's.
    shifts = list(driver_shifts_for_user(user=request.user)[:5])
    return render(request, "delivery/driver_home.html", {"stores": stores, "shifts": shifts})


def can_manage_zones(user) -> bool:
    """Owners and managers set where their stores deliver (each store only where they work: see _store_get)."""
    return user.is_superuser or bool(user_roles(user) & ZONE_MANAGERS)


def _store_get(request, store_id: int) -> Store:
    """The store, when the member manages delivery there: object-level, 403 for a store of theirs they do not
    work at or of another organization (not 404, which would tell them nothing they may not know)."""
    store = get_object_or_404(Store.objects.select_related("organization"), pk=store_id, is_active=True)
    if not user_can_access_store(request.user, store):
        raise PermissionDenied
    return store


@staff_view(allow=can_manage_zones)
def zones_current(request):
    """The zones screen of the store the member is working at."""
    return redirect("delivery:zones", store_id=request.store.pk)


def _zone_map_data(store, zones, places, editing: DeliveryZone | None) -> dict:
    return {
        "store": {
            "name": store.name,
            "latitude": float(store.latitude) if store.latitude is not None else None,
            "longitude": float(store.longitude) if store.longitude is not None else None,
        },
        "zones": [
            {
                "id": zone.pk,
                "name": zone.name,
                "geometry": zone.geometry,
                "active": zone.is_active,
                "label": f"{zone.name}: ${zone.fee} fee, ${zone.minimum_order} minimum, {zone.estimated_minutes} min",
            }
            for zone in zones
        ],
        "places": [
            {
                "name": place.name,
                "kind": place.get_kind_display(),
                "latitude": float(place.latitude) if place.latitude is not None else None,
                "longitude": float(place.longitude) if place.longitude is not None else None,
                "radius_m": place.radius_m,
                "geometry": place.geometry,
            }
            for place in places
        ],
        "editing": editing.pk if editing else None,
        "tiles": {
            "url": settings.DELIVERY_MAP_TILE_URL,
            "attribution": settings.DELIVERY_MAP_TILE_ATTRIBUTION,
        },
    }


def _checked_point(form) -> dict:
    return {
        "latitude": float(form.cleaned_data["latitude"]),
        "longitude": float(form.cleaned_data["longitude"]),
    }


def _render(
    request,
    store,
    *,
    zone_form=None,
    editing=None,
    place_form=None,
    import_form=None,
    report=None,
    check_form=None,
    quote=None,
    status=200,
):
    zones = list(delivery_zone_list(store=store))
    places = list(delivery_exclusion_list(store=store))
    if zone_form is None:
        if editing is not None:
            zone_form = ZoneForm(
                initial={
                    "name": editing.name,
                    "minimum_order": editing.minimum_order,
                    "fee": editing.fee,
                    "estimated_minutes": editing.estimated_minutes,
                    "is_active": editing.is_active,
                    "geometry": json.dumps(editing.geometry),
                }
            )
        else:
            zone_form = ZoneForm(initial={"is_active": True, "estimated_minutes": 45})
    context = {
        "store": store,
        "zones": zones,
        "places": places,
        "editing": editing,
        "zone_form": zone_form,
        "place_form": place_form or ExclusionForm(initial={"radius_m": 300}),
        "import_form": import_form or ZoneImportForm(),
        "report": report,
        "check_form": check_form or PointCheckForm(initial={"order_value": 50}),
        "quote": quote,
        "week": delivery_week_hours(store, store_local_date(store)),
        "state_name": jurisdiction_rules_get(
            jurisdiction=store.jurisdiction, on=store_local_date(store)
        ).name,
        "map_data": {
            **_zone_map_data(store, zones, places, editing),
            "check": _checked_point(check_form) if quote is not None else None,
        },
        "leaflet": f"vendor/leaflet-{LEAFLET_VERSION}",
    }
    return render(request, "delivery/zones.html", context, status=status)


@staff_view(allow=can_manage_zones, store_required=False)
@require_http_methods(["GET", "POST"])
def zones(request, store_id: int):
    """The list, the map and the new-zone form (POST adds a zone)."""
    store = _store_get(request, store_id)
    if request.method == "GET":
        return _render(request, store)
    form = ZoneForm(request.POST)
    if form.is_valid():
        try:
            zone = delivery_zone_create(store=store, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"Zone {zone.name} added.")
            return redirect("delivery:zones", store_id=store.pk)
    return _render(request, store, zone_form=form, status=400)


@staff_view(allow=can_manage_zones, store_required=False)
@require_http_methods(["GET", "POST"])
def zone_edit(request, store_id: int, zone_id: int):
    store = _store_get(request, store_id)
    zone = get_object_or_404(DeliveryZone, pk=zone_id, store=store)
    if request.method == "GET":
        return _render(request, store, editing=zone)
    form = ZoneForm(request.POST)
    if form.is_valid():
        try:
            delivery_zone_update(zone=zone, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"Zone {form.cleaned_data['name']} saved.")
            return redirect("delivery:zones", store_id=store.pk)
    return _render(request, store, zone_form=form, editing=zone, status=400)


@staff_view(allow=can_manage_zones, store_required=False)
@require_POST
def zones_import(request, store_id: int):
    """Check (dry run) or import a GeoJSON FeatureCollection; either way the report lists every refusal."""
    store = _store_get(request, store_id)
    form = ZoneImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, store, import_form=form, status=400)
    dry_run = request.POST.get("action") != "import"
    report = delivery_zones_import(
        store=store, actor=request.user, data=form.cleaned_data["document"], dry_run=dry_run
    )
    if report.written:
        messages.success(
            request, f"{len(report.features)} zone{'s' if len(report.features) != 1 else ''} imported."
        )
        return redirect("delivery:zones", store_id=store.pk)
    return _render(request, store, import_form=form, report=report, status=200 if report.ok else 422)


@staff_view(allow=can_manage_zones, store_required=False)
@require_POST
def exclusion_add(request, store_id: int):
    store = _store_get(request, store_id)
    form = ExclusionForm(request.POST)
    if form.is_valid():
        try:
            place = delivery_exclusion_create(store=store, actor=request.user, **form.service_arguments())
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            where = f"within {place.radius_m} m" if place.radius_m else "in its area"
            messages.success(request, f"{place.name} added: no deliveries {where}.")
            return redirect(reverse("delivery:zones", kwargs={"store_id": store.pk}) + "#places")
    return _render(request, store, place_form=form, status=400)


@staff_view(allow=can_manage_zones, store_required=False)
@require_POST
def exclusion_remove(request, store_id: int, place_id: int):
    store = _store_get(request, store_id)
    place = get_object_or_404(DeliveryExclusion, pk=place_id, store=store)
    delivery_exclusion_remove(place=place, actor=request.user)
    messages.success(request, f"{place.name} removed from the excluded places.")
    return redirect(reverse("delivery:zones", kwargs={"store_id": store.pk}) + "#places")


@staff_view(allow=can_manage_zones, store_required=False)
@require_GET
def point_check(request, store_id: int):
    """Judge a point (clicked on the map or typed) as a delivery address: the zone, fee and time that apply,
    or every reason it is refused. Reads only."""
    store = _store_get(request, store_id)
    form = PointCheckForm(request.GET)
    if not form.is_valid():
        return _render(request, store, check_form=form, status=400)
    data = form.cleaned_data
    quote = delivery_quote_get(
        store=store,
        latitude=data["latitude"],
        longitude=data["longitude"],
        order_value=data["order_value"],
        line1=data["line1"],
    )
    return _render(request, store, check_form=form, quote=quote)
