"""Delivery orders through the API: created with the address (and its coordinates) and the window under an
idempotency key, read, and cancelled. Bad input is a 400 with field errors; a delivery rule's refusal a 422
`delivery_refused` with details.reasons (rule and message each); the limit engine's refusals as for pickup
orders; an order of a store the caller does not reach is not found (404)."""

from decimal import Decimal

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.models import DeliveryOrder
from delivery.selectors_orders import delivery_order_get
from delivery.services_orders import delivery_order_cancel, delivery_order_create
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
from inventory.api.fields import ReachableStoreField, path_id
from pos.api.pickup import (
    READ_SCOPE,
    WRITE_SCOPE,
    OrganizationCustomerField,
    PickupOrderLineInputSerializer,
)
from pos.api.serializers import PickupOrderSerializer
from pos.models import AgeVerificationMethod, CustomerType, OrderChannel
from pos.services.pickup import AgeVerificationInput

DESCRIPTION = (
    "A delivery rule refuses the order with 422 `delivery_refused`: details.reasons lists {rule, message}, rule "
    "one of `address`, `zone`, `excluded_place`, `hours`, `minimum_order`. A purchase limit or another rule of "
    "the limit engine is a 422 `purchase_limit_exceeded` or `sale_not_allowed` (details.violations); too little "
    "stock a 409 `insufficient_stock`."
)


class DeliveryAddressInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="One of the customer's saved addresses."
    )
    line1 = serializers.CharField(max_length=200, required=False)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100, required=False)
    region = serializers.CharField(max_length=60, required=False, help_text="State or province.")
    postal_code = serializers.CharField(max_length=20, required=False)
    country = serializers.CharField(min_length=2, max_length=2, required=False, default="US")
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=Decimal("-90"), max_value=Decimal("90"), required=False
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=Decimal("-180"), max_value=Decimal("180"), required=False
    )

    class Meta:
        ref_name = "DeliveryAddressInput"

    def validate(self, attrs):
        if attrs.get("id") is not None:
            return attrs
        missing = [
            name
            for name in ("line1", "city", "region", "postal_code", "latitude", "longitude")
            if attrs.get(name) in (None, "")
        ]
        if missing:
            raise serializers.ValidationError(
                {name: ["Required for a new address (or give the id of a saved one)."] for name in missing}
            )
        return attrs


class AgeVerificationInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=[
            (AgeVerificationMethod.ONLINE.value, AgeVerificationMethod.ONLINE.label),
            (AgeVerificationMethod.MEDICAL_CARD.value, AgeVerificationMethod.MEDICAL_CARD.label),
        ],
        help_text="`online`: verified by the ordering channel's own service; `medical_card`: medical orders.",
    )
    reference = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default="", help_text="The verification's id."
    )
    verified_by = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="Who verified (the service's name); defaults to the API client's name.",
    )

    class Meta:
        ref_name = "OrderAgeVerificationInput"


class ZoneSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)

    class Meta:
        ref_name = "DeliveryOrderZone"


class DeliveryOrderSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="order_id", read_only=True, help_text="The order's id.")
    order = PickupOrderSerializer(read_only=True)
    zone = ZoneSerializer(read_only=True)
    total_with_fee = serializers.SerializerMethodField(help_text="The order's estimated total plus the fee.")

    class Meta:
        model = DeliveryOrder
        fields = [
            "id",
            "address",
            "address_text",
            "latitude",
            "longitude",
            "zone",
            "window_start",
            "window_end",
            "fee",
            "minimum_order",
            "estimated_minutes",
            "total_with_fee",
            "order",
        ]
        read_only_fields = fields

    def get_total_with_fee(self, delivery: DeliveryOrder) -> Decimal:
        return str(delivery.order.estimated_total + delivery.fee)


class DeliveryOrderCreateApi(APIView):
    scopes = {"write": WRITE_SCOPE}
    perms = {"write": "pos.add_pickuporder"}
    OutputSerializer = DeliveryOrderSerializer

    class InputSerializer(serializers.Serializer):
        store = ReachableStoreField()
        customer = OrganizationCustomerField()
        customer_type = serializers.ChoiceField(choices=CustomerType.choices)
        caregiver = OrganizationCustomerField(required=False, allow_null=True, default=None)
        lines = PickupOrderLineInputSerializer(many=True, min_length=1, max_length=50)
        address = DeliveryAddressInputSerializer()
        window_start = DateTimeField(help_text="The start of the delivery window, with its UTC offset.")
        window_end = DateTimeField(help_text="The end of the delivery window, with its UTC offset.")
        channel = serializers.ChoiceField(
            choices=[(OrderChannel.API.value, "Online"), (OrderChannel.KIOSK.value, "In-store kiosk")],
            required=False,
            default=OrderChannel.API.value,
        )
        age_verification = AgeVerificationInputSerializer(required=False, allow_null=True, default=None)
        idempotency_key = serializers.CharField(
            max_length=100,
            required=False,
            help_text="The order's own key (defaults to the Idempotency-Key header); the same key returns the "
            "first order.",
        )
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        external_reference = serializers.CharField(
            max_length=120, required=False, allow_blank=True, default=""
        )

        class Meta:
            ref_name = "DeliveryOrderCreateInput"

    @extend_schema(
        operation_id="delivery_orders_create",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 409, 422)},
        description=DESCRIPTION,
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
        customer, given = values["customer"], values["address"]
        address = None
        if given.get("id") is not None:
            address = customer.delivery_addresses.filter(pk=given["id"]).first()
            if address is None:
                raise ValidationFailed(
                    "Unknown address for this customer.",
                    details={"address": {"id": ["Not this customer's."]}},
                )
        actor = principal_actor(request)
        client = isinstance(request.user, ApiClientUser)
        verification = values.get("age_verification")
        delivery = delivery_order_create(
            store=values["store"],
            customer=customer,
            customer_type=values["customer_type"],
            lines=[(line["product"], line["quantity"]) for line in values["lines"]],
            idempotency_key=key[:100],
            window_start=values["window_start"],
            window_end=values["window_end"],
            address=address,
            new_address=None if address is not None else {k: v for k, v in given.items() if k != "id"},
            api_client=actor if client else None,
            created_by=None if client else actor,
            channel=values["channel"],
            note=values["note"],
            external_reference=values["external_reference"],
            age_verification=AgeVerificationInput(
                method=verification["method"],
                reference=verification["reference"],
                verified_by_name=verification["verified_by"],
            )
            if verification
            else None,
            caregiver=values.get("caregiver"),
        )
        delivery = delivery_order_get(stores=principal_stores(request), order_id=delivery.order_id)
        return Response(self.OutputSerializer(delivery).data, status=status.HTTP_201_CREATED)


class DeliveryOrderDetailApi(APIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": "pos.view_pickuporder"}
    OutputSerializer = DeliveryOrderSerializer

    @extend_schema(
        operation_id="delivery_orders_retrieve",
        parameters=[path_id("order_id")],
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request, order_id: int):
        delivery = delivery_order_get(stores=principal_stores(request), order_id=order_id)
        if delivery is None:
            raise Http404
        return Response(self.OutputSerializer(delivery).data)


class DeliveryOrderCancelApi(APIView):
    scopes = {"write": WRITE_SCOPE}
    perms = {"write": "pos.change_pickuporder"}
    OutputSerializer = DeliveryOrderSerializer

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

        class Meta:
            ref_name = "DeliveryOrderCancelInput"

    @extend_schema(
        operation_id="delivery_orders_cancel",
        parameters=[path_id("order_id"), IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 404, 409, 422)},
        description="Releases the allocated stock. An order no longer open is a 409 `pickup_order_closed`.",
    )
    @idempotent
    def post(self, request, order_id: int):
        stores = principal_stores(request)
        delivery = delivery_order_get(stores=stores, order_id=order_id)
        if delivery is None:
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        delivery_order_cancel(
            delivery=delivery, actor=principal_actor(request), reason=data.validated_data["reason"]
        )
        return Response(self.OutputSerializer(delivery_order_get(stores=stores, order_id=order_id)).data)
