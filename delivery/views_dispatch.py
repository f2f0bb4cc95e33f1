"""The dispatch board (managers, and members granted the dispatch permission `delivery.change_trip`, at the
stores they work at): a day's waiting orders, the drivers on shift and their routes on a map; plan all waiting
orders, put an order on a route, move or remove it, lock, unlock and cancel a route. Each form carries the
route's version as the board showed it: a stale one changes nothing and says so."""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from delivery.models import DeliveryOrder, DriverShift, Trip
from delivery.selectors_dispatch import dispatch_board_get
from delivery.services_dispatch import (
    dispatch_assign,
    dispatch_move,
    dispatch_plan,
    dispatch_remove,
    dispatch_start_route,
    trip_cancel,
    trip_lock,
    trip_unlock,
)
from delivery.tracking import fleet_for_day
from delivery.views import LEAFLET_VERSION, ZONE_MANAGERS, _store_get
from delivery.views_analytics import can_see_delivery_analytics
from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view, user_roles

DISPATCH_PERMISSION = "delivery.change_trip"


def can_dispatch(user) -> bool:
    """Owners and managers, and any member whose role was given the dispatch permission; object-level: only
    at the stores they work at (see _store_get)."""
    return user.is_superuser or bool(user_roles(user) & ZONE_MANAGERS) or user.has_perm(DISPATCH_PERMISSION)


def _day(request, store) -> dt.date:
    raw = request.POST.get("day") or request.GET.get("day") or ""
    try:
        return dt.date.fromisoformat(raw) if raw else store_local_date(store)
    except ValueError:
        return store_local_date(store)


def _back(store, day: dt.date):
    return redirect(f"{reverse('delivery:dispatch', kwargs={'store_id': store.pk})}?day={day.isoformat()}")


def _refused(request, error: ApplicationError) -> None:
    reasons = [reason for reason in error.details.get("reasons", []) if reason != error.message]
    messages.error(request, " ".join([error.message, *reasons]))


def _trip_version(raw: str) -> tuple[int, int] | None:
    """A target route as the board's select sends it: "<trip id>:<version>"."""
    try:
        trip_id, version = (int(part) for part in (raw or "").split(":"))
    except ValueError:
        return None
    return trip_id, version


def _int(raw) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


@staff_view(allow=can_dispatch)
@require_GET
def dispatch_current(request):
    return redirect("delivery:dispatch", store_id=request.store.pk)


@staff_view(allow=can_dispatch)
@require_GET
def dispatch_board(request, store_id: int):
    store = _store_get(request, store_id)
    day = _day(request, store)
    board = dispatch_board_get(store=store, day=day)
    today = store_local_date(store)
    # Live tracking: the trips on the road with their positions, arrivals and alerts (no query without one).
    on_road = any(card.trip.status == Trip.Status.DEPARTED for card in board.cards)
    fleet = (
        fleet_for_day(store, day, colours={card.trip.pk: (card.colour, card.number) for card in board.cards})
        if on_road
        else {"drivers": []}
    )
    live = {row["trip"]: row for row in fleet["drivers"]}
    for card in board.cards:
        card.live = live.get(card.trip.pk)
        rows = {row["id"]: row for row in card.live["stops"]} if card.live else {}
        for stop in card.stops:
            stop.live = rows.get(stop.pk)
    map_data = board.map_data()
    map_data["fleet"] = fleet
    map_data["fleet_url"] = (
        reverse("delivery:fleet_json", kwargs={"store_id": store.pk}) + f"?day={day.isoformat()}"
    )
    map_data["tiles"] = {
        "url": settings.DELIVERY_MAP_TILE_URL,
        "attribution": settings.DELIVERY_MAP_TILE_ATTRIBUTION,
    }
    context = {
        "store": store,
        "board": board,
        "day": day,
        "today": today,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "past": day < today,
        "map_data": map_data,
        "alerts": [alert for row in fleet["drivers"] for alert in row["alerts"]],
        "alert_drivers": {row["trip"]: row["driver"] for row in fleet["drivers"]},
        "leaflet": f"vendor/leaflet-{LEAFLET_VERSION}",
        "may_see_analytics": can_see_delivery_analytics(request.user),
    }
    return render(request, "delivery/dispatch/board.html", context)


@staff_view(allow=can_dispatch)
@require_POST
def dispatch_plan_view(request, store_id: int):
    store = _store_get(request, store_id)
    day = _day(request, store)
    try:
        result = dispatch_plan(store=store, day=day, by=request.user)
    except ApplicationError as error:
        _refused(request, error)
        return _back(store, day)
    messages.success(request, result.summary)
    for delivery, reason in result.unplaced:
        messages.warning(request, f"Order {delivery.order_id} could not be placed: {reason}")
    return _back(store, day)


def _delivery(store, raw) -> DeliveryOrder | None:
    pk = _int(raw)
    if pk is None:
        return None
    return DeliveryOrder.objects.filter(pk=pk, order__store=store).first()


def _trip(store, pk) -> Trip | None:
    return Trip.objects.filter(pk=pk, store=store).first() if pk is not None else None


@staff_view(allow=can_dispatch)
@require_POST
def dispatch_assign_view(request, store_id: int):
    """Put a waiting order on a route (or move an order from its route, with the source route's version)."""
    store = _store_get(request, store_id)
    day = _day(request, store)
    delivery = _delivery(store, request.POST.get("order"))
    raw_target = request.POST.get("to", "")
    if raw_target.startswith("shift:") and delivery is not None and not request.POST.get("version"):
        shift = (
            DriverShift.objects.filter(pk=_int(raw_target[6:]), store=store)
            .select_related("driver__user")
            .first()
        )
        if shift is None:
            messages.error(request, "Choose an order and the route to put it on.")
            return _back(store, day)
        try:
            dispatch_start_route(order=delivery, shift=shift, by=request.user)
            messages.success(request, f"Order {delivery.order_id} put on {shift.driver.name}'s new route.")
        except ApplicationError as error:
            _refused(request, error)
        return _back(store, day)
    target = _trip_version(raw_target)
    trip = _trip(store, target[0]) if target else None
    if delivery is None or trip is None:
        messages.error(request, "Choose an order and the route to put it on.")
        return _back(store, day)
    try:
        if request.POST.get("version"):
            dispatch_move(
                order=delivery,
                to_trip=trip,
                by=request.user,
                expected_version=_int(request.POST.get("version")) or -1,
                to_expected_version=target[1],
            )
            messages.success(request, f"Order {delivery.order_id} moved to {trip.driver.name}'s route.")
        else:
            dispatch_assign(order=delivery, trip=trip, by=request.user, expected_version=target[1])
            messages.success(request, f"Order {delivery.order_id} put on {trip.driver.name}'s route.")
    except ApplicationError as error:
        _refused(request, error)
    return _back(store, day)


@staff_view(allow=can_dispatch)
@require_POST
def dispatch_remove_view(request, store_id: int):
    store = _store_get(request, store_id)
    day = _day(request, store)
    delivery = _delivery(store, request.POST.get("order"))
    if delivery is None:
        messages.error(request, "Choose the order to take off its route.")
        return _back(store, day)
    try:
        dispatch_remove(
            order=delivery, by=request.user, expected_version=_int(request.POST.get("version")) or -1
        )
        messages.success(request, f"Order {delivery.order_id} taken off its route: it waits again.")
    except ApplicationError as error:
        _refused(request, error)
    return _back(store, day)


TRIP_ACTIONS = {
    "lock": (trip_lock, "locked: re-planning and late orders leave it alone"),
    "unlock": (trip_unlock, "unlocked"),
    "cancel": (trip_cancel, "cancelled: its orders wait again"),
}


@staff_view(allow=can_dispatch)
@require_POST
def dispatch_trip_action(request, store_id: int, trip_id: int, action: str):
    store = _store_get(request, store_id)
    day = _day(request, store)
    trip = get_object_or_404(Trip.objects.select_related("driver__user"), pk=trip_id, store=store)
    if action not in TRIP_ACTIONS:
        messages.error(request, "Unknown action.")
        return _back(store, day)
    service, words = TRIP_ACTIONS[action]
    try:
        service(trip=trip, by=request.user, expected_version=_int(request.POST.get("version")) or -1)
        messages.success(request, f"{trip.driver.name}'s route {words}.")
    except ApplicationError as error:
        _refused(request, error)
    return _back(store, day)
