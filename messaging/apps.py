"""Messaging: consent, SMS and email providers, templates, flows, segments, campaigns, attribution."""

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messaging import (
            delivery_handlers,  # noqa: F401 - the customer's delivery messages
            handlers,  # noqa: F401 - registers the handlers of pos events (receipts)
        )
