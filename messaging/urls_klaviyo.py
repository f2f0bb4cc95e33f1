"""The Klaviyo settings page, in the "messaging" namespace (mounted at /messaging/)."""

from django.urls import path

from messaging import views_klaviyo

urlpatterns = [
    path("integrations/klaviyo/", views_klaviyo.klaviyo_settings, name="klaviyo"),
    path("integrations/klaviyo/test/", views_klaviyo.klaviyo_test, name="klaviyo_test"),
    path("integrations/klaviyo/backfill/", views_klaviyo.klaviyo_backfill, name="klaviyo_backfill"),
    path("integrations/klaviyo/progress/", views_klaviyo.klaviyo_progress, name="klaviyo_progress"),
]
