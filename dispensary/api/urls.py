"""The REST API, mounted at /api/: version 1, its OpenAPI schema, and the docs served from vendored assets."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from dispensary.api import schema  # noqa: F401 - registers the bearer-key scheme with drf-spectacular
from dispensary.api.customers import (
    CustomerConsentCreateApi,
    CustomerCreateApi,
    CustomerDetailApi,
    CustomerListApi,
    CustomerLookupApi,
    CustomerUpdateApi,
)
from dispensary.api.docs import OfflineRedocView
from dispensary.api.errors import error_body
from dispensary.api.hooks import TRIGGER_APIS, HookCreateApi, HookDeleteApi, HookListApi
from dispensary.api.routing import by_method
from dispensary.api.stores import StoreDetailApi, StoreListApi
from dispensary.api.tokens import StaffTokenCreateApi, StaffTokenRevokeApi, StaffTokenRotateApi

app_name = "api"


@csrf_exempt  # a POST to an unknown URL is a 404 in the error body, never the CSRF page
def not_found(request, *args, **kwargs):
    """Any other /api/ URL (an id that is no number, a typo) is a 404 in the API's error body, not a page."""
    return JsonResponse(error_body("not_found", "Not found."), status=404)


v1 = [
    path("auth/token", by_method(post=StaffTokenCreateApi, delete=StaffTokenRevokeApi), name="token"),
    path("auth/token/rotate", StaffTokenRotateApi.as_view(), name="token-rotate"),
    path("stores", StoreListApi.as_view(), name="store-list"),
    path("stores/<id:store_id>", StoreDetailApi.as_view(), name="store-detail"),
    path("customers", by_method(get=CustomerListApi, post=CustomerCreateApi), name="customer-list"),
    path("customers/lookup", CustomerLookupApi.as_view(), name="customer-lookup"),
    path(
        "customers/<id:customer_id>",
        by_method(get=CustomerDetailApi, patch=CustomerUpdateApi),
        name="customer-detail",
    ),
    path("customers/<id:customer_id>/consent", CustomerConsentCreateApi.as_view(), name="customer-consent"),
    path("hooks", by_method(get=HookListApi, post=HookCreateApi), name="hook-list"),
    path("hooks/<id:hook_id>", HookDeleteApi.as_view(), name="hook-detail"),
    *[
        path(f"triggers/{trigger}", view.as_view(), name=f"trigger-{trigger}")
        for trigger, view in TRIGGER_APIS.items()
    ],
]

urlpatterns = [
    *[path(f"v1/{pattern.pattern}", pattern.callback, name=pattern.name) for pattern in v1],
    path("v1/inventory/", include("inventory.api.urls")),
    path("v1/compliance/", include("compliance.api.urls")),
    path("v1/", include("pos.api.urls")),
    path("v1/", include("delivery.api_urls")),
    path("v1/actions/", include("messaging.api_actions_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (docs/?script): no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", OfflineRedocView.as_view(url_name="api:schema"), name="redoc"),
    re_path(r"", not_found, name="not-found"),
]
