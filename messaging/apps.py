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
        )
        from messaging.views_deliverability import can_see_deliverability

        nav_link_register(
            NavLink(
                "Deliverability", "messaging:deliverability", 65, can_see_deliverability, group="messaging"
            )
        )
        nav_link_register(
            NavLink(
                "Messages",
                "messaging:messages",
                66,
                can_see_deliverability,
                group="messaging",
                owns=("/messaging/messages/",),
            )
        )
