"""Models of the compliance app."""

from django.core.validators import MinValueValidator
from django.db import models

from dispensary.models import jurisdiction_validator, validate_time_zone
from inventory.models import LimitBucket

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
        default=False, help_text="The figure and citation were checked against the source text."
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
        return f"{self.jurisdiction_id} {self.customer_type} {self.label} {self.amount} {self.unit}"


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
        return f"{self.jurisdiction_id} {self.customer_type} {self.minimum_age}+"


class DeliveryRule(SourcedRule):
    """When deliveries may happen (store-local hours) and how much product a vehicle may carry."""

    class ValueBasis(models.TextChoices):
        RETAIL = "retail", "Retail value"
        WHOLESALE = "wholesale", "Wholesale value"

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.CASCADE, related_name="delivery_rules")
    hours_start = models.TimeField(null=True, blank=True)
    hours_end = models.TimeField(null=True, blank=True)
    vehicle_value_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    value_basis = models.CharField(max_length=20, choices=ValueBasis.choices, default=ValueBasis.RETAIL)

    class Meta:
        ordering = ["jurisdiction_id", "effective_from"]

    def __str__(self) -> str:
        return f"{self.jurisdiction_id} delivery {self.hours_start}-{self.hours_end}"


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
        return f"{self.jurisdiction_id} {self.name} {self.rate}%"


# ------------------------------------------------- end of rules -------------------------------------------------
