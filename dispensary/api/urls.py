"""The REST API, mounted at /api/: version 1, its OpenAPI schema, and the docs served from vendored assets."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from dispensary.api import schema  # noqa: F401 - registers the bearer-key scheme with drf-spectacular
from dispensary.api.customers import (
    CustomerCreateApi,
    CustomerDetailApi,
    CustomerListApi,
    CustomerLookupApi,
    CustomerUpdateApi,
)
from dispensary.api.routing import by_method
from dispensary.api.stores import StoreDetailApi, StoreListApi
from dispensary.api.tokens import StaffTokenCreateApi, StaffTokenRevokeApi

app_name = "api"

v1 = [
    path("auth/token", by_method(post=StaffTokenCreateApi, delete=StaffTokenRevokeApi), name="token"),
    path("stores", StoreListApi.as_view(), name="store-list"),
    path("stores/<int:store_id>", StoreDetailApi.as_view(), name="store-detail"),
    path("customers", by_method(get=CustomerListApi, post=CustomerCreateApi), name="customer-list"),
    path("customers/lookup", CustomerLookupApi.as_view(), name="customer-lookup"),
    path(
        "customers/<int:customer_id>",
        by_method(get=CustomerDetailApi, patch=CustomerUpdateApi),
        name="customer-detail",
    ),
]

urlpatterns = [
    *[path(f"v1/{pattern.pattern}", pattern.callback, name=pattern.name) for pattern in v1],
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
