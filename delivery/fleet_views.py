"""Manager screens for drivers, vehicles and shifts per store (owners and managers of that store only), and
the clock-in and clock-out buttons a driver presses on their phone (their own shift only)."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from delivery.fleet import (
    driver_licence_viewed,
    driver_profile_create,
    driver_profile_update,
    driver_shift_cancel,
    driver_shift_clock_in,
    driver_shift_clock_out,
    driver_shift_create,
    driver_shift_update,
    vehicle_create,
    vehicle_update,
)
from delivery.forms import DriverForm, ShiftForm, VehicleForm
from delivery.models import DriverProfile, DriverShift, Vehicle
from delivery.selectors import delivery_zone_list, driver_profile_list, shift_day_list, vehicle_list
from delivery.views import _store_get, can_manage_zones
from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError
from dispensary.models import User
from dispensary.roles import Role
from dispensary.selectors import user_can_access_store
from dispensary.views.access import can_see_driver_home, staff_view

can_manage_fleet = can_manage_zones


# --- Drivers ---------------------------------------------------------------------------------------------------


@staff_view(allow=can_manage_fleet)
def fleet_current(request):
    """Drivers, vehicles and shifts of the store the member is working at: today's shifts."""
    return redirect("delivery:shifts", store_id=request.store.pk)


def _driver_candidates(store):
    return (
        User.objects.filter(organization=store.organization, is_active=True, groups__name=Role.DRIVER.value)
        .filter(driver_profile__isnull=True)
        .order_by("first_name", "last_name")
    )


def _drivers_page(request, store, *, form=None, editing=None, status=200):
    if form is None:
        form = DriverForm(
            candidates=_driver_candidates(store) if editing is None else None,
            initial=_driver_initial(editing) if editing else None,
        )
    if editing is not None:
        # The full licence number is on this page: a logged read, as for a patient's record.
        driver_licence_viewed(profile=editing, actor=request.user, store=store)
    context = {
        "store": store,
        "drivers": driver_profile_list(organization=store.organization, store=store),
        "form": form,
        "editing": editing,
        "today": store_local_date(store),
        "section": "drivers",
    }
    return render(request, "delivery/drivers.html", context, status=status)


def _driver_initial(profile: DriverProfile) -> dict:
    return {
        key: getattr(profile, key)
        for key in (
            "licence_number",
            "licence_region",
            "licence_expires",
            "date_of_birth",
            "phone",
            "is_active",
        )
    }


@staff_view(allow=can_manage_fleet, store_required=False)
def drivers(request, store_id: int):
    store = _store_get(request, store_id)
    if request.method != "POST":
        return _drivers_page(request, store)
    form = DriverForm(request.POST, candidates=_driver_candidates(store))
    if form.is_valid():
        try:
            profile = driver_profile_create(
                organization=store.organization,
                actor=request.user,
                user=form.cleaned_data["user"],
                **form.service_arguments(),
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"{profile.name} added as a driver.")
            return redirect("delivery:drivers", store_id=store.pk)
    return _drivers_page(request, store, form=form, status=400)


@staff_view(allow=can_manage_fleet, store_required=False)
def driver_edit(request, store_id: int, driver_id: int):
    store = _store_get(request, store_id)
    profile = get_object_or_404(
        driver_profile_list(organization=store.organization, store=store), pk=driver_id
    )
    if request.method != "POST":
        return _drivers_page(request, store, editing=profile)
    form = DriverForm(request.POST)
    if form.is_valid():
        try:
            driver_profile_update(profile=profile, actor=request.user, **form.service_arguments())
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"{profile.name}'s driver profile saved.")
            return redirect("delivery:drivers", store_id=store.pk)
    return _drivers_page(request, store, form=form, editing=profile, status=400)


# --- Vehicles --------------------------------------------------------------------------------------------------


def _vehicles_page(request, store, *, form=None, editing=None, status=200):
    context = {
        "store": store,
        "vehicles": vehicle_list(store=store),
        "form": form or VehicleForm(initial=_vehicle_initial(editing) if editing else None),
        "editing": editing,
        "section": "vehicles",
    }
    return render(request, "delivery/vehicles.html", context, status=status)


def _vehicle_initial(vehicle: Vehicle) -> dict:
    return {
        key: getattr(vehicle, key)
        for key in ("make", "model", "year", "colour", "plate", "vin", "capacity", "is_active")
    }


@staff_view(allow=can_manage_fleet, store_required=False)
def vehicles(request, store_id: int):
    store = _store_get(request, store_id)
    if request.method != "POST":
        return _vehicles_page(request, store)
    form = VehicleForm(request.POST)
    if form.is_valid():
        try:
            vehicle = vehicle_create(store=store, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"{vehicle} added.")
            return redirect("delivery:vehicles", store_id=store.pk)
    return _vehicles_page(request, store, form=form, status=400)


@staff_view(allow=can_manage_fleet, store_required=False)
def vehicle_edit(request, store_id: int, vehicle_id: int):
    store = _store_get(request, store_id)
    vehicle = get_object_or_404(Vehicle, pk=vehicle_id, store=store)
    if request.method != "POST":
        return _vehicles_page(request, store, editing=vehicle)
    form = VehicleForm(request.POST)
    if form.is_valid():
        try:
            vehicle = vehicle_update(vehicle=vehicle, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"{vehicle} saved.")
            return redirect("delivery:vehicles", store_id=store.pk)
    return _vehicles_page(request, store, form=form, editing=vehicle, status=400)


# --- Shifts ----------------------------------------------------------------------------------------------------


def _day_from(request, store) -> dt.date:
    today = store_local_date(store)
    try:
        day = dt.date.fromisoformat(request.GET.get("day") or request.POST.get("day") or "")
    except ValueError:
        return today
    # A day far off is a typo (and the page's next-day link must not overflow): today instead.
    return day if abs((day - today).days) <= 3660 else today


def _shift_form(store, data=None, *, editing=None, day=None):
    initial = None
    if editing is not None:
        local_start = editing.starts_at.astimezone(store.tz)
        initial = {
            "vehicle": editing.vehicle_id,
            "day": editing.day,
            "start": local_start.time(),
            "end": editing.ends_at.astimezone(store.tz).time(),
            "zones": [] if editing.all_zones else [zone.pk for zone in editing.zones.all()],
        }
    elif day is not None:
        initial = {"day": day, "start": dt.time(10), "end": dt.time(18)}
    vehicles = vehicle_list(store=store, active_only=True)
    if editing is not None and editing.vehicle_id:
        vehicles = Vehicle.objects.filter(Q(pk=editing.vehicle_id) | Q(pk__in=vehicles.values("pk")))
    return ShiftForm(
        data,
        store=store,
        drivers=None
        if editing is not None
        else driver_profile_list(organization=store.organization, store=store).filter(is_active=True),
        vehicles=vehicles,
        zones=delivery_zone_list(store=store),
        initial=initial,
    )


def _bar(store, day: dt.date, shift: DriverShift) -> tuple[str, str]:
    """Where the shift sits on the page's 6 AM - midnight scale, in percent (clamped to the scale)."""
    scale_start = dt.datetime.combine(day, dt.time(6), tzinfo=store.tz)
    scale = 18 * 3600

    def position(moment):
        return min(max((moment - scale_start).total_seconds() / scale, 0), 1) * 100

    left, right = position(shift.starts_at), position(shift.ends_at)
    return f"{left:.1f}", f"{max(right - left, 1):.1f}"


def _shifts_page(request, store, *, day, form=None, editing=None, status=200):
    shifts = list(shift_day_list(store=store, day=day))
    for shift in shifts:
        shift.bar_left, shift.bar_width = _bar(store, day, shift)
    context = {
        "store": store,
        "day": day,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "today": store_local_date(store),
        "shifts": shifts,
        "zone_count": delivery_zone_list(store=store).count(),
        "form": form or _shift_form(store, editing=editing, day=day),
        "editing": editing,
        "section": "shifts",
    }
    return render(request, "delivery/shifts.html", context, status=status)


@staff_view(allow=can_manage_fleet, store_required=False)
def shifts(request, store_id: int):
    store = _store_get(request, store_id)
    day = _day_from(request, store)
    if request.method != "POST":
        return _shifts_page(request, store, day=day)
    form = _shift_form(store, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            shift = driver_shift_create(
                store=store,
                actor=request.user,
                driver=data["driver"],
                vehicle=data["vehicle"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                zones=list(data["zones"]),
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"Shift planned for {shift.driver.name}.")
            return redirect(reverse("delivery:shifts", kwargs={"store_id": store.pk}) + f"?day={shift.day}")
    return _shifts_page(request, store, day=day, form=form, status=400)


def _managed_shift(request, store, shift_id: int) -> DriverShift:
    return get_object_or_404(
        DriverShift.objects.select_related("driver__user", "vehicle", "store"), pk=shift_id, store=store
    )


@staff_view(allow=can_manage_fleet, store_required=False)
def shift_edit(request, store_id: int, shift_id: int):
    store = _store_get(request, store_id)
    shift = _managed_shift(request, store, shift_id)
    if request.method != "POST":
        return _shifts_page(request, store, day=shift.day, editing=shift)
    form = _shift_form(store, request.POST, editing=shift)
    if form.is_valid():
        data = form.cleaned_data
        try:
            shift = driver_shift_update(
                shift=shift,
                actor=request.user,
                vehicle=data["vehicle"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                zones=list(data["zones"]),
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"{shift.driver.name}'s shift saved.")
            return redirect(reverse("delivery:shifts", kwargs={"store_id": store.pk}) + f"?day={shift.day}")
    return _shifts_page(request, store, day=shift.day, form=form, editing=shift, status=400)


@staff_view(allow=can_manage_fleet, store_required=False)
@require_POST
def shift_cancel(request, store_id: int, shift_id: int):
    store = _store_get(request, store_id)
    shift = _managed_shift(request, store, shift_id)
    try:
        driver_shift_cancel(shift=shift, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{shift.driver.name}'s shift cancelled.")
    return redirect(reverse("delivery:shifts", kwargs={"store_id": store.pk}) + f"?day={shift.day}")


# --- Clocking in and out (the driver, or a manager of the store) -------------------------------------------------


def shift_access(user, shift_id: int) -> tuple[DriverShift, bool]:
    """The shift and whether the member is its driver; PermissionDenied unless they are its driver or an owner
    or manager of its store. A driver never reaches another driver's shift."""
    shift = get_object_or_404(
        DriverShift.objects.select_related("driver__user", "vehicle", "store__organization"), pk=shift_id
    )
    if shift.driver.user_id == user.pk and user.organization_id == shift.store.organization_id:
        return shift, True
    if can_manage_fleet(user) and user_can_access_store(user, shift.store):
        return shift, False
    raise PermissionDenied


def _clock(request, shift_id: int, action, done: str):
    shift, own = shift_access(request.user, shift_id)
    try:
        shift = action(shift=shift, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        who = "You" if own else shift.driver.name
        messages.success(request, f"{who} clocked {done} at {shift_time(shift, done)}.")
    if own:
        return redirect("delivery:driver_home")
    return redirect(reverse("delivery:shifts", kwargs={"store_id": shift.store_id}) + f"?day={shift.day}")


def shift_time(shift: DriverShift, done: str) -> str:
    moment = shift.clocked_in_at if done == "in" else shift.clocked_out_at
    return moment.astimezone(shift.store.tz).strftime("%I:%M %p").lstrip("0")


@staff_view(allow=can_see_driver_home, store_required=False)
@require_POST
def shift_clock_in(request, shift_id: int):
    return _clock(request, shift_id, driver_shift_clock_in, "in")


@staff_view(allow=can_see_driver_home, store_required=False)
@require_POST
def shift_clock_out(request, shift_id: int):
    return _clock(request, shift_id, driver_shift_clock_out, "out")
