"""The campaign pages' addresses (messaging.views_campaigns), in the "messaging" namespace."""

from django.urls import path

from messaging import views_campaigns as views

urlpatterns = [
    path("campaigns/", views.campaign_index, name="campaign_index"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/preview/", views.campaign_preview, name="campaign_preview"),
    path("campaigns/<id:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<id:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<id:pk>/progress/", views.campaign_progress_fragment, name="campaign_progress"),
    path("campaigns/<id:pk>/schedule/", views.campaign_schedule_view, name="campaign_schedule"),
    path("campaigns/<id:pk>/cancel/", views.campaign_cancel_view, name="campaign_cancel"),
    path("campaigns/<id:pk>/test/", views.campaign_test_view, name="campaign_test"),
]
