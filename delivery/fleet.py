"""Writes for drivers, vehicles and shifts: driver profiles (21 or older on every day they drive, a valid
licence), the stores' vehicles, and shifts with clock-in and clock-out. Each write is one transaction with its
audit record; bad input raises an application error with a plain reason and changes nothing. Shifts lock the
driver's profile, then the vehicle, before looking for overlaps, so two managers assigning the same vehicle at
once are served one after the other and the second is refused."""

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.models import DriverProfile, DriverShift, Vehicle
from dispensary.audit import audit_record, snapshot
from dispensary.clock import age_on, store_local_date
from dispensary.errors import ApplicationError, Conflict, ValidationFailed
from dispensary.models import Organization, Store, User
from dispensary.phones import phone_normalize
from dispensary.roles import Role
from dispensary.selectors import user_can_access_store

DRIVING_AGE = 21
LONGEST_SHIFT = dt.timedelta(hours=16)
CLOCK_IN_EARLY = dt.timedelta(minutes=30)
PLATE_JUNK = re.compile(r"[\s\-·.]")
VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")  # 17 characters, never I, O or Q
LICENCE = re.compile(r"^[A-Z0-9]{4,30}$")


class ShiftOverlap(Conflict):
    code = "shift_overlap"


class ClockRefused(ApplicationError):
    code = "clock_refused"
    status = 422


class DriverNotAllowed(ApplicationError):
    code = "driver_not_allowed"
    status = 422


def _invalid(problems: dict[str, list[str]]) -> None:
    if problems:
        raise ValidationFailed(next(iter(problems.values()))[0], details=problems)


def _day_label(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _time_label(moment: dt.datetime, store: Store) -> str:
    local = moment.astimezone(store.tz)
    return local.strftime("%I:%M %p").lstrip("0")


def plate_normalize(raw: str) -> str:
    """ "7abc 123", "7ABC-123" and "7abc123" are one plate: 7ABC123."""
    return PLATE_JUNK.sub("", (raw or "").upper())


# --- Driver profiles -----------------------------------------------------------------------------------------


def _profile_values(
    *, licence_number, licence_region, licence_expires, date_of_birth, phone, today: dt.date
) -> dict:
    problems: dict[str, list[str]] = {}
    licence = re.sub(r"[\s\-]", "", (licence_number or "").upper())
    if not LICENCE.match(licence):
        problems["licence_number"] = ["Give the driver's licence number: 4 to 30 letters and digits."]
    region = (licence_region or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", region):
        problems["licence_region"] = ["Give the issuing state as two letters, e.g. CA."]
    if not isinstance(licence_expires, dt.date):
        problems["licence_expires"] = ["Give the licence's expiry date."]
    elif not dt.date(2000, 1, 1) <= licence_expires <= today + dt.timedelta(days=20 * 366):
        problems["licence_expires"] = ["That expiry date is not a licence's: check the year."]
    if not isinstance(date_of_birth, dt.date):
        problems["date_of_birth"] = ["Give the driver's date of birth."]
    elif not 16 <= age_on(date_of_birth, today) <= 100:
        problems["date_of_birth"] = ["That date of birth is not a driver's: check the year."]
    try:
        phone = phone_normalize(phone or "")
    except ValidationFailed as error:
        problems["phone"] = [error.message]
    _invalid(problems)
    return {
        "licence_number": licence,
        "licence_region": region,
        "licence_expires": licence_expires,
        "date_of_birth": date_of_birth,
        "phone": phone,
    }


@transaction.atomic
def driver_profile_create(
    *,
    organization: Organization,
    actor,
    user: User,
    licence_number,
    licence_region,
    licence_expires,
    date_of_birth,
    phone,
    is_active: bool = True,
) -> DriverProfile:
    """A driver profile for an employee of the organization who holds the driver role."""
    if user.organization_id != organization.pk:
        raise ValidationFailed(
            f"{user.get_username()} is not an employee of {organization.name}.",
            details={"user": ["Not an employee."]},
        )
    if Role.DRIVER.value not in user.role_names:
        message = f"{user.get_full_name() or user.get_username()} does not have the driver role; an owner grants it."
        raise ValidationFailed(message, details={"user": [message]})
    values = _profile_values(
        licence_number=licence_number,
        licence_region=licence_region,
        licence_expires=licence_expires,
        date_of_birth=date_of_birth,
        phone=phone,
        today=timezone.localdate(),
    )
    try:
        with transaction.atomic():
            profile = DriverProfile.objects.create(
                organization=organization, user=user, is_active=bool(is_active), **values
            )
    except IntegrityError:
        message = f"{user.get_full_name() or user.get_username()} already has a driver profile."
        raise ValidationFailed(message, details={"user": [message]}) from None
    audit_record(
        actor=actor,
        action="driver.created",
        instance=profile,
        after=_profile_audit(profile),
        organization=organization,
    )
    return profile


def _profile_audit(profile: DriverProfile) -> dict:
    # The audit log keeps the licence masked: it is read by more people than the profile.
    values = snapshot(profile, ["licence_region", "licence_expires", "is_active", "user_id"])
    values["licence_number"] = profile.licence_masked
    return values


@transaction.atomic
def driver_profile_update(
    *,
    profile: DriverProfile,
    actor,
    licence_number,
    licence_region,
    licence_expires,
    date_of_birth,
    phone,
    is_active: bool,
) -> DriverProfile:
    values = _profile_values(
        licence_number=licence_number,
        licence_region=licence_region,
        licence_expires=licence_expires,
        date_of_birth=date_of_birth,
        phone=phone,
        today=timezone.localdate(),
    )
    locked = DriverProfile.objects.select_for_update().select_related("user").get(pk=profile.pk)
    before = _profile_audit(locked)
    for key, value in values.items():
        setattr(locked, key, value)
    locked.is_active = bool(is_active)
    locked.save()
    audit_record(
        actor=actor,
        action="driver.updated",
        instance=locked,
        before=before,
        after=_profile_audit(locked),
        organization=locked.organization,
    )
    return locked


def driver_licence_viewed(*, profile: DriverProfile, actor, store: Store | None = None) -> None:
    """A manager read the full licence number: logged like a patient record read."""
    audit_record(
        actor=actor,
        action="driver.licence_viewed",
        instance=profile,
        after={"via": "drivers"},
        organization=profile.organization,
        store=store,
    )


def driver_fitness_problems(profile: DriverProfile, day: dt.date) -> list[str]:
    """Why this driver may not drive on this local day: under 21, licence expired, profile not active."""
    problems = []
    if not profile.is_active:
        problems.append(f"{profile.name}'s driver profile is not active.")
    age = age_on(profile.date_of_birth, day)
    if age < DRIVING_AGE:
        turns = (
            profile.date_of_birth.replace(year=profile.date_of_birth.year + DRIVING_AGE)
            if not (profile.date_of_birth.month == 2 and profile.date_of_birth.day == 29)
            else dt.date(profile.date_of_birth.year + DRIVING_AGE, 3, 1)
        )
        problems.append(
            f"{profile.name} is {age} on {_day_label(day)}; drivers must be {DRIVING_AGE} or older "
            f"({profile.name} turns {DRIVING_AGE} on {_day_label(turns)})."
        )
    if profile.licence_expires < day:
        problems.append(
            f"{profile.name}'s driver's licence expired on {_day_label(profile.licence_expires)}."
        )
    return problems


# --- Vehicles --------------------------------------------------------------------------------------------------


def _vehicle_values(*, make, model, year, colour, plate, vin, capacity, today: dt.date) -> dict:
    problems: dict[str, list[str]] = {}
    values = {}
    for key, value, limit in (("make", make, 40), ("model", model, 40), ("colour", colour, 30)):
        text = value.strip() if isinstance(value, str) else ""
        if not text or len(text) > limit:
            problems[key] = [f"Give the {key} (at most {limit} characters)."]
        values[key] = text
    if isinstance(year, bool) or not isinstance(year, int) or not 1980 <= year <= today.year + 1:
        problems["year"] = [f"Give the model year, 1980 to {today.year + 1}."]
    values["year"] = year
    values["plate"] = plate_normalize(plate if isinstance(plate, str) else "")
    if not re.fullmatch(r"[A-Z0-9]{2,10}", values["plate"]):
        problems["plate"] = ["Give the licence plate: 2 to 10 letters and digits."]
    values["vin"] = (vin or "").strip().upper() if isinstance(vin, str | type(None)) else ""
    if values["vin"] and not VIN.match(values["vin"]):
        problems["vin"] = ["A VIN has 17 letters and digits (never I, O or Q); leave it empty if unknown."]
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= 200:
        problems["capacity"] = ["Give how many orders the vehicle carries on one route: 1 to 200."]
    values["capacity"] = capacity
    _invalid(problems)
    return values


def _plate_taken(plate: str) -> ValidationFailed:
    message = f"Another vehicle of the organization has the plate {plate}."
    return ValidationFailed(message, details={"plate": [message]})


@transaction.atomic
def vehicle_create(
    *, store: Store, actor, make, model, year, colour, plate, capacity, vin="", is_active: bool = True
) -> Vehicle:
    values = _vehicle_values(
        make=make,
        model=model,
        year=year,
        colour=colour,
        plate=plate,
        vin=vin,
        capacity=capacity,
        today=store_local_date(store),
    )
    try:
        with transaction.atomic():
            vehicle = Vehicle.objects.create(
                organization_id=store.organization_id, store=store, is_active=bool(is_active), **values
            )
    except IntegrityError:
        raise _plate_taken(values["plate"]) from None
    audit_record(
        actor=actor,
        action="vehicle.created",
        instance=vehicle,
        after=snapshot(vehicle),
        organization=store.organization,
        store=store,
    )
    return vehicle


@transaction.atomic
def vehicle_update(
    *, vehicle: Vehicle, actor, make, model, year, colour, plate, capacity, vin="", is_active: bool
) -> Vehicle:
    locked = Vehicle.objects.select_for_update().select_related("store").get(pk=vehicle.pk)
    values = _vehicle_values(
        make=make,
        model=model,
        year=year,
        colour=colour,
        plate=plate,
        vin=vin,
        capacity=capacity,
        today=store_local_date(locked.store),
    )
    before = snapshot(locked)
    for key, value in values.items():
        setattr(locked, key, value)
    locked.is_active = bool(is_active)
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        raise _plate_taken(values["plate"]) from None
    audit_record(
        actor=actor,
        action="vehicle.updated",
        instance=locked,
        before=before,
        after=snapshot(locked),
        organization=locked.store.organization,
        store=locked.store,
    )
    return locked


# --- Shifts ----------------------------------------------------------------------------------------------------


def _instants(starts_at, ends_at) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants: a difference of two times in one local zone is wall-clock time (wrong across a
    daylight-saving change), of two UTC times the real duration."""
    for moment in (starts_at, ends_at):
        if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
            raise ValueError("shift times are aware datetimes")
    return starts_at.astimezone(dt.UTC), ends_at.astimezone(dt.UTC)


def _shift_checks(*, store: Store, driver: DriverProfile, vehicle, starts_at, ends_at, zones) -> list:
    problems: dict[str, list[str]] = {}
    if ends_at <= starts_at:
        problems["ends_at"] = ["The shift must end after it starts."]
    elif ends_at - starts_at > LONGEST_SHIFT:
        problems["ends_at"] = ["A shift lasts at most 16 hours."]
    if driver.organization_id != store.organization_id or not user_can_access_store(driver.user, store):
        problems["driver"] = [
            f"{driver.name} does not work at {store.name}; an owner grants the store first."
        ]
    if vehicle is not None:
        if vehicle.store_id != store.pk:
            problems["vehicle"] = [f"That vehicle belongs to another store than {store.name}."]
        elif not vehicle.is_active:
            problems["vehicle"] = [f"The {vehicle} is not in service."]
    zone_list = list(zones or [])
    if any(zone.store_id != store.pk for zone in zone_list):
        problems["zones"] = [f"Choose zones of {store.name} only."]
    _invalid(problems)
    day = store_local_date(store, at=starts_at)
    fitness = driver_fitness_problems(driver, day)
    if fitness:
        raise DriverNotAllowed(fitness[0], details={"driver": fitness})
    return zone_list


def _overlap_problems(
    *, driver: DriverProfile, vehicle, starts_at, ends_at, store: Store, exclude=None
) -> None:
    live = DriverShift.objects.filter(
        cancelled_at__isnull=True, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).select_related("driver__user", "vehicle")
    if exclude is not None:
        live = live.exclude(pk=exclude)
    clash = live.filter(driver=driver).first()
    if clash is not None:
        message = (
            f"{driver.name} already has a shift from {_time_label(clash.starts_at, store)} to "
            f"{_time_label(clash.ends_at, store)} on {_day_label(store_local_date(store, at=clash.starts_at))}."
        )
        raise ShiftOverlap(message, details={"driver": [message]})
    if vehicle is not None:
        clash = live.filter(vehicle=vehicle).first()
        if clash is not None:
            message = (
                f"The {vehicle} is already assigned to {clash.driver.name} from "
                f"{_time_label(clash.starts_at, store)} to {_time_label(clash.ends_at, store)}."
            )
            raise ShiftOverlap(message, details={"vehicle": [message]})


def _lock(driver: DriverProfile, vehicle: Vehicle | None) -> None:
    # A fixed order, driver then vehicle, for every shift write.
    DriverProfile.objects.select_for_update().filter(pk=driver.pk).first()
    if vehicle is not None:
        Vehicle.objects.select_for_update().filter(pk=vehicle.pk).first()


def _shift_audit(shift: DriverShift) -> dict:
    values = snapshot(
        shift,
        [
            "driver_id",
            "vehicle_id",
            "starts_at",
            "ends_at",
            "all_zones",
            "clocked_in_at",
            "clocked_out_at",
            "cancelled_at",
        ],
    )
    values["zone_ids"] = [] if shift.all_zones else sorted(zone.pk for zone in shift.zones.all())
    return values


@transaction.atomic
def driver_shift_create(
    *, store: Store, actor, driver: DriverProfile, vehicle: Vehicle | None, starts_at, ends_at, zones=None
) -> DriverShift:
    """A shift for a driver at a store; `zones` empty or None: every zone of the store."""
    starts_at, ends_at = _instants(starts_at, ends_at)
    zone_list = _shift_checks(
        store=store, driver=driver, vehicle=vehicle, starts_at=starts_at, ends_at=ends_at, zones=zones
    )
    _lock(driver, vehicle)
    _overlap_problems(driver=driver, vehicle=vehicle, starts_at=starts_at, ends_at=ends_at, store=store)
    shift = DriverShift.objects.create(
        store=store,
        driver=driver,
        vehicle=vehicle,
        day=store_local_date(store, at=starts_at),
        starts_at=starts_at,
        ends_at=ends_at,
        all_zones=not zone_list,
    )
    if zone_list:
        shift.zones.set(zone_list)
    audit_record(
        actor=actor,
        action="shift.created",
        instance=shift,
        after=_shift_audit(shift),
        organization=store.organization,
        store=store,
    )
    return shift


def _locked_shift(shift: DriverShift) -> DriverShift:
    # Only the shift's row: PostgreSQL cannot lock the nullable side (no vehicle) of an outer join.
    return (
        DriverShift.objects.select_for_update(of=("self",))
        .select_related("store", "driver__user", "vehicle")
        .get(pk=shift.pk)
    )


@transaction.atomic
def driver_shift_update(
    *, shift: DriverShift, actor, vehicle: Vehicle | None, starts_at, ends_at, zones=None
) -> DriverShift:
    """Change a shift's vehicle, times or zones (not after it was cancelled or clocked out)."""
    current = DriverShift.objects.select_related("store", "driver__user").get(pk=shift.pk)
    store, driver = current.store, current.driver
    starts_at, ends_at = _instants(starts_at, ends_at)
    zone_list = _shift_checks(
        store=store, driver=driver, vehicle=vehicle, starts_at=starts_at, ends_at=ends_at, zones=zones
    )
    _lock(driver, vehicle)
    locked = _locked_shift(shift)
    if locked.cancelled_at or locked.clocked_out_at:
        raise Conflict(f"This shift is {locked.status_label.lower()}; it cannot change any more.")
    if (
        locked.clocked_in_at
        and starts_at != locked.starts_at
        and starts_at > locked.clocked_in_at + CLOCK_IN_EARLY
    ):
        raise Conflict("The driver has clocked in; the start cannot move past the time they clocked in.")
    _overlap_problems(
        driver=driver, vehicle=vehicle, starts_at=starts_at, ends_at=ends_at, store=store, exclude=locked.pk
    )
    before = _shift_audit(locked)
    locked.vehicle = vehicle
    locked.starts_at, locked.ends_at = starts_at, ends_at
    locked.day = store_local_date(store, at=starts_at)
    locked.all_zones = not zone_list
    locked.save()
    locked.zones.set(zone_list)
    audit_record(
        actor=actor,
        action="shift.updated",
        instance=locked,
        before=before,
        after=_shift_audit(locked),
        organization=store.organization,
        store=store,
    )
    return locked


@transaction.atomic
def driver_shift_cancel(*, shift: DriverShift, actor) -> DriverShift:
    locked = _locked_shift(shift)
    if locked.cancelled_at:
        raise Conflict("This shift is already cancelled.")
    if locked.clocked_in_at:
        raise Conflict(
            f"{locked.driver.name} has clocked in; clock them out instead of cancelling the shift."
        )
    before = _shift_audit(locked)
    locked.cancelled_at = timezone.now()
    locked.save(update_fields=["cancelled_at"])
    audit_record(
        actor=actor,
        action="shift.cancelled",
        instance=locked,
        before=before,
        after=_shift_audit(locked),
        organization=locked.store.organization,
        store=locked.store,
    )
    return locked


@transaction.atomic
def driver_shift_clock_in(*, shift: DriverShift, actor) -> DriverShift:
    """Clock in, from 30 minutes before the planned start until the planned end; once."""
    locked = _locked_shift(shift)
    store, now = locked.store, timezone.now()
    window = (
        f"{_time_label(locked.starts_at, store)} to {_time_label(locked.ends_at, store)} on "
        f"{_day_label(locked.day)}"
    )
    if locked.cancelled_at:
        raise ClockRefused("This shift was cancelled; ask a manager for a new one.")
    if locked.clocked_out_at:
        raise ClockRefused(
            f"You already clocked out of this shift at {_time_label(locked.clocked_out_at, store)}; "
            "a shift is clocked in once."
        )
    if locked.clocked_in_at:
        raise ClockRefused(f"Already clocked in at {_time_label(locked.clocked_in_at, store)}.")
    if now < locked.starts_at - CLOCK_IN_EARLY:
        raise ClockRefused(
            f"The shift runs from {window}; clock in from "
            f"{_time_label(locked.starts_at - CLOCK_IN_EARLY, store)}."
        )
    if now >= locked.ends_at:
        raise ClockRefused(f"The shift ran from {window}; it is over. Ask a manager to plan a new one.")
    fitness = driver_fitness_problems(locked.driver, store_local_date(store, at=now))
    if fitness:
        raise DriverNotAllowed(fitness[0], details={"driver": fitness})
    before = _shift_audit(locked)
    locked.clocked_in_at, locked.clocked_in_by = now, actor
    locked.save(update_fields=["clocked_in_at", "clocked_in_by"])
    audit_record(
        actor=actor,
        action="shift.clocked_in",
        instance=locked,
        before=before,
        after=_shift_audit(locked),
        organization=store.organization,
        store=store,
    )
    return locked


@transaction.atomic
def driver_shift_clock_out(*, shift: DriverShift, actor) -> DriverShift:
    locked = _locked_shift(shift)
    store = locked.store
    if locked.cancelled_at:
        raise ClockRefused("This shift was cancelled.")
    if not locked.clocked_in_at:
        raise ClockRefused("Not clocked in yet: clock in first.")
    if locked.clocked_out_at:
        raise ClockRefused(f"Already clocked out at {_time_label(locked.clocked_out_at, store)}.")
    before = _shift_audit(locked)
    locked.clocked_out_at, locked.clocked_out_by = timezone.now(), actor
    locked.save(update_fields=["clocked_out_at", "clocked_out_by"])
    audit_record(
        actor=actor,
        action="shift.clocked_out",
        instance=locked,
        before=before,
        after=_shift_audit(locked),
        organization=store.organization,
        store=store,
    )
    return locked
