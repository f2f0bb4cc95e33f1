from django.urls import path

from pos.views import counter as views
from pos.views import pickup as pickup_views

app_name = "pos"

urlpatterns = [
    path("", views.checkout, name="checkout"),
    path("lookup/", views.customer_lookup, name="customer_lookup"),
    path("customers/new/", views.customer_new, name="customer_new"),
    path("pickups/", pickup_views.pickup_orders, name="pickup_orders"),
    path("pickups/<int:order_id>/cancel/", pickup_views.pickup_order_cancel_view, name="pickup_order_cancel"),
]
