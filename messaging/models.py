"""Messages sent to customers: one row per text or email, with what the provider answered. A message caused
by an event is keyed by that event and its channel, so a redelivered event never sends twice."""

from django.db import models

from dispensary.models import Customer, Organization, Store


class OutboundMessage(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", "Text message"
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="outbound_messages"
    )
    channel = models.CharField(max_length=5, choices=Channel.choices)
    purpose = models.CharField(max_length=40, help_text="receipt, campaign, flow, ...")
    reference = models.CharField(max_length=80, blank=True, help_text='What it is about, e.g. "sale:42".')
    to = models.CharField(max_length=254, help_text="E.164 phone number or email address.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.QUEUED)
    provider = models.CharField(max_length=40, blank=True)
    provider_message_id = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)
    source_event = models.UUIDField(null=True, blank=True, help_text="The outbox event that caused it.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_event", "channel"],
                condition=models.Q(source_event__isnull=False),
                name="messaging_one_message_per_event_channel",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="messaging_out_org_time"),
            models.Index(fields=["customer", "created_at"], name="messaging_out_customer_time"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to} ({self.status})"
