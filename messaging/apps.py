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
            attribution_handlers,  # noqa: F401 - sales credited to the messages that earned them
            delivery_handlers,  # noqa: F401 - the customer's delivery messages
            flow_handlers,  # noqa: F401 - the flows' triggers, goal and webhooks
            handlers,  # noqa: F401 - registers the handlers of pos events (receipts)
            segment_handlers,  # noqa: F401 - customer metrics and saved segments kept current
            transactional_handlers,  # noqa: F401 - pickup, loyalty and medical card messages
            webhook_handlers,  # noqa: F401 - events sent to the API clients' REST hooks
        )
        from messaging.loyalty_sync import handlers as loyalty_sync_handlers  # noqa: F401 - Alpine IQ, Springbig
        from messaging.views_templates import can_edit_templates

        words_add(
            {
                "message_template.created": "Message template written",
                "message_template.changed": "Message template changed",
                "customer.loyalty_link_sent": "Loyalty page link texted",
                "flow.status_changed": "Flow switched on or off",
                "flow_enrollment.cancelled": "Customer taken out of a flow",
                "customer.updated_by_flow": "Customer profile updated by a flow",
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

        from messaging.views_results import can_see_results

        nav_link_register(
            NavLink(
                "Results",
                "messaging:results",
                73,
                can_see_results,
                group="messaging",
                owns=("/messaging/results/",),
            )
        )
        from messaging.views_segments import can_see_segments

        nav_link_register(
            NavLink(
                "Segments",
                "messaging:segments",
                70,
                can_see_segments,
                group="messaging",
                owns=("/messaging/segments/",),
            )
        )
        nav_link_register(NavLink("Send queue", "messaging:queue", 69, can_see_queue, group="messaging"))
        nav_link_register(NavLink("Senders", "messaging:senders", 69, can_see_senders, group="messaging"))
        from messaging import klaviyo_sync  # noqa: F401 - Klaviyo kept in step: profiles, consent, events
        from messaging.klaviyo_services import WORDS as KLAVIYO_WORDS
        from messaging.views_klaviyo import can_manage_klaviyo

        words_add(KLAVIYO_WORDS)
        nav_link_register(
            NavLink(
                "Klaviyo",
                "messaging:klaviyo",
                74,
                can_manage_klaviyo,
                group="messaging",
                owns=("/messaging/integrations/klaviyo/",),
            )
        )
        from messaging.services_flow_editor import FLOW_WORDS
        from messaging.views_flows import can_manage_flows

        words_add(FLOW_WORDS)
        nav_link_register(
            NavLink(
                "Flows",
                "messaging:flows",
                71,
                can_manage_flows,
                group="messaging",
                owns=("/messaging/flows/",),
            )
        )
        from messaging.loyalty_sync.settings import SETTINGS_WORDS
        from messaging.views_loyalty_sync import can_manage_loyalty_sync

        words_add(SETTINGS_WORDS)
        nav_link_register(
            NavLink(
                "Alpine IQ and Springbig",
                "messaging:loyalty_sync",
                74,
                can_manage_loyalty_sync,
                group="messaging",
                owns=("/messaging/integrations/loyalty/",),
            )
        )
        from messaging.views_campaigns import can_manage_campaigns

        nav_link_register(
            NavLink(
                "Campaigns",
                "messaging:campaign_index",
                72,
                can_manage_campaigns,
                group="messaging",
                owns=("/messaging/campaigns/",),
            )
        )
        words_add(
            {
                "campaign.created": "Campaign written",
                "campaign.changed": "Campaign changed",
                "campaign.scheduled": "Campaign scheduled",
                "campaign.cancelled": "Campaign cancelled",
                "campaign.test_sent": "Campaign test sent to staff",
                "messaging.segment_saved": "Segment saved",
                "messaging.segment_archived": "Segment archived",
            }
        )
