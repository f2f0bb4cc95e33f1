"""Messaging's pages and webhooks, mounted at /messaging/ by the composition root."""

from django.urls import path

from messaging import views_templates

app_name = "messaging"

urlpatterns: list = [
    path("templates/", views_templates.template_index, name="template_index"),
    path("templates/new/", views_templates.template_create, name="template_create"),
    path("templates/<id:pk>/", views_templates.template_edit, name="template_edit"),
    path("templates/preview/", views_templates.template_preview, name="template_preview"),
]
