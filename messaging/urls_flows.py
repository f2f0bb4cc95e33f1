"""The flow editor's pages, under /messaging/flows/, and the flows' public rating page."""

from django.urls import path

from messaging import views_flows
from messaging.views_flow_rating import RATING_URLS

urlpatterns = [
    path("flows/", views_flows.flow_index, name="flows"),
    path("flows/new/", views_flows.flow_create, name="flow_create"),
    path("flows/ready-made/", views_flows.flow_create_ready_made, name="flow_create_ready_made"),
    path("flows/<int:pk>/", views_flows.flow_detail, name="flow_detail"),
    path("flows/<int:pk>/status/", views_flows.flow_status, name="flow_status"),
    path("flows/<int:pk>/settings/", views_flows.flow_settings, name="flow_settings"),
    path("flows/<int:pk>/steps/new/", views_flows.step_add, name="flow_step_add"),
    path("flows/<int:pk>/steps/preview/", views_flows.step_preview, name="flow_step_preview"),
    path("flows/<int:pk>/steps/<int:step_id>/", views_flows.step_edit, name="flow_step_edit"),
    path("flows/<int:pk>/steps/<int:step_id>/delete/", views_flows.step_delete, name="flow_step_delete"),
    path("flows/<int:pk>/steps/<int:step_id>/move/", views_flows.step_move, name="flow_step_move"),
    *RATING_URLS,
]
