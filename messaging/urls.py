"""Messaging's pages and webhooks, mounted at /messaging/ by the composition root."""

from django.urls import path

from messaging import views_inbox

app_name = "messaging"

urlpatterns: list = [
    path("sms/inbound/", views_inbox.sms_inbound, name="sms-inbound"),
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:pk>/reply/", views_inbox.inbox_reply, name="inbox_reply"),
    path("inbox/<int:pk>/handled/", views_inbox.inbox_handled, name="inbox_handled"),
]
