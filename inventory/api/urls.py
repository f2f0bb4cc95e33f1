"""Inventory's API, mounted at /api/v1/inventory/ by dispensary.api.urls."""

from django.urls import path

from inventory.api.catalog import MenuItemListApi, ProductDetailApi, ProductListApi
from inventory.api.receiving import (
    TransferCompleteApi,
    TransferDetailApi,
    TransferImportApi,
    TransferLineDecideApi,
    TransferScanApi,
)
from inventory.api.stock import PackageAdjustApi, PackageDetailApi, PackageListApi, StockMovementListApi

app_name = "inventory"

urlpatterns = [
    path("products", ProductListApi.as_view(), name="product-list"),
    path("products/<id:product_id>", ProductDetailApi.as_view(), name="product-detail"),
    path("menu", MenuItemListApi.as_view(), name="menu"),
    path("packages", PackageListApi.as_view(), name="package-list"),
    path("packages/<id:package_id>", PackageDetailApi.as_view(), name="package-detail"),
    path("packages/<id:package_id>/adjustments", PackageAdjustApi.as_view(), name="package-adjust"),
    path("movements", StockMovementListApi.as_view(), name="movement-list"),
    path("transfers", TransferImportApi.as_view(), name="transfer-import"),
    path("transfers/<id:transfer_id>", TransferDetailApi.as_view(), name="transfer-detail"),
    path("transfers/<id:transfer_id>/scans", TransferScanApi.as_view(), name="transfer-scan"),
    path(
        "transfers/<id:transfer_id>/lines/<id:line_id>/decision",
        TransferLineDecideApi.as_view(),
        name="transfer-line-decide",
    ),
    path("transfers/<id:transfer_id>/complete", TransferCompleteApi.as_view(), name="transfer-complete"),
]
