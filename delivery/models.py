"""Models of the delivery app: where a store delivers (zones), where it may not (excluded places), and the
customers' delivery addresses with their coordinates. Geometry is GeoJSON (longitude, latitude) kept as JSON;
delivery.geometry validates it with shapely and answers point-in-polygon questions."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

LATITUDE = [MinValueValidator(-90), MaxValueValidator(90)]
LONGITUDE = [MinValueValidator(-180), MaxValueValidator(180)]


class DeliveryZone(models.Model):
    """An area a store delivers to, with its minimum order, fee and estimated time. Where active zones overlap,
    the smallest one containing the address applies (it is the more specific rule); see delivery.selectors."""

    store = models.ForeignKey("dispensary.Store", on_delete=models.CASCADE, related_name="delivery_zones")
    name = models.CharField(max_length=80)
    geometry = models.JSONField(
        help_text="GeoJSON Polygon or MultiPolygon, coordinates as [longitude, latitude]."
    )
    area = models.FloatField(
        default=0, help_text="Planar area in square degrees, kept by the service to rank overlapping zones."
    )
    minimum_order = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    fee = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    estimated_minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="delivery_zone_name_unique_per_store"),
            models.CheckConstraint(
                condition=models.Q(minimum_order__gte=0), name="delivery_zone_minimum_gte_0"
            ),
            models.CheckConstraint(condition=models.Q(fee__gte=0), name="delivery_zone_fee_gte_0"),
            models.CheckConstraint(
                condition=models.Q(estimated_minutes__gte=1), name="delivery_zone_eta_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store} – {self.name}"


class DeliveryExclusion(models.Model):
    """A place a store may not deliver to or near (a school, a day-care, a youth centre...): a point with a
    radius, or an area (polygon)."""

    class Kind(models.TextChoices):
        SCHOOL = "school", "School (K-12)"
        DAY_CARE = "day_care", "Day-care centre"
        YOUTH_CENTER = "youth_center", "Youth centre"
        PUBLIC_LAND = "public_land", "Public land or building"
        OTHER = "other", "Other place"

    store = models.ForeignKey(
        "dispensary.Store", on_delete=models.CASCADE, related_name="delivery_exclusions"
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, validators=LATITUDE)
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=LONGITUDE
    )
    radius_m = models.PositiveIntegerField(null=True, blank=True, help_text="Metres around the point.")
    geometry = models.JSONField(
        null=True, blank=True, help_text="GeoJSON Polygon or MultiPolygon instead of a point."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        latitude__isnull=False,
                        longitude__isnull=False,
                        radius_m__isnull=False,
                        geometry__isnull=True,
                    )
                    | models.Q(
                        latitude__isnull=True,
                        longitude__isnull=True,
                        radius_m__isnull=True,
                        geometry__isnull=False,
                    )
                ),
                name="delivery_exclusion_point_or_area",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class DeliveryAddress(models.Model):
    """A customer's delivery address with coordinates: sent by the ordering client, placed by staff on the map,
    or found by the configured geocoder."""

    class Source(models.TextChoices):
        CLIENT = "client", "Given by the ordering client"
        STAFF = "staff", "Placed by staff on the map"
        GEOCODER = "geocoder", "Found by the geocoder"

    customer = models.ForeignKey(
        "dispensary.Customer", on_delete=models.CASCADE, related_name="delivery_addresses"
    )
    label = models.CharField(max_length=60, blank=True, help_text='e.g. "Home".')
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField("state or province", max_length=60)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, default="US")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LATITUDE)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LONGITUDE)
    source = models.CharField(max_length=10, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer_id", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.line1}, {self.city}"


# --- Drivers, vehicles and shifts --------------------------------------------------------------------------------


class DriverProfile(models.Model):
    """A staff member who drives: the organization's User with the driver role, with the licence and the date
    of birth the law asks about (21 or older on every day they drive). The licence number is personal data:
    lists show it masked, managers read it in full and each such read is audit-logged."""

    organization = models.ForeignKey(
        "dispensary.Organization", on_delete=models.PROTECT, related_name="driver_profiles"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="driver_profile"
    )
    licence_number = models.CharField(max_length=30)
    licence_region = models.CharField(max_length=2, help_text="Issuing state, e.g. CA.")
    licence_expires = models.DateField()
    date_of_birth = models.DateField()
    phone = models.CharField(max_length=20, help_text="E.164")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__first_name", "user__last_name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    @property
    def licence_masked(self) -> str:
        return "•••" + self.licence_number[-3:] if len(self.licence_number) > 3 else "•••"


class Vehicle(models.Model):
    """A car of a store's fleet. capacity: how many orders it carries on one route (the planner's one
    capacity dimension: delivery.routing.planner.Vehicle.capacity)."""

    organization = models.ForeignKey("dispensary.Organization", on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey("dispensary.Store", on_delete=models.PROTECT, related_name="vehicles")
    make = models.CharField(max_length=40)
    model = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField()
    colour = models.CharField(max_length=30)
    plate = models.CharField(max_length=12, help_text="Upper case letters and digits only.")
    vin = models.CharField(max_length=17, blank=True)
    capacity = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(200)])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store_id", "make", "model", "plate"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "plate"], name="vehicle_plate_unique_per_org"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="vehicle_capacity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.colour} {self.make} {self.model} ({self.plate})"


class DriverShift(models.Model):
    """A driver's shift at a store: planned start and end (aware instants, entered in the store's local time),
    the vehicle they drive, the zones they serve (all the store's zones unless chosen), and when they clocked
    in and out. Overlaps (a driver or a vehicle on two shifts at once) are refused by the services, which lock
    the driver's profile and the vehicle first."""

    store = models.ForeignKey("dispensary.Store", on_delete=models.PROTECT, related_name="driver_shifts")
    driver = models.ForeignKey(DriverProfile, on_delete=models.PROTECT, related_name="shifts")
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="shifts", null=True, blank=True
    )
    day = models.DateField(help_text="The store's local day the shift starts on.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    all_zones = models.BooleanField(default=True)
    zones = models.ManyToManyField(DeliveryZone, blank=True, related_name="+")
    clocked_in_at = models.DateTimeField(null=True, blank=True)
    clocked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    clocked_out_at = models.DateTimeField(null=True, blank=True)
    clocked_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(clocked_out_at__isnull=True) | models.Q(clocked_in_at__isnull=False),
                name="shift_clock_out_after_in",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "day"]),
            models.Index(fields=["driver", "starts_at"]),
            models.Index(fields=["vehicle", "starts_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.driver} {self.day.isoformat()}"

    @property
    def status(self) -> str:
        if self.cancelled_at:
            return "cancelled"
        if self.clocked_out_at:
            return "finished"
        if self.clocked_in_at:
            return "on_shift"
        return "planned"

    @property
    def status_label(self) -> str:
        return {
            "cancelled": "Cancelled",
            "finished": "Clocked out",
            "on_shift": "On shift",
            "planned": "Planned",
        }[self.status]


# --- Delivery orders (issue 12, orders) -------------------------------------------------------------------------


class DeliveryOrder(models.Model):
    """The delivery facts of an order (pos.PickupOrder with fulfilment=delivery): where (the customer's address
    and its coordinates as booked), which zone served it with the fee and estimated time it applied, and the
    window the customer booked. The order itself (lines, allocation, limits, status) is the pos order's."""

    order = models.OneToOneField("pos.PickupOrder", on_delete=models.PROTECT, related_name="delivery")
    address = models.ForeignKey(DeliveryAddress, on_delete=models.PROTECT, related_name="delivery_orders")
    address_text = models.CharField(max_length=500, help_text="The address as booked, on one line.")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LATITUDE)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LONGITUDE)
    zone = models.ForeignKey(DeliveryZone, on_delete=models.PROTECT, related_name="delivery_orders")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    fee = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    minimum_order = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    estimated_minutes = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Why the dispatch board's last attempt to plan or insert it left it waiting (the planner's plain words);
    # cleared when it is put on a trip.
    unplanned_reason = models.CharField(max_length=300, blank=True)
    unplanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["window_start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_end__gt=models.F("window_start")),
                name="delivery_order_window_ends_after_start",
            ),
            models.CheckConstraint(condition=models.Q(fee__gte=0), name="delivery_order_fee_gte_0"),
        ]
        indexes = [models.Index(fields=["zone", "window_start"], name="delivery_order_zone_window")]

    def __str__(self) -> str:
        return f"Delivery of order {self.order_id}"


# --- Trips: routes from planning to the car's return (issue 12, dispatch) ------------------------------------


class Trip(models.Model):
    """A route: the delivery orders one driver carries in one vehicle on one shift, in the planned order.

    Life: planned (by the planner or a dispatcher; re-planning may change it) -> locked (a dispatcher froze it;
    re-planning and late insertions leave it alone) -> sent (handed to the driver; the state's delivery records
    are being filed) -> departed (on the road: only once the state accepted its records, `state_status`
    accepted or not required) -> returned (back at the store, the state's record ended). A trip not yet
    departed may be cancelled; its stops are then removed and their orders wait again.

    `state_status` tracks the state's records of the trip (California: the retailer delivery with the packages
    carried; other Metrc states: a sales delivery per stop): a failure keeps the state's words in
    `state_message` and shows on the dispatch board and the dashboard with a retry. `version` moves on every
    change so two dispatchers editing the same board cannot overwrite each other unknowingly."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        LOCKED = "locked", "Locked"
        SENT = "sent", "Sent to the driver"
        DEPARTED = "departed", "On the road"
        RETURNED = "returned", "Back at the store"
        CANCELLED = "cancelled", "Cancelled"

    class StateStatus(models.TextChoices):
        NOT_REQUIRED = "not_required", "Not required"
        NOT_FILED = "not_filed", "Not filed yet"
        PENDING = "pending", "Waiting for the state"
        ACCEPTED = "accepted", "Accepted by the state"
        FAILED = "failed", "Refused by the state"

    OPEN_STATUSES = (Status.PLANNED, Status.LOCKED)  # the board may still change these

    organization = models.ForeignKey("dispensary.Organization", on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey("dispensary.Store", on_delete=models.PROTECT, related_name="trips")
    day = models.DateField(help_text="The store's local day of the trip.")
    shift = models.ForeignKey(DriverShift, on_delete=models.PROTECT, related_name="trips")
    driver = models.ForeignKey(DriverProfile, on_delete=models.PROTECT, related_name="trips")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="trips")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    planned_start = models.DateTimeField(help_text="When the car leaves the store, as planned.")
    planned_end = models.DateTimeField(help_text="When the car is back at the store, as planned.")
    distance_m = models.PositiveIntegerField(default=0, help_text="Planned distance, metres.")
    goods_value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Retail value of the goods carried (the vehicle value cap's measure).",
    )
    planned_at = models.DateTimeField()
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    departed_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    state_status = models.CharField(max_length=12, choices=StateStatus.choices, default=StateStatus.NOT_FILED)
    state_reference = models.CharField(
        max_length=64, blank=True, help_text="The state's id of the trip's record (Metrc retailer delivery)."
    )
    state_message = models.TextField(blank=True, help_text="The state's words when it refused a record.")
    state_updated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["day", "planned_start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(planned_end__gte=models.F("planned_start")), name="trip_ends_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "day", "status"], name="trip_store_day_status"),
            models.Index(fields=["driver", "day"], name="trip_driver_day"),
        ]

    def __str__(self) -> str:
        return f"Trip {self.pk} ({self.driver}, {self.day.isoformat()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def may_depart(self) -> bool:
        return self.status == self.Status.SENT and self.state_status in (
            self.StateStatus.ACCEPTED,
            self.StateStatus.NOT_REQUIRED,
        )


class TripStop(models.Model):
    """One delivery order on a trip, in the trip's order (`sequence` from 1), with the planned arrival and
    departure the planner computed (services rewrite a trip's stops whole when they reorder them). An order is on at most one trip at a time unless an earlier stop was
    returned undelivered (then it may be planned again)."""

    class Status(models.TextChoices):
        PENDING = "pending", "To deliver"
        DELIVERED = "delivered", "Delivered"
        RETURNED = "returned", "Not delivered"

    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="stops")
    order = models.ForeignKey(DeliveryOrder, on_delete=models.PROTECT, related_name="stops")
    sequence = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    planned_arrival = models.DateTimeField()
    planned_departure = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    state_reference = models.CharField(
        max_length=64, blank=True, help_text="The state's id of this stop's record (a Metrc sales delivery)."
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    # Live tracking told the customer the car is nearly there (StopApproaching), once per stop.
    approach_announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["trip_id", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=~models.Q(status="returned"),
                name="trip_stop_one_live_stop_per_order",
            ),
            models.CheckConstraint(
                condition=models.Q(planned_departure__gte=models.F("planned_arrival")),
                name="trip_stop_departs_after_arrival",
            ),
        ]

    def __str__(self) -> str:
        return f"Stop {self.sequence} of trip {self.trip_id}"


# --- The driver's app: visits at the door and the phone's actions (issue 13, driver app) ----------------------


class StopVisit(models.Model):
    """What happened at one stop's door, as the driver's phone reported it: when the driver arrived, the ID
    check (its record in compliance, the method, the server's result, the time and the phone's position; never
    an image of the ID), the sale the hand-over became, or the reason the goods came back. A hand-over the
    phone allowed offline but the server's rules refused on replay keeps the server's words in `conflict` for
    the manager (and an audit record)."""

    class ReturnReason(models.TextChoices):
        REFUSED = "refused", "Customer refused"
        NO_ID = "no_id", "No valid ID"
        NOBODY_HOME = "nobody_home", "Nobody home"
        UNDER_AGE = "under_age", "Under age"
        CANCELLED = "cancelled", "Order cancelled by the store"

    stop = models.OneToOneField(TripStop, on_delete=models.CASCADE, related_name="visit")
    arrived_at = models.DateTimeField(null=True, blank=True)
    id_verification = models.ForeignKey(
        "compliance.IdVerification", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    id_method = models.CharField(max_length=10, blank=True, help_text="scan or typed")
    id_passed = models.BooleanField(null=True, blank=True, help_text="The server's verdict.")
    id_checked_at = models.DateTimeField(null=True, blank=True)
    id_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    id_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    sale = models.ForeignKey("pos.Sale", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    return_reason = models.CharField(max_length=12, choices=ReturnReason.choices, blank=True)
    conflict = models.TextField(blank=True, help_text="The server's refusal of what the phone did offline.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Visit of stop {self.stop_id}"


class DriverAction(models.Model):
    """One action the driver's phone sent (arrived, ID checked, delivered, returned, position) under the key the
    phone made for it: the key is unique per driver, so a replayed action finds its first answer here and has no
    second effect. A refused action (a conflict) is kept with its answer too: replaying it says the same."""

    class Kind(models.TextChoices):
        ARRIVED = "arrived", "Arrived"
        ID_CHECKED = "id_checked", "ID checked"
        DELIVERED = "delivered", "Handed over"
        RETURNED = "returned", "Not delivered"
        POSITION = "position", "Position"
        PROOF = "proof", "Proof of delivery"

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        CONFLICT = "conflict", "Refused"

    driver = models.ForeignKey(DriverProfile, on_delete=models.PROTECT, related_name="actions")
    key = models.UUIDField()
    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="driver_actions")
    stop = models.ForeignKey(
        TripStop, on_delete=models.CASCADE, null=True, blank=True, related_name="driver_actions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField(default=dict, blank=True)
    happened_at = models.DateTimeField(help_text="When the phone says it happened.")
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    answer = models.JSONField(default=dict, help_text="The first answer, returned again on a replay.")

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["driver", "key"], name="driver_action_key_per_driver")]
        indexes = [models.Index(fields=["trip", "received_at"], name="driver_action_trip_received")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


# --- Proof of delivery (issue 13, part 4) -----------------------------------------------------------------------


class DeliveryProof(models.Model):
    """The proof of one stop's hand-over as the driver's phone captured it: the customer's signature (PNG) and a
    photo (JPEG), each in the default storage under a random, non-guessable name and read only through the
    authenticated view (every read logged), the name the signer gave, when and where. One per stop. Without a
    signature the driver gave the reason (kept in `no_signature_reason`)."""

    stop = models.OneToOneField(TripStop, on_delete=models.PROTECT, related_name="proof")
    order = models.ForeignKey(DeliveryOrder, on_delete=models.PROTECT, related_name="proofs")
    driver = models.ForeignKey(DriverProfile, on_delete=models.PROTECT, related_name="proofs")
    signature = models.FileField(upload_to="delivery-proofs/", blank=True, max_length=200)
    photo = models.FileField(upload_to="delivery-proofs/", blank=True, max_length=200)
    signed_name = models.CharField(max_length=120, blank=True)
    no_signature_reason = models.CharField(max_length=300, blank=True)
    captured_at = models.DateTimeField(help_text="When the phone captured it.")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    accuracy_m = models.PositiveIntegerField(
        null=True, blank=True, help_text="The phone's estimate, in metres."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(signature="") | ~models.Q(no_signature_reason=""),
                name="delivery_proof_signature_or_reason",
            )
        ]

    def __str__(self) -> str:
        return f"Proof of stop {self.stop_id}"


# --- Live tracking (issue 13, part 5) ---------------------------------------------------------------------------


class TripPosition(models.Model):
    """Where the driver's phone was during a trip, as it reported it (every 15-30 s on the road, queued and
    sent in order when the phone was offline). One row per position action the server applied (`action`, so a
    replayed action stores nothing twice). `recorded_at` is the phone's time of the fix, `received_at` the
    server's; the fleet map, the ETAs and the alerts read the latest by `recorded_at`."""

    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="positions")
    driver = models.ForeignKey(DriverProfile, on_delete=models.PROTECT, related_name="positions")
    action = models.OneToOneField(
        DriverAction, on_delete=models.CASCADE, null=True, blank=True, related_name="position"
    )
    recorded_at = models.DateTimeField(help_text="When the phone took the fix.")
    received_at = models.DateTimeField()
    latitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LATITUDE)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, validators=LONGITUDE)
    accuracy_m = models.PositiveIntegerField(null=True, blank=True, help_text="The phone's estimate, metres.")
    speed_mps = models.FloatField(null=True, blank=True, help_text="The phone's speed, metres per second.")
    heading = models.FloatField(null=True, blank=True, help_text="Degrees clockwise from north.")

    class Meta:
        ordering = ["trip_id", "recorded_at", "pk"]
        indexes = [models.Index(fields=["trip", "-recorded_at"], name="trip_position_latest")]

    def __str__(self) -> str:
        return f"Position of trip {self.trip_id} at {self.recorded_at.isoformat()}"


class TrackingSettings(models.Model):
    """A store's thresholds for live tracking's alerts (without a row, the defaults apply: see
    delivery.tracking.tracking_settings_for). Edited in the Django admin by the store's managers."""

    store = models.OneToOneField(
        "dispensary.Store", on_delete=models.CASCADE, related_name="tracking_settings"
    )
    off_route_m = models.PositiveIntegerField(
        default=1000,
        validators=[MinValueValidator(100), MaxValueValidator(50_000)],
        help_text="Alert when the car is farther than this (metres) from the planned route's remaining legs.",
    )
    stopped_minutes = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(2), MaxValueValidator(240)],
        help_text="Alert when the car has not moved (50 m) for this long away from every stop and the store.",
    )
    approaching_minutes = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Tell the customer the driver is nearly there when the arrival is this close (minutes)...",
    )
    approaching_m = models.PositiveIntegerField(
        default=500,
        validators=[MinValueValidator(50), MaxValueValidator(10_000)],
        help_text="... or when the car is within this distance of the stop (metres).",
    )

    class Meta:
        verbose_name_plural = "tracking settings"

    def __str__(self) -> str:
        return f"Tracking settings of {self.store}"


class TrackingAlert(models.Model):
    """Something a manager should know about a trip on the road, raised by live tracking once per condition:
    `condition` names it (the kind, and the stop for a late stop), and at most one alert per trip and condition
    is open (`resolved_at` empty) at a time, so a position that finds the same condition raises nothing new.
    An alert is resolved when its condition clears (back on the route, moving again, back in a zone; a late
    stop once it is closed) and acknowledged by a manager, who then saw it."""

    class Kind(models.TextChoices):
        OFF_ROUTE = "off_route", "Left the planned route"
        LATE = "late", "Running late for a window"
        STOPPED = "stopped", "Stopped too long"
        OUT_OF_ZONE = "out_of_zone", "Outside the delivery zones"
        OVER_CAP = "over_cap", "Over the vehicle value cap"

    organization = models.ForeignKey("dispensary.Organization", on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey("dispensary.Store", on_delete=models.PROTECT, related_name="tracking_alerts")
    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="tracking_alerts")
    stop = models.ForeignKey(
        TripStop, on_delete=models.CASCADE, null=True, blank=True, related_name="tracking_alerts"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    condition = models.CharField(max_length=40, help_text="The kind, with the stop for a late stop.")
    message = models.TextField()
    raised_at = models.DateTimeField()
    position = models.ForeignKey(
        TripPosition, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    late_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Late stops: minutes late.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["trip", "condition"],
                condition=models.Q(resolved_at__isnull=True),
                name="tracking_alert_one_open_per_condition",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "acknowledged_at", "raised_at"], name="tracking_alert_store_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on trip {self.trip_id}"
