"""URLs of the Alpine IQ and Springbig settings page."""

from django.urls import path

from messaging import views_loyalty_sync

urlpatterns = [
    path("integrations/loyalty/", views_loyalty_sync.loyalty_sync_page, name="loyalty_sync"),
    path(
        "integrations/loyalty/<str:vendor>/", views_loyalty_sync.loyalty_sync_save, name="loyalty_sync_save"
    ),
    path(
        "integrations/loyalty/<str:vendor>/sync/",
        views_loyalty_sync.loyalty_sync_now,
        name="loyalty_sync_now",
    ),
]
