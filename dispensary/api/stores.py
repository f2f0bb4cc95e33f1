"""Stores the caller reaches: a staff member's stores (guardian), or an API client's chosen stores."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.principals import principal_stores
from dispensary.api.schema import error_responses
from dispensary.models import Store

READ = {"scopes": {"read": "stores:read"}, "perms": {"read": "dispensary.view_store"}}


class StoreSerializer(serializers.ModelSerializer):
    opening_hours = serializers.DictField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.CharField())),
        help_text='Local times per weekday, e.g. {"mon": [["09:00", "21:00"]]}; a missing day is closed.',
    )

    class Meta:
        model = Store
        fields = [
            "id",
            "name",
            "code",
            "license_adult_use",
            "license_medical",
            "jurisdiction",
            "time_zone",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "latitude",
            "longitude",
            "phone",
            "opening_hours",
            "is_active",
        ]
        read_only_fields = fields


class StoreListApi(ListAPIView):
    scopes = READ["scopes"]
    perms = READ["perms"]
    OutputSerializer = StoreSerializer
    serializer_class = OutputSerializer
    filter_backends = []

    def get_queryset(self):
        return principal_stores(self.request).order_by("name", "id")

    @extend_schema(
        operation_id="stores_list", responses={200: OutputSerializer(many=True), **error_responses(404)}
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StoreDetailApi(APIView):
    scopes = READ["scopes"]
    perms = READ["perms"]
    OutputSerializer = StoreSerializer

    @extend_schema(operation_id="stores_retrieve", responses={200: OutputSerializer, **error_responses(404)})
    def get(self, request, store_id: int):
        # Another organization's store, or one the caller does not reach, is simply not found.
        store = principal_stores(request).filter(pk=store_id).first()
        if store is None:
            raise Http404
        return Response(self.OutputSerializer(store).data)
