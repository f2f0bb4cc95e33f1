"""The catalog: products of the caller's organization with their purchase-limit amounts, and the public menu
feed of one store (products with something sellable there, priced, with potency)."""

from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.principals import principal_organization, principal_stores
from dispensary.api.schema import error_responses
from inventory.api.fields import path_id
from inventory.api.selectors import menu_item_list, product_list
from inventory.api.serializers import NetUnitField, ProductSerializer, QuantityField
from inventory.models import Product

READ = {"scopes": {"read": "inventory:read"}, "perms": {"read": "inventory.view_product"}}


class ProductListApi(ListAPIView):
    scopes = READ["scopes"]
    perms = READ["perms"]
    OutputSerializer = ProductSerializer
    serializer_class = OutputSerializer
    filter_backends = [filters.DjangoFilterBackend]

    class FilterSet(filters.FilterSet):
        category = filters.ChoiceFilter(choices=Product.Category.choices)
        active = filters.BooleanFilter(
            field_name="is_active", help_text="Only active (true) or retired (false)."
        )

        class Meta:
            model = Product
            fields = ["category", "active"]

    filterset_class = FilterSet

    def get_queryset(self):
        return product_list(
            organization=principal_organization(self.request),
            search=self.request.query_params.get("search", ""),
        )

    @extend_schema(
        operation_id="inventory_products_list",
        parameters=[
            OpenApiParameter(
                "search", str, description="Part of the name, brand or strain, or an exact SKU or barcode."
            )
        ],
        responses={200: OutputSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ProductDetailApi(APIView):
    scopes = READ["scopes"]
    perms = READ["perms"]
    OutputSerializer = ProductSerializer

    @extend_schema(
        operation_id="inventory_products_retrieve",
        parameters=[path_id("product_id")],
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request, product_id: int):
        product = product_list(organization=principal_organization(request)).filter(pk=product_id).first()
        if product is None:
            raise Http404
        return Response(self.OutputSerializer(product).data)


class MenuItemListApi(ListAPIView):
    """What a store can sell right now, for online menus: read with the menu:read scope."""

    scopes = {"read": "menu:read"}
    perms = {"read": "inventory.view_product"}
    filter_backends = []

    class InputSerializer(serializers.Serializer):
        store = serializers.IntegerField(min_value=1, help_text="The store whose menu to read.")

        class Meta:
            ref_name = "MenuQuery"

    class OutputSerializer(serializers.ModelSerializer):
        net_amount = QuantityField(allow_null=True)
        net_unit = NetUnitField()
        thc_mg = QuantityField(allow_null=True)
        cbd_mg = QuantityField(allow_null=True)
        quantity_available = QuantityField(
            help_text="Sellable now at the store: units, or grams when sold by weight."
        )

        class Meta:
            model = Product
            ref_name = "MenuItem"
            fields = [
                "id",
                "name",
                "brand",
                "category",
                "strain",
                "sold_by",
                "net_amount",
                "net_unit",
                "thc_percent",
                "cbd_percent",
                "thc_mg",
                "cbd_mg",
                "price",
                "quantity_available",
            ]
            read_only_fields = fields

    serializer_class = OutputSerializer

    def get_queryset(self):
        query = self.InputSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        store = principal_stores(self.request).filter(pk=query.validated_data["store"]).first()
        if store is None:
            raise Http404
        return menu_item_list(store=store)

    @extend_schema(
        operation_id="inventory_menu_list",
        parameters=[InputSerializer],
        responses={200: OutputSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
