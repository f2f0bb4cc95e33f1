"""Messaging's pages and webhooks, mounted at /messaging/ by the composition root."""

app_name = "messaging"

urlpatterns: list = []
