"""Input fields shared by the inventory endpoints."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.INT)
class ReachableStoreField(serializers.PrimaryKeyRelatedField):
    """A store id among those the caller reaches; any other store is as unknown as a missing one."""

    def get_queryset(self):
        return self.context["stores"]
