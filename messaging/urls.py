"""Messaging's pages and webhooks, mounted at /messaging/ by the composition root."""

from django.urls import include, path

from messaging import (
    urls_attr,
    urls_campaigns,
    urls_flows,
    urls_klaviyo,
    urls_loyalty,
    urls_loyalty_sync,
    urls_segments,
    views_deliverability,
    views_inbox,
    views_providers,
    views_queue,
    views_templates,
)

app_name = "messaging"

urlpatterns: list = [
    *views_providers.urlpatterns,
    # The email providers' tracking webhooks: /messaging/anymail/<esp>/tracking/ (django-anymail).
    path("anymail/", include("anymail.urls")),
    path("templates/", views_templates.template_index, name="template_index"),
    path("templates/new/", views_templates.template_create, name="template_create"),
    path("templates/<id:pk>/", views_templates.template_edit, name="template_edit"),
    path("templates/preview/", views_templates.template_preview, name="template_preview"),
    path("sms/inbound/", views_inbox.sms_inbound, name="sms-inbound"),
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:pk>/reply/", views_inbox.inbox_reply, name="inbox_reply"),
    path("inbox/<int:pk>/handled/", views_inbox.inbox_handled, name="inbox_handled"),
    *views_deliverability.urlpatterns,
    *urls_flows.urlpatterns,
    path("queue/", views_queue.queue_page, name="queue"),
    path("senders/", views_queue.sender_list, name="senders"),
    path("senders/<id:sender_id>/", views_queue.sender_edit, name="sender_edit"),
    *urls_loyalty.urlpatterns,
    *urls_klaviyo.urlpatterns,
    *urls_flows.urlpatterns,
    *urls_loyalty_sync.urlpatterns,
    *urls_attr.urlpatterns,
    *urls_segments.urlpatterns,
    *urls_campaigns.urlpatterns,
]
