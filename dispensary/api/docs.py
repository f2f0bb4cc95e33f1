"""The API docs pages, served only from vendored assets (drf_spectacular_sidecar): drf-spectacular's ReDoc
page also loads web fonts from a CDN, so its head is replaced; ReDoc falls back to the system fonts."""

from django.http import HttpResponse
from django.template import engines
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView

REDOC_PAGE = engines["django"].from_string(
    """{% extends "drf_spectacular/redoc.html" %}{% block head %}
    <title>{{ title|default:"Redoc" }}</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
{% endblock head %}"""
)


class OfflineRedocView(SpectacularRedocView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        return HttpResponse(REDOC_PAGE.render(response.data, request))
