"""Models of the compliance app."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from dispensary.models import jurisdiction_validator, validate_time_zone
from inventory.models import LimitBucket, Product

# What cannabis taxes are charged on: every product category but accessories (papers, pipes, lighters).
CANNABIS_CATEGORIES = [value for value in Product.Category.values if value != Product.Category.ACCESSORY]


def validate_categories(value) -> None:
    """A list of product categories, each known and once."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Give a list of product categories.")
    unknown = sorted(set(value) - set(Product.Category.values))
    if unknown:
        raise ValidationError(
            f"Unknown product categories: {', '.join(unknown)}; use {', '.join(Product.Category.values)}."
        )
    if len(set(value)) != len(value):
        raise ValidationError("Name each category once.")


# ---------------------------------------------------------------------------------------------------------------
# Jurisdiction rules (purchase limits, equivalency, ages, delivery, taxes) as dated rows with a citation each.
# Owned by the rules work; compliance.selectors loads them into compliance.rules' pure input objects.
# ---------------------------------------------------------------------------------------------------------------


class CustomerType(models.TextChoices):
    ADULT_USE = "adult_use", "Adult use"
    MEDICAL = "medical", "Medical"


class Jurisdiction(models.Model):
    """A state (or other authority) whose rules a store follows; its zone is the default for "today"."""

    code = models.CharField(max_length=6, unique=True, validators=[jurisdiction_validator])
    name = models.CharField(max_length=100)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    adult_use_legal = models.BooleanField(default=True)
    medical_legal = models.BooleanField(default=True)
    anonymous_sales_allowed = models.BooleanField(
        default=True,
        help_text="Adult-use sales without a customer record (medical sales always need the patient).",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SourcedRule(models.Model):
    """Common to every rule row: the dates it is in force (both inclusive) and where it comes from."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="+")
    effective_from = models.DateField()
    effective_to = models.DateField(
        null=True, blank=True, help_text="Last day in force; empty while in force."
    )
    citation = models.CharField(
        max_length=300, help_text='Statute or regulation section; "unconfirmed" when not verified.'
    )
    confirmed = models.BooleanField(
        default=False,
        help_text="The figure and citation are known with confidence; unconfirmed rows need a check against the source.",
    )
    note = models.TextField(blank=True)

    class Meta:
        abstract = True


class PurchaseLimit(SourcedRule):
    """One allowance: the sum of its terms (bucket amount x factor) over its window may not exceed `amount`.

    A plain limit has one term with factor 1; an equivalency (Colorado, Massachusetts) has several terms
    measured in one unit, e.g. 28 g flower-equivalent with concentrate counting 3.5 per gram."""

    class Window(models.TextChoices):
        TRANSACTION = "transaction", "Per transaction"
        LOCAL_DAY = "local_day", "Store's local calendar day"
        ROLLING_DAYS = "rolling_days", "Rolling number of days"

    class Residency(models.TextChoices):
        ANY = "any", "Anyone"
        RESIDENT = "resident", "Residents"
        NON_RESIDENT = "non_resident", "Non-residents"

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="purchase_limits")
    customer_type = models.CharField(max_length=20, choices=CustomerType.choices)
    residency = models.CharField(max_length=20, choices=Residency.choices, default=Residency.ANY)
    age_min = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Applies from this age.")
    age_max = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Applies up to this age.")
    label = models.CharField(max_length=80, help_text='How a budtender names it: "flower", "concentrate".')
    unit = models.CharField(max_length=20, help_text='Unit of the amount: "g", "mg", "plants".')
    amount = models.DecimalField(max_digits=12, decimal_places=3, validators=[MinValueValidator(0)])
    window = models.CharField(max_length=20, choices=Window.choices)
    window_days = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["jurisdiction_id", "customer_type", "label", "effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(window="rolling_days", window_days__gte=1)
                    | (~models.Q(window="rolling_days") & models.Q(window_days__isnull=True))
                ),
                name="purchase_limit_window_days",
            ),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                name="purchase_limit_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction.code} {self.customer_type} {self.label} {self.amount} {self.unit}"


class PurchaseLimitTerm(models.Model):
    """A bucket counted by an allowance, and how much one unit of it weighs in the allowance's unit."""

    limit = models.ForeignKey(PurchaseLimit, on_delete=models.CASCADE, related_name="terms")
    bucket = models.CharField(max_length=20, choices=LimitBucket.choices)
    factor = models.DecimalField(
        max_digits=12, decimal_places=6, default=1, validators=[MinValueValidator(0)]
    )

    class Meta:
        ordering = ["limit_id", "id"]
        constraints = [models.UniqueConstraint(fields=["limit", "bucket"], name="one_term_per_bucket")]

    def __str__(self) -> str:
        return f"{self.bucket} x {self.factor}"


class AgeRule(SourcedRule):
    """The minimum age to buy as a customer type; younger customers only through a caregiver, when allowed."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="age_rules")
    customer_type = models.CharField(max_length=20, choices=CustomerType.choices)
    minimum_age = models.PositiveSmallIntegerField()
    younger_through_caregiver = models.BooleanField(default=False)

    class Meta:
        ordering = ["jurisdiction_id", "customer_type", "effective_from"]

    def __str__(self) -> str:
        return f"{self.jurisdiction.code} {self.customer_type} {self.minimum_age}+"


class DeliveryRule(SourcedRule):
    """A state's rule on retail delivery: whether it is allowed, the hours (jurisdiction-local) deliveries may
    happen and when the driver must be back, or the retail value a vehicle may carry. A row states hours
    (`hours` = window), says the state's rules set none (`hours` = none_stated), or is about something else
    (`hours` empty, e.g. a vehicle cap row)."""

    class ValueBasis(models.TextChoices):
        RETAIL = "retail", "Retail value"
        WHOLESALE = "wholesale", "Wholesale value"

    class Hours(models.TextChoices):
        NOT_COVERED = "", "Not about hours"
        WINDOW = "window", "Deliveries only between the hours given"
        NONE_STATED = "none_stated", "The state's rules set no delivery hours"

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="delivery_rules")
    delivery_permitted = models.BooleanField(
        default=True, help_text="Off: the state's rules allow no retail delivery to customers."
    )
    hours = models.CharField(max_length=12, choices=Hours.choices, blank=True, default="")
    hours_start = models.TimeField(null=True, blank=True)
    hours_end = models.TimeField(null=True, blank=True)
    return_by = models.TimeField(
        null=True, blank=True, help_text="The driver must be back at the premises by this local time."
    )
    vehicle_value_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    unordered_value_cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Of the vehicle's value, the most that may be goods not yet on a customer's order.",
    )
    value_basis = models.CharField(max_length=20, choices=ValueBasis.choices, default=ValueBasis.RETAIL)

    class Meta:
        ordering = ["jurisdiction_id", "effective_from"]
        constraints = [
            models.CheckConstraint(
                # A window has its two times, "none stated" has none; rows about something else ("") may
                # carry legacy times, which only a window row's are read.
                condition=(
                    models.Q(hours="window", hours_start__isnull=False, hours_end__isnull=False)
                    | models.Q(hours="none_stated", hours_start__isnull=True, hours_end__isnull=True)
                    | models.Q(hours="")
                ),
                name="delivery_rule_hours_given_with_window",
            ),
            models.CheckConstraint(
                condition=models.Q(hours_start__isnull=True)
                | models.Q(hours_end__gt=models.F("hours_start")),
                name="delivery_rule_hours_in_order",
            ),
        ]

    def __str__(self) -> str:
        if not self.delivery_permitted:
            return f"{self.jurisdiction.code} no delivery"
        if self.hours == self.Hours.WINDOW:
            return f"{self.jurisdiction.code} delivery {self.hours_start}-{self.hours_end}"
        if self.hours == self.Hours.NONE_STATED:
            return f"{self.jurisdiction.code} delivery hours: none stated"
        return f"{self.jurisdiction.code} vehicle cap {self.vehicle_value_cap}"


class TaxRate(SourcedRule):
    """A tax on cannabis sales: its level, rate, what it is charged on, and whether shelf prices include it."""

    class Level(models.TextChoices):
        EXCISE = "excise", "Excise"
        STATE = "state", "State sales"
        LOCAL = "local", "Local"

    class Base(models.TextChoices):
        RETAIL_PRICE = "retail_price", "Percent of the retail price"
        RETAIL_PRICE_WITH_EXCISE = "retail_price_with_excise", "Percent of the retail price plus excise"
        WHOLESALE = "wholesale", "Charged at wholesale (not on the receipt)"

    class Applies(models.TextChoices):
        ADULT_USE = "adult_use", "Adult use"
        MEDICAL = "medical", "Medical"
        BOTH = "both", "Adult use and medical"

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="tax_rates")
    name = models.CharField(max_length=120)
    level = models.CharField(max_length=20, choices=Level.choices)
    customer_type = models.CharField(max_length=20, choices=Applies.choices, default=Applies.BOTH)
    products = models.CharField(
        max_length=200, blank=True, help_text="Which products it applies to, when not all (e.g. edibles)."
    )
    categories = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_categories],
        help_text="The product categories it is charged on (cannabis taxes leave accessories out); "
        "empty: every category.",
    )
    rate = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Percent. Empty when it varies by locality and is set per store.",
    )
    base = models.CharField(max_length=30, choices=Base.choices, default=Base.RETAIL_PRICE)
    included_in_price = models.BooleanField(default=False)

    class Meta:
        ordering = ["jurisdiction_id", "level", "name", "effective_from"]

    def __str__(self) -> str:
        return f"{self.jurisdiction.code} {self.name} {self.rate}%"


# ------------------------------------------------- end of rules -------------------------------------------------


# --- Patients, ID checks and anti-looping (the lead's section) ---------------------------------------------


class PatientRegistration(models.Model):
    """A customer's medical registry card. An expired card blocks medical sales."""

    customer = models.OneToOneField(
        "dispensary.Customer", on_delete=models.CASCADE, related_name="patient_registration"
    )
    card_number = models.CharField(max_length=60)
    state = models.CharField(max_length=2, help_text="Issuing state, e.g. MI.")
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField()
    qualifying_conditions = models.JSONField(
        default=list,
        blank=True,
        help_text="For the medical program's demographics reports where a state asks.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["state", "card_number"], name="one_registration_per_card")
        ]

    def __str__(self) -> str:
        return f"{self.state} card {self.card_number}"


class Recommendation(models.Model):
    """A physician's recommendation for a patient, with the amounts it allows when it gives them."""

    registration = models.ForeignKey(
        PatientRegistration, on_delete=models.CASCADE, related_name="recommendations"
    )
    physician_name = models.CharField(max_length=200)
    physician_license = models.CharField(max_length=60, blank=True)
    issued_on = models.DateField()
    expires_on = models.DateField()
    allowed_amounts = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per bucket when the recommendation gives them, e.g. {"flower_g": "99"}.',
    )

    class Meta:
        ordering = ["-expires_on", "-id"]

    def __str__(self) -> str:
        return f"{self.physician_name} until {self.expires_on}"


class CaregiverLink(models.Model):
    """A caregiver may buy for the patients linked to them (and only while the link is valid)."""

    caregiver = models.ForeignKey(
        "dispensary.Customer", on_delete=models.CASCADE, related_name="patients_cared_for"
    )
    patient = models.ForeignKey("dispensary.Customer", on_delete=models.CASCADE, related_name="caregivers")
    caregiver_card_number = models.CharField(max_length=60, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caregiver", "patient"], name="one_link_per_caregiver_patient"),
            models.CheckConstraint(
                condition=~models.Q(caregiver=models.F("patient")), name="caregiver_is_not_patient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.caregiver} cares for {self.patient}"


class IdVerification(models.Model):
    """One ID check at a counter. The ID number is kept only as a keyed hash."""

    class Method(models.TextChoices):
        SCAN = "scan", "Scanned barcode"
        MANUAL = "manual", "Typed date of birth"

    store = models.ForeignKey("dispensary.Store", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "dispensary.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="id_verifications",
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    method = models.CharField(max_length=6, choices=Method.choices)
    id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    issuing_state = models.CharField(max_length=2, blank=True)
    date_of_birth = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    age = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    problems = models.JSONField(default=list, blank=True)
    local_date = models.DateField(help_text="The store's local date of the check.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["id_hash", "local_date"])]

    def __str__(self) -> str:
        return f"ID check at {self.store} on {self.local_date} ({'passed' if self.passed else 'refused'})"


class LoopingAlert(models.Model):
    """The same ID checked at two stores of the organization on the same local day."""

    organization = models.ForeignKey("dispensary.Organization", on_delete=models.PROTECT, related_name="+")
    verification = models.ForeignKey(IdVerification, on_delete=models.PROTECT, related_name="alerts")
    earlier = models.ForeignKey(IdVerification, on_delete=models.PROTECT, related_name="+")
    local_date = models.DateField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Looping alert {self.local_date}: {self.earlier.store} then {self.verification.store}"


# --- Reports to the state: the sync queue (the lead's section) ---------------------------------------------


class SyncRecord(models.Model):
    """One report to the state: what to send (the provider's own request objects, editable before a resend),
    its status, attempts and the state's answer. Created by event handlers in their transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent, answer unknown"
        ACCEPTED = "accepted", "Accepted"
        FAILED = "failed", "Failed"
        MANUAL = "manual", "Entered manually in Metrc"

    store = models.ForeignKey("dispensary.Store", on_delete=models.PROTECT, related_name="sync_records")
    license_number = models.CharField(
        max_length=60,
        blank=True,
        help_text="The store's licence the report goes under (a medical sale under the medical licence); "
        "empty: the store's main licence.",
    )
    kind = models.CharField(max_length=40, help_text="The operation, e.g. sales_receipt.create.")
    payload = models.JSONField(help_text="The request objects as they are sent.")
    order_keys = models.JSONField(
        default=list, blank=True, help_text="Package labels: reports touching a package are sent in order."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    state_answer = models.JSONField(null=True, blank=True)
    source_event = models.UUIDField(null=True, blank=True, help_text="The outbox event that caused it.")
    reference_type = models.CharField(max_length=40, blank=True)
    reference_id = models.CharField(max_length=64, blank=True)
    external_number = models.CharField(
        max_length=60, blank=True, help_text="Our number for it at the state (receipts), to find it again."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_event", "kind", "store"],
                condition=models.Q(source_event__isnull=False),
                name="one_report_per_event_kind_store",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "status", "id"]),
            models.Index(fields=["reference_type", "reference_id"]),
        ]
        permissions = [
            ("resolve_syncrecord", "Can retry, edit and resend, or mark reports as entered manually")
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class SyncLane(models.Model):
    """One sender at a time per store keeps the order of reports: the lane's lease says who sends."""

    store = models.OneToOneField("dispensary.Store", on_delete=models.CASCADE, related_name="sync_lane")
    leased_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"Sync lane of {self.store}"
