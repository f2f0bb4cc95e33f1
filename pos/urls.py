from django.urls import path

from pos.views import counter as views
from pos.views import drawers, pins, sales

app_name = "pos"

urlpatterns = [
    path("", views.checkout, name="checkout"),
    path("lookup/", views.customer_lookup, name="customer_lookup"),
    path("customers/new/", views.customer_new, name="customer_new"),
]

# Cash drawers, manager PINs, and the sales screens with voids and refunds.
urlpatterns += [
    path("drawers/", drawers.drawer_index, name="drawer_index"),
    path("drawers/open/", drawers.drawer_open_view, name="drawer_open"),
    path("drawers/history/", drawers.drawer_history, name="drawer_history"),
    path("drawers/<int:pk>/", drawers.drawer_session, name="drawer_session"),
    path("drawers/<int:pk>/movements/", drawers.drawer_movement_view, name="drawer_movement"),
    path("drawers/<int:pk>/close/", drawers.drawer_close_view, name="drawer_close"),
    path("pin/", pins.manager_pin, name="manager_pin"),
    path("sales/", sales.sale_index, name="sale_index"),
    path("sales/<int:pk>/", sales.sale_detail, name="sale_detail"),
    path("sales/<int:pk>/void/", sales.sale_void_view, name="sale_void"),
    path("sales/<int:pk>/refund/", sales.sale_refund_view, name="sale_refund"),
]
