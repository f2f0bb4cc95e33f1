"""Core rows every app builds on: organizations, stores, staff, customers, the audit log, the event outbox
and API credentials."""

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from dispensary.roles import Role

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
jurisdiction_validator = RegexValidator(
    r"^[A-Z]{2}-[A-Z0-9]{1,3}$", "Use an ISO 3166-2 code such as US-CA.", code="jurisdiction"
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (for example America/Los_Angeles).")


def validate_opening_hours(value) -> None:
    """Opening hours: {"mon": [["09:00", "21:00"]], ...}; a missing day means closed."""
    if not isinstance(value, dict):
        raise ValidationError("Opening hours must map weekdays (mon..sun) to lists of [open, close] times.")
    for day, spans in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(f"Unknown weekday {day!r}; use mon, tue, wed, thu, fri, sat or sun.")
        if not isinstance(spans, list):
            raise ValidationError(f"{day}: give a list of [open, close] pairs.")
        for span in spans:
            if not (isinstance(span, list | tuple) and len(span) == 2):
                raise ValidationError(f"{day}: each span is a pair [open, close].")
            opens, closes = span
            for moment in (opens, closes):
                if not (isinstance(moment, str) and len(moment) == 5 and moment[2] == ":"):
                    raise ValidationError(f"{day}: times are HH:MM, got {moment!r}.")
                hour, minute = moment.split(":")
                if not (hour.isdigit() and minute.isdigit() and int(hour) <= 24 and int(minute) < 60):
                    raise ValidationError(f"{day}: {moment!r} is not a time of day.")
            if opens >= closes:
                raise ValidationError(f"{day}: opening {opens} must be before closing {closes}.")


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    """A licensed premises."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="stores")
    name = models.CharField(max_length=200)
    code = models.SlugField(
        max_length=40, help_text="Short code, unique in the organization (for URLs, receipts)."
    )
    license_adult_use = models.CharField("adult-use licence number", max_length=60, blank=True)
    license_medical = models.CharField("medical licence number", max_length=60, blank=True)
    jurisdiction = models.CharField(max_length=6, validators=[jurisdiction_validator])
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField("state or province", max_length=60)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, default="US")
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    phone = models.CharField(max_length=16, blank=True)
    opening_hours = models.JSONField(default=dict, blank=True, validators=[validate_opening_hours])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="store_code_unique_per_org"),
            models.CheckConstraint(
                condition=~models.Q(license_adult_use="", license_medical=""), name="store_has_a_licence"
            ),
        ]
        permissions = [("access_store", "Can work at this store")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.license_adult_use and not self.license_medical:
            raise ValidationError("A store needs an adult-use or a medical licence number.")

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class User(AbstractUser):
    """A staff member. Roles are groups (see dispensary.roles); stores are guardian object permissions."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )

    class Meta:
        ordering = ["username"]

    @property
    def role_names(self) -> list[str]:
        return [group.name for group in self.groups.all()]

    @property
    def primary_role(self) -> Role | None:
        return Role.primary(self.role_names)


class Customer(models.Model):
    class Type(models.TextChoices):
        ADULT_USE = "adult_use", "Adult use"
        MEDICAL = "medical", "Medical"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="customers")
    phone = models.CharField(max_length=16, help_text="E.164, for example +14155550134.")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state or province", max_length=60, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    customer_type = models.CharField(max_length=10, choices=Type.choices, default=Type.ADULT_USE)
    home_store = models.ForeignKey(Store, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    notes = models.TextField(blank=True)
    is_veteran = models.BooleanField("veteran (verified)", default=False)
    is_employee = models.BooleanField("employee", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "phone"], name="customer_phone_unique_per_org"),
            models.CheckConstraint(condition=models.Q(phone__startswith="+"), name="customer_phone_e164"),
        ]
        indexes = [models.Index(fields=["organization", "last_name", "first_name"])]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def full_name(self) -> str:
        return str(self)


class MarketingConsent(models.Model):
    """The consent ledger, append-only: each grant, revocation or confirmation per customer, channel and purpose,
    with the disclosure text the customer was shown and its version, where it came from (the counter with the
    staff member and register, a web form with its address and browser, a keyword reply, an import with its file
    and row), the 21+ affirmation California requires before marketing, and for SMS marketing the confirmation
    by reply (double opt-in: a counter grant waits, `awaiting_confirmation`, until the customer replies YES).
    The current state is derived from the latest rows (messaging.consent), never edited."""

    class Channel(models.TextChoices):
        SMS = "sms", "Text messages"
        EMAIL = "email", "Email"

    class Purpose(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        TRANSACTIONAL = "transactional", "Transactional"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="marketing_consents")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    purpose = models.CharField(max_length=13, choices=Purpose.choices, default=Purpose.MARKETING)
    granted = models.BooleanField()
    awaiting_confirmation = models.BooleanField(
        default=False, help_text="An SMS marketing grant not yet confirmed by the customer's reply."
    )
    age_affirmed = models.BooleanField(default=False, help_text="The customer affirmed being 21 or older.")
    disclosure_version = models.CharField(max_length=40)
    disclosure_text = models.TextField()
    source = models.CharField(
        max_length=20,
        help_text="counter, api, web, keyword (a reply), import, unsubscribe (a link), carrier, staff.",
    )
    register_label = models.CharField(max_length=100, blank=True, help_text="The register, at the counter.")
    ip_address = models.GenericIPAddressField(null=True, blank=True, help_text="A web form's address.")
    user_agent = models.CharField(max_length=400, blank=True, help_text="A web form's browser.")
    import_file = models.CharField(max_length=255, blank=True)
    import_row = models.PositiveIntegerField(null=True, blank=True)
    evidence = models.CharField(
        max_length=500, blank=True, help_text="The reply's words and message id, or what else proves it."
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["customer_id", "channel", "-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "channel", "recorded_at"], name="consent_customer_channel")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(awaiting_confirmation=False) | models.Q(granted=True),
                name="consent_only_grants_await_confirmation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {'granted' if self.granted else 'withdrawn'} {self.recorded_at:%Y-%m-%d}"


class AuditRecord(models.Model):
    """Append-only: who did what, when, with the state before and after. PostgreSQL refuses UPDATE/DELETE."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="Who acted, kept readable if the row goes away.")
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["organization", "action"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError("Audit records are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit records are append-only.")


class OutboxEvent(models.Model):
    """A domain event, written in the transaction that made it true."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, db_index=True)
    version = models.PositiveSmallIntegerField(default=1)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} #{self.pk}"


class EventDelivery(models.Model):
    """One (event, handler) pair: its attempts, last error and next retry. Succeeded is the idempotency mark."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        DEAD = "dead", "Dead letter"

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="one_delivery_per_event_handler"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        permissions = [("retry_eventdelivery", "Can retry dead-letter event deliveries")]

    def __str__(self) -> str:
        return f"{self.event.name} -> {self.handler} ({self.status})"


class ApiClient(models.Model):
    """A third party's credentials: one organization, chosen stores and scopes; the secret is stored hashed."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="api_clients")
    name = models.CharField(max_length=120)
    key_prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    stores = models.ManyToManyField(Store, related_name="api_clients")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization_id", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix})"


class StaffToken(models.Model):
    """A staff member's API token; it acts with that member's roles and stores. Stored hashed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    key_prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user_id", "name"]

    def __str__(self) -> str:
        return f"{self.user} / {self.name} ({self.key_prefix})"


class IdempotencyKey(models.Model):
    """An API write answered under the caller's Idempotency-Key: a retry gets the first answer, not a second
    write. Claimed in the transaction of the write, so a concurrent retry waits for it."""

    principal = models.CharField(max_length=40, help_text='"user:<id>" or "client:<id>".')
    endpoint = models.CharField(max_length=300, help_text='Method and path, e.g. "POST /api/v1/customers".')
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "endpoint", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.endpoint} {self.key}"


class WebhookSubscription(models.Model):
    """An API client's standing order for one kind of event (a REST hook, as Zapier subscribes): each event is
    POSTed to the target, signed with the subscription's secret (Standard Webhooks)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused after repeated failures"
        ENDED = "ended", "Ended by the receiver (410 Gone)"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    event_type = models.CharField(max_length=60)
    target_url = models.URLField(max_length=2000)
    # Shown once, when the subscription is made; needed in clear to sign each delivery.
    secret = models.CharField(max_length=100, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["organization", "event_type", "status"], name="webhook_sub_lookup")]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.target_url}"


class WebhookDelivery(models.Model):
    """One event sent to one subscription: its attempts, the last answer and the next retry. The webhook-id
    (`message_id`) stays the same across retries, so the receiver can drop a duplicate."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Given up"
        CANCELLED = "cancelled", "Cancelled (the subscription ended)"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=60)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveIntegerField(null=True, blank=True)
    last_response_body = models.CharField(max_length=500, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_once")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} ({self.status})"
