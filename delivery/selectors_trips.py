"""Reads of delivery trips: one trip with everything its page and manifest show (a fixed number of queries),
who may see or act on it, and the trips the state refused (the dashboard's list)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from delivery.models import Trip, TripStop
from delivery.state_records import trip_stops
from dispensary.models import Store, User
from dispensary.roles import Role
from dispensary.selectors import user_can_access_store
from dispensary.views.access import user_roles

TRIP_MANAGERS = {Role.OWNER, Role.MANAGER}
FAILED_SHOWN = 10


def trip_get(*, trip_id: int) -> Trip:
    trip = (
        Trip.objects.select_related("store__organization", "driver__user", "vehicle", "sent_by")
        .filter(pk=trip_id)
        .first()
    )
    if trip is None:
        raise Http404("No such trip.")
    return trip


def trip_may_manage(user: User, trip: Trip) -> bool:
    """Owners and managers who work at the trip's store send, depart, retry and cancel it."""
    if user.is_superuser:
        return True
    return bool(user_roles(user) & TRIP_MANAGERS) and user_can_access_store(user, trip.store)


def trip_access(*, user: User, trip_id: int, manage: bool = False) -> tuple[Trip, bool]:
    """The trip and whether the user may act on it: its store's managers may; its own driver may read it;
    anyone else gets 403 (another organization's trip too: its existence tells them nothing they act on)."""
    trip = trip_get(trip_id=trip_id)
    if trip.organization_id != user.organization_id and not user.is_superuser:
        raise PermissionDenied
    may_manage = trip_may_manage(user, trip)
    if may_manage:
        return trip, True
    if not manage and trip.driver.user_id == user.pk:
        return trip, False
    raise PermissionDenied


def trip_page_stops(trip: Trip) -> list[TripStop]:
    """Every stop the trip carried in order (those brought back undelivered too) with their orders, customers,
    addresses, lines, packages and products: three queries, however many stops and lines."""
    if trip.status == Trip.Status.CANCELLED:
        return []
    return trip_stops(trip, with_returned=True)


def trips_state_failed(*, store: Store) -> list[Trip]:
    """The store's trips whose state records were refused, newest change first (the dashboard shows them at
    once, with the state's words, a link and the retry)."""
    return list(
        Trip.objects.filter(store=store, state_status=Trip.StateStatus.FAILED)
        .select_related("driver__user")
        .order_by("-state_updated_at", "-pk")[:FAILED_SHOWN]
    )
