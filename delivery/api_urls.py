"""The delivery app's API, mounted at /api/v1/ by dispensary.api.urls."""

from django.urls import path

from delivery.api import DeliveryOrderCancelApi, DeliveryOrderCreateApi, DeliveryOrderDetailApi

app_name = "delivery"

urlpatterns = [
    path("delivery-orders", DeliveryOrderCreateApi.as_view(), name="delivery-order-list"),
    path("delivery-orders/<id:order_id>", DeliveryOrderDetailApi.as_view(), name="delivery-order-detail"),
    path(
        "delivery-orders/<id:order_id>/cancel", DeliveryOrderCancelApi.as_view(), name="delivery-order-cancel"
    ),
]
