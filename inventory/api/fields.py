"""Input fields shared by the inventory endpoints."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.INT)
class ReachableStoreField(serializers.PrimaryKeyRelatedField):
    """A store id among those the caller reaches; any other store is as unknown as a missing one."""

    def get_queryset(self):
        return self.context["stores"]


def path_id(name: str) -> OpenApiParameter:
    """An id in the path: digits only, as the URL converter accepts (a negative id is no URL of the API)."""
    return OpenApiParameter(name, {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)
