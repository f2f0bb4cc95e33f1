"""Messaging: consent, SMS and email providers, templates, flows, segments, campaigns, attribution."""

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import tracking

        from dispensary.navigation import NavLink, nav_link_register
        from dispensary.wording import words_add
        from messaging import (
            delivery_handlers,  # noqa: F401 - the customer's delivery messages
            handlers,  # noqa: F401 - registers the handlers of pos events (receipts)
            transactional_handlers,  # noqa: F401 - pickup, loyalty and medical card messages
            webhook_handlers,  # noqa: F401 - events sent to the API clients' REST hooks
        )
        from messaging.views_templates import can_edit_templates

        words_add(
            {
                "message_template.created": "Message template written",
                "message_template.changed": "Message template changed",
            }
        )
        nav_link_register(
            NavLink(
                "Templates",
                "messaging:template_index",
                68,
                can_edit_templates,
                group="messaging",
                owns=("/messaging/templates/",),
            )
        )
        from messaging.email_tracking import on_tracking

        tracking.connect(on_tracking, dispatch_uid="messaging.email_tracking")
        from messaging import inbound  # noqa: F401 - the double opt-in's request for a YES
        from messaging.views_inbox import can_see_inbox

        nav_link_register(NavLink("Inbox", "messaging:inbox", 65, can_see_inbox, group="messaging"))
        from messaging.views_deliverability import can_see_deliverability

        nav_link_register(
            NavLink(
                "Deliverability", "messaging:deliverability", 67, can_see_deliverability, group="messaging"
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
        from messaging.services_senders import SENDER_WORDS
        from messaging.views_queue import can_see_queue, can_see_senders

        words_add(SENDER_WORDS)

        nav_link_register(NavLink("Send queue", "messaging:queue", 69, can_see_queue, group="messaging"))
        nav_link_register(NavLink("Senders", "messaging:senders", 69, can_see_senders, group="messaging"))
