"""Messaging: consent, SMS and email providers, templates, flows, segments, campaigns, attribution."""

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import tracking

        from messaging import (
            delivery_handlers,  # noqa: F401 - the customer's delivery messages
            handlers,  # noqa: F401 - registers the handlers of pos events (receipts)
        )
        from messaging.email_tracking import on_tracking

        tracking.connect(on_tracking, dispatch_uid="messaging.email_tracking")
