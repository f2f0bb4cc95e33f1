"""The point of sale's API, mounted at /api/v1/ by dispensary.api.urls."""

from django.urls import path

from dispensary.api.routing import by_method
from pos.api.customers import CustomerLoyaltyApi, CustomerPurchaseListApi
from pos.api.pickup import (
    PickupOrderCancelApi,
    PickupOrderCreateApi,
    PickupOrderDetailApi,
    PickupOrderListApi,
)
from pos.api.sales import SaleDetailApi, SaleListApi

app_name = "pos"

urlpatterns = [
    path("sales", SaleListApi.as_view(), name="sale-list"),
    path("sales/<id:sale_id>", SaleDetailApi.as_view(), name="sale-detail"),
    path(
        "pickup-orders",
        by_method(get=PickupOrderListApi, post=PickupOrderCreateApi),
        name="pickup-order-list",
    ),
    path("pickup-orders/<id:order_id>", PickupOrderDetailApi.as_view(), name="pickup-order-detail"),
    path("pickup-orders/<id:order_id>/cancel", PickupOrderCancelApi.as_view(), name="pickup-order-cancel"),
    path(
        "customers/<id:customer_id>/purchases", CustomerPurchaseListApi.as_view(), name="customer-purchases"
    ),
    path("customers/<id:customer_id>/loyalty", CustomerLoyaltyApi.as_view(), name="customer-loyalty"),
]
