"""Composition root: every app's URLs."""

from django.contrib import admin
from django.urls import include, path

from dispensary.dashboard import dashboard
from messaging.coupon_page import coupon_page
from messaging.views_links import link_open
from messaging.views_loyalty_page import public_urlpatterns as loyalty_page_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("dispensary.api.urls")),
    path("pos/", include("pos.urls")),
    path("delivery/", include("delivery.urls")),
    path("inventory/", include("inventory.urls")),
    path("compliance/", include("compliance.urls")),
    path("messaging/", include("messaging.urls")),
    path("dashboard/", dashboard, name="dashboard"),
    # Short links in texts and emails: as short as they can be, at the root.
    path("l/<str:code>", link_open, name="link_open"),
    # The customer's loyalty page: by a texted link and a PIN, no staff login.
    path("my/", include(loyalty_page_urls)),
    # A personal coupon on the customer's phone: the code, a QR code and a barcode for the register's scanner.
    path("c/<str:token>/", coupon_page, name="coupon_page"),
    path("", include("dispensary.views.urls")),
]

handler403 = "dispensary.views.errors.permission_denied"
handler404 = "dispensary.views.errors.page_not_found"
handler500 = "dispensary.views.errors.server_error"
