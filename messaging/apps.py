"""Messaging: consent, SMS and email providers, templates, flows, segments, campaigns, attribution."""

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dispensary.navigation import NavLink, nav_link_register
        from messaging import (
            delivery_handlers,  # noqa: F401 - the customer's delivery messages
            handlers,  # noqa: F401 - registers the handlers of pos events (receipts)
            inbound,  # noqa: F401 - the double opt-in's request for a YES
        )
        from messaging.views_inbox import can_see_inbox

        nav_link_register(NavLink("Inbox", "messaging:inbox", 80, can_see_inbox, group="messaging"))
