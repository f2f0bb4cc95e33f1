"""Messaging: consent, SMS and email providers, templates, flows, segments, campaigns, attribution."""

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messaging import handlers  # noqa: F401 - registers the handlers of pos events (receipts)
