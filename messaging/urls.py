"""Messaging's pages and webhooks, mounted at /messaging/ by the composition root."""

from messaging import views_deliverability

app_name = "messaging"

urlpatterns: list = [
    *views_deliverability.urlpatterns,
]
