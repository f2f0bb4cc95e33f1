"""Messaging's pages and webhooks, mounted at /messaging/ by the composition root."""

from django.urls import include, path

from messaging import views_providers

app_name = "messaging"

urlpatterns: list = [
    *views_providers.urlpatterns,
    # The email providers' tracking webhooks: /messaging/anymail/<esp>/tracking/ (django-anymail).
    path("anymail/", include("anymail.urls")),
]
