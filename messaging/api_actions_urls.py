"""The actions of Zapier-style integrations, mounted at /api/v1/actions/ by dispensary.api.urls."""

from django.urls import path

from messaging.api_actions import CustomerUpsertApi, MessageSendApi, PointsAddApi

app_name = "actions"

urlpatterns = [
    path("customer-upsert", CustomerUpsertApi.as_view(), name="customer-upsert"),
    path("points-add", PointsAddApi.as_view(), name="points-add"),
    path("message-send", MessageSendApi.as_view(), name="message-send"),
]
