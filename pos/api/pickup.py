"""Pickup orders through the API: placed under the checkout's limit engine with their stock reserved (limit
refusals 422 with the violations, stock shortfalls 409 with the product and quantities), read, and cancelled.
An order of a store the caller does not reach is not found (404)."""

from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.fields import DateTimeField
from dispensary.api.idempotency import HEADER, idempotent
from dispensary.api.principals import (
    ApiClientUser,
    principal_actor,
    principal_customer_stores,
    principal_organization,
    principal_stores,
)
from dispensary.api.schema import IDEMPOTENCY_KEY, error_responses
from dispensary.errors import ValidationFailed
from dispensary.models import Customer
from dispensary.selectors import customer_list
from inventory.api.fields import IdFilter, ReachableStoreField, path_id
from inventory.api.serializers import QuantityField
from pos.api.serializers import PickupOrderSerializer
from pos.models import CustomerType, PickupOrder
from pos.selectors.pickup import pickup_order_get, pickup_order_list
from pos.services.pickup import pickup_order_cancel, pickup_order_create

READ_SCOPE, WRITE_SCOPE = "orders:read", "orders:write"
ERRORS_422 = "A purchase limit (`purchase_limit_exceeded`, details.violations and details.limits) or a rule"


@extend_schema_field(OpenApiTypes.INT)
class OrganizationCustomerField(serializers.PrimaryKeyRelatedField):
    """A customer id of the caller's organization; another organization's is as unknown as a missing one."""

    def get_queryset(self):
        organization = self.context["organization"]
        if organization is None:
            return Customer.objects.none()
        return customer_list(organization=organization, stores=self.context.get("customer_stores"))


class PickupOrderLineInputSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="A product id.")
    quantity = QuantityField(help_text='Units, or grams for bulk flower: "2", "3.5".')

    class Meta:
        ref_name = "PickupOrderLineInput"


class PickupOrderListApi(ListAPIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": "pos.view_pickuporder"}
    OutputSerializer = PickupOrderSerializer
    serializer_class = OutputSerializer
    filter_backends = [filters.DjangoFilterBackend]

    class FilterSet(filters.FilterSet):
        store = IdFilter(field_name="store_id", help_text="A store id.")
        customer = IdFilter(field_name="customer_id", help_text="A customer id.")
        status = filters.ChoiceFilter(choices=PickupOrder.Status.choices)

        class Meta:
            model = PickupOrder
            fields = ["store", "customer", "status"]

    filterset_class = FilterSet

    def get_queryset(self):
        return pickup_order_list(stores=principal_stores(self.request))

    @extend_schema(
        operation_id="pickup_orders_list",
        responses={200: OutputSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PickupOrderCreateApi(APIView):
    scopes = {"write": WRITE_SCOPE}
    perms = {"write": "pos.add_pickuporder"}
    OutputSerializer = PickupOrderSerializer

    class InputSerializer(serializers.Serializer):
        store = ReachableStoreField()
        customer = OrganizationCustomerField()
        customer_type = serializers.ChoiceField(choices=CustomerType.choices)
        caregiver = OrganizationCustomerField(
            required=False,
            allow_null=True,
            default=None,
            help_text="A medical patient's registered caregiver who will collect the order (a customer id).",
        )
        lines = PickupOrderLineInputSerializer(many=True, min_length=1, max_length=50)
        idempotency_key = serializers.CharField(
            max_length=100,
            required=False,
            help_text="The order's own key, unique per store (defaults to the Idempotency-Key header); the same "
            "key returns the first order.",
        )
        pickup_after = DateTimeField(
            required=False,
            allow_null=True,
            help_text="When the customer means to come (the hold runs from then).",
        )
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        external_reference = serializers.CharField(
            max_length=120, required=False, allow_blank=True, default=""
        )

        class Meta:
            ref_name = "PickupOrderCreateInput"

    @extend_schema(
        operation_id="pickup_orders_create",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 409, 422)},
        description=f"{ERRORS_422} refuses the order with 422; too little stock is a 409 `insufficient_stock`.",
    )
    @idempotent
    def post(self, request):
        data = self.InputSerializer(
            data=request.data,
            context={
                "stores": principal_stores(request),
                "organization": principal_organization(request),
                "customer_stores": principal_customer_stores(request),
            },
        )
        data.is_valid(raise_exception=True)
        values = data.validated_data
        key = values.get("idempotency_key") or request.headers.get(HEADER)
        if not key:
            raise ValidationFailed(
                f"Give the order an idempotency_key (or send the {HEADER} header).",
                details={"idempotency_key": ["Required without the header."]},
            )
        actor = principal_actor(request)
        order = pickup_order_create(
            store=values["store"],
            customer=values["customer"],
            customer_type=values["customer_type"],
            lines=[(line["product"], line["quantity"]) for line in values["lines"]],
            idempotency_key=key[:100],
            api_client=None if not isinstance(request.user, ApiClientUser) else actor,
            created_by=None if isinstance(request.user, ApiClientUser) else actor,
            pickup_after=values.get("pickup_after"),
            note=values["note"],
            external_reference=values["external_reference"],
            caregiver=values.get("caregiver"),
        )
        order = pickup_order_get(stores=principal_stores(request), order_id=order.pk)
        return Response(self.OutputSerializer(order).data, status=status.HTTP_201_CREATED)


class PickupOrderDetailApi(APIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": "pos.view_pickuporder"}
    OutputSerializer = PickupOrderSerializer

    @extend_schema(
        operation_id="pickup_orders_retrieve",
        parameters=[path_id("order_id")],
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request, order_id: int):
        order = pickup_order_get(stores=principal_stores(request), order_id=order_id)
        if order is None:
            raise Http404
        return Response(self.OutputSerializer(order).data)


class PickupOrderCancelApi(APIView):
    scopes = {"write": WRITE_SCOPE}
    perms = {"write": "pos.change_pickuporder"}
    OutputSerializer = PickupOrderSerializer

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

        class Meta:
            ref_name = "PickupOrderCancelInput"

    @extend_schema(
        operation_id="pickup_orders_cancel",
        parameters=[path_id("order_id"), IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 404, 409, 422)},
        description="Releases the reserved stock. An order no longer open is a 409 `pickup_order_closed`.",
    )
    @idempotent
    def post(self, request, order_id: int):
        stores = principal_stores(request)
        order = pickup_order_get(stores=stores, order_id=order_id)
        if order is None:
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pickup_order_cancel(order=order, actor=principal_actor(request), reason=data.validated_data["reason"])
        return Response(self.OutputSerializer(pickup_order_get(stores=stores, order_id=order.pk)).data)
