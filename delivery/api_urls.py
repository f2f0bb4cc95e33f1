"""The delivery app's API, mounted at /api/v1/ by dispensary.api.urls."""

from django.urls import path

from delivery.api import DeliveryOrderCancelApi, DeliveryOrderCreateApi, DeliveryOrderDetailApi
from delivery.api_quote import DeliveryQuoteApi, DeliveryZoneListApi, OrderStatusApi

app_name = "delivery"

urlpatterns = [
    path("delivery-orders", DeliveryOrderCreateApi.as_view(), name="delivery-order-list"),
    path("delivery-orders/<id:order_id>", DeliveryOrderDetailApi.as_view(), name="delivery-order-detail"),
    path(
        "delivery-orders/<id:order_id>/cancel", DeliveryOrderCancelApi.as_view(), name="delivery-order-cancel"
    ),
    path("delivery-quotes", DeliveryQuoteApi.as_view(), name="delivery-quote"),
    path("delivery-zones", DeliveryZoneListApi.as_view(), name="delivery-zone-list"),
    path("orders/<id:order_id>/status", OrderStatusApi.as_view(), name="order-status"),
]
