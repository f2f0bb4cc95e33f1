"""Composition root: every app's URLs."""

from django.contrib import admin
from django.urls import include, path

from dispensary.dashboard import dashboard

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("dispensary.api.urls")),
    path("pos/", include("pos.urls")),
    path("delivery/", include("delivery.urls")),
    path("inventory/", include("inventory.urls")),
    path("compliance/", include("compliance.urls")),
    path("messaging/", include("messaging.urls")),
    path("dashboard/", dashboard, name="dashboard"),
    path("", include("dispensary.views.urls")),
]

handler403 = "dispensary.views.errors.permission_denied"
handler404 = "dispensary.views.errors.page_not_found"
handler500 = "dispensary.views.errors.server_error"
