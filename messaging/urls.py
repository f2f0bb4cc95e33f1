"""Messaging's pages and webhooks, mounted at /messaging/ by the composition root."""

from django.urls import path

from messaging import views_queue

app_name = "messaging"

urlpatterns: list = [
    path("queue/", views_queue.queue_page, name="queue"),
    path("senders/", views_queue.sender_list, name="senders"),
    path("senders/<id:sender_id>/", views_queue.sender_edit, name="sender_edit"),
]
