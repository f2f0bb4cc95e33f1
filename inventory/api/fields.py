"""Input fields shared by the inventory endpoints."""

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.INT)
class ReachableStoreField(serializers.PrimaryKeyRelatedField):
    """A store id among those the caller reaches; any other store is as unknown as a missing one."""

    def get_queryset(self):
        return self.context["stores"]


def path_id(name: str) -> OpenApiParameter:
    """An id in the path: digits only, as the URL converter accepts (a negative id, or one beyond 64 bits, is no URL of the API)."""
    return OpenApiParameter(
        name, {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}, OpenApiParameter.PATH
    )


class IdFilter(filters.Filter):
    """A row id in a query filter: a whole number the database can hold. Anything else ("abc", "1.5", a
    78-digit number) is a 400 in the error body, never a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)
