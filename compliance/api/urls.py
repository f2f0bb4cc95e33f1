"""Compliance's API, mounted at /api/v1/compliance/ by dispensary.api.urls."""

from django.urls import path

from compliance.api.limits import LimitCheckApi

app_name = "compliance"

urlpatterns = [
    path("limits/check", LimitCheckApi.as_view(), name="limit-check"),
]
