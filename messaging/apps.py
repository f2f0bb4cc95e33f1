"""Messaging: consent, SMS and email providers, templates, flows, segments, campaigns, attribution."""

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dispensary.navigation import NavLink, nav_link_register
        from dispensary.wording import words_add
        from messaging import (
            delivery_handlers,  # noqa: F401 - the customer's delivery messages
            handlers,  # noqa: F401 - registers the handlers of pos events (receipts)
        )
        from messaging.services_senders import SENDER_WORDS
        from messaging.views_queue import can_see_queue, can_see_senders

        words_add(SENDER_WORDS)

        nav_link_register(NavLink("Send queue", "messaging:queue", 65, can_see_queue, group="messaging"))
        nav_link_register(NavLink("Senders", "messaging:senders", 66, can_see_senders, group="messaging"))
