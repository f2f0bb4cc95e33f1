"""Stock at the stores the caller reaches: packages (with lab results), the movement ledger, and adjustments.
A package of a store the caller does not reach is not found (404), never forbidden."""

from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.idempotency import idempotent
from dispensary.api.principals import principal_actor, principal_stores
from dispensary.api.schema import IDEMPOTENCY_KEY, error_responses
from inventory.api.fields import IdFilter, path_id
from inventory.api.selectors import package_get, package_list, package_sellable_q, stock_movement_list
from inventory.api.serializers import (
    PackageDetailSerializer,
    PackageSerializer,
    QuantityField,
    StockMovementSerializer,
)
from inventory.models import Package, Product, StockMovement
from inventory.services import AdjustmentReason, package_adjust


class PackageListApi(ListAPIView):
    scopes = {"read": "inventory:read"}
    perms = {"read": "inventory.view_package"}
    OutputSerializer = PackageSerializer
    serializer_class = OutputSerializer
    filter_backends = [filters.DjangoFilterBackend]

    class FilterSet(filters.FilterSet):
        store = IdFilter(field_name="store_id", help_text="A store id.")
        product = IdFilter(field_name="product_id", help_text="A product id.")
        category = filters.ChoiceFilter(field_name="product__category", choices=Product.Category.choices)
        status = filters.ChoiceFilter(choices=Package.Status.choices)
        location = filters.ChoiceFilter(choices=Package.Location.choices)
        available = filters.BooleanFilter(
            method="filter_available",
            help_text=(
                "true: sellable now (active, on the sales floor, not failed at the lab, not expired on the "
                "store's local date, something available); false: everything else."
            ),
        )

        class Meta:
            model = Package
            fields = ["store", "product", "category", "status", "location", "available"]

        def filter_available(self, queryset, name, value: bool):
            sellable = package_sellable_q(principal_stores(self.request))
            return queryset.filter(sellable) if value else queryset.exclude(sellable)

    filterset_class = FilterSet

    def get_queryset(self):
        return package_list(stores=principal_stores(self.request))

    @extend_schema(
        operation_id="inventory_packages_list",
        responses={200: OutputSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PackageDetailApi(APIView):
    scopes = {"read": "inventory:read"}
    perms = {"read": "inventory.view_package"}
    OutputSerializer = PackageDetailSerializer

    @extend_schema(
        operation_id="inventory_packages_retrieve",
        parameters=[path_id("package_id")],
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request, package_id: int):
        package = package_get(stores=principal_stores(request), package_id=package_id)
        if package is None:
            raise Http404
        return Response(self.OutputSerializer(package).data)


class StockMovementListApi(ListAPIView):
    """The ledger, read-only, oldest first."""

    scopes = {"read": "inventory:read"}
    perms = {"read": "inventory.view_stockmovement"}
    OutputSerializer = StockMovementSerializer
    serializer_class = OutputSerializer
    filter_backends = [filters.DjangoFilterBackend]

    class FilterSet(filters.FilterSet):
        store = IdFilter(field_name="store_id", help_text="A store id.")
        package = IdFilter(field_name="package_id", help_text="A package id.")
        kind = filters.ChoiceFilter(choices=StockMovement.Kind.choices)
        created = filters.IsoDateTimeFromToRangeFilter(
            field_name="created_at",
            help_text="created_after / created_before: ISO 8601 date-times (UTC without an offset), inclusive.",
        )

        class Meta:
            model = StockMovement
            fields = ["store", "package", "kind", "created"]

    filterset_class = FilterSet

    def get_queryset(self):
        return stock_movement_list(stores=principal_stores(self.request))

    @extend_schema(
        operation_id="inventory_movements_list",
        responses={200: OutputSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PackageAdjustApi(APIView):
    scopes = {"write": "inventory:write"}
    perms = {"write": "inventory.adjust_package"}

    class InputSerializer(serializers.Serializer):
        quantity = QuantityField(help_text='Signed change of on hand: "-1", "2.5".')
        reason = serializers.ChoiceField(choices=AdjustmentReason.CHOICES)
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "PackageAdjustInput"

    class OutputSerializer(serializers.Serializer):
        movement = StockMovementSerializer()
        package = PackageSerializer()

        class Meta:
            ref_name = "PackageAdjusted"

    @extend_schema(
        operation_id="inventory_packages_adjust",
        parameters=[path_id("package_id"), IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 404, 409, 422)},
    )
    @idempotent
    def post(self, request, package_id: int):
        package = package_get(stores=principal_stores(request), package_id=package_id)
        if package is None:
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        movement = package_adjust(package=package, actor=principal_actor(request), **data.validated_data)
        adjusted = movement.package
        adjusted.product = package.product
        return Response(
            self.OutputSerializer({"movement": movement, "package": adjusted}).data,
            status=status.HTTP_201_CREATED,
        )
