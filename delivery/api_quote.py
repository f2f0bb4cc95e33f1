"""The public delivery reads: a delivery quote for an address and a cart (POST: the cart is a body; nothing is
written), the caller's delivery zones as GeoJSON, and an order's status for the customer (pickup or delivery, with
the trip when the order is on one). Same callers and scopes as the delivery-orders API; another organization's
store or order is not found (404)."""

from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.api.limits import BucketUsageSerializer, LimitUsageSerializer, LimitViolationSerializer
from delivery.geocoding import GeocoderUnavailable, geocode, geocoder_configured
from delivery.selectors_quote import delivery_cart_quote, delivery_zone_map, order_status_get
from dispensary.api.fields import DateTimeField
from dispensary.api.principals import principal_customer_stores, principal_organization, principal_stores
from dispensary.api.schema import error_responses
from dispensary.errors import ValidationFailed
from inventory.api.fields import ReachableStoreField, path_id
from pos.api.pickup import READ_SCOPE, OrganizationCustomerField, PickupOrderLineInputSerializer
from pos.models import CustomerType
from pos.selectors.pickup import pickup_order_get

COORDINATE = {"max_digits": 9, "decimal_places": 6}


class QuoteAddressSerializer(serializers.Serializer):
    line1 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    region = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(
        **COORDINATE, min_value=Decimal("-90"), max_value=Decimal("90"), required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        **COORDINATE, min_value=Decimal("-180"), max_value=Decimal("180"), required=False, allow_null=True
    )

    class Meta:
        ref_name = "DeliveryQuoteAddress"

    def validate(self, attrs):
        has_point = attrs.get("latitude") is not None and attrs.get("longitude") is not None
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            raise serializers.ValidationError({"latitude": ["Give both latitude and longitude, or neither."]})
        if not has_point and not (attrs["line1"] and (attrs["city"] or attrs["postal_code"])):
            raise serializers.ValidationError(
                {"latitude": ["Give the coordinates, or a street address (line1 and city or postal code)."]}
            )
        return attrs


class WindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()

    class Meta:
        ref_name = "DeliveryQuoteWindow"


class ReasonSerializer(serializers.Serializer):
    rule = serializers.CharField(
        help_text="address, zone, excluded_place, hours, minimum_order, no_window or limit."
    )
    code = serializers.CharField(required=False, help_text="For a limit: the limit engine's code.")
    message = serializers.CharField(help_text="A plain sentence for the customer.")

    class Meta:
        ref_name = "DeliveryQuoteReason"


class QuoteZoneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()

    class Meta:
        ref_name = "DeliveryQuoteZone"


class CustomerLimitsSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    limits = LimitUsageSerializer(many=True)
    buckets = BucketUsageSerializer(many=True, help_text="Remaining per bucket after this cart.")
    violations = LimitViolationSerializer(many=True)

    class Meta:
        ref_name = "DeliveryQuoteLimits"


class DeliveryQuoteApi(APIView):
    # A read with a cart body: POST, like the limits check; nothing is written, so no idempotency key.
    scopes = {"write": READ_SCOPE}
    perms = {"write": "pos.view_pickuporder"}

    class InputSerializer(serializers.Serializer):
        store = ReachableStoreField()
        address = QuoteAddressSerializer()
        lines = PickupOrderLineInputSerializer(many=True, min_length=1, max_length=50)
        customer = OrganizationCustomerField(
            required=False,
            allow_null=True,
            default=None,
            help_text="With it: the customer's limits remaining.",
        )
        customer_type = serializers.ChoiceField(
            choices=CustomerType.choices, required=False, default=CustomerType.ADULT_USE
        )
        window_start = DateTimeField(
            required=False, allow_null=True, help_text="A window to check, optional."
        )
        window_end = DateTimeField(required=False, allow_null=True)

        class Meta:
            ref_name = "DeliveryQuoteInput"

        def validate(self, attrs):
            bad = [n for n, line in enumerate(attrs["lines"], start=1) if line["quantity"] <= 0]
            if bad:
                raise serializers.ValidationError({"lines": [f"Line {n}: a quantity above 0." for n in bad]})
            start, end = attrs.get("window_start"), attrs.get("window_end")
            if (start is None) != (end is None):
                raise serializers.ValidationError(
                    {"window_end": ["Give both ends of the window, or neither."]}
                )
            if start is not None and end <= start:
                raise serializers.ValidationError({"window_end": ["The window must end after it starts."]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        allowed = serializers.BooleanField(help_text="True when nothing refuses the delivery.")
        zone = QuoteZoneSerializer(allow_null=True)
        fee = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
        minimum_order = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
        estimated_minutes = serializers.IntegerField(allow_null=True)
        order_total = serializers.DecimalField(
            max_digits=12, decimal_places=2, help_text="The cart with its taxes, at list price."
        )
        total_with_fee = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
        earliest_window = WindowSerializer(allow_null=True)
        windows = WindowSerializer(many=True, help_text="Bookable windows today and tomorrow (store-local).")
        limits = CustomerLimitsSerializer(allow_null=True, help_text="Only when a customer is given.")
        reasons = ReasonSerializer(many=True)

        class Meta:
            ref_name = "DeliveryQuote"

    @extend_schema(
        operation_id="delivery_quotes_create",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400)},
        description="What a delivery of this cart to this address would be: the zone with its fee, minimum and "
        "estimated time, the earliest bookable window and the next ones today and tomorrow (the state's legal "
        "hours within the store's hours), the customer's limits remaining (when a customer is given), and each "
        "refusal with its rule and a plain message. Writes nothing. Without coordinates the configured "
        "geocoder places the address (a 400 asking for the coordinates when none is configured or it cannot answer).",
    )
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
        address = values["address"]
        latitude, longitude = address.get("latitude"), address.get("longitude")
        if latitude is None:
            if not geocoder_configured():
                raise ValidationFailed(
                    "Give the address's coordinates: no geocoder is configured.",
                    details={"address": {"latitude": ["Required: no geocoder is configured."]}},
                )
            text = ", ".join(
                part
                for part in (address["line1"], address["city"], address["region"], address["postal_code"])
                if part
            )
            try:
                place = geocode(text)
            except GeocoderUnavailable as error:
                raise ValidationFailed(
                    "The address could not be placed on the map just now; give its coordinates.",
                    details={"address": {"latitude": [error.message]}},
                ) from error
            if place is None:
                raise ValidationFailed(
                    "The address could not be found; give its coordinates.",
                    details={"address": {"line1": ["Not found by the geocoder."]}},
                )
            latitude, longitude = place.latitude, place.longitude
        window = None
        if values.get("window_start") is not None:
            window = (values["window_start"], values["window_end"])
        result = delivery_cart_quote(
            store=values["store"],
            latitude=latitude,
            longitude=longitude,
            lines=[(line["product"], line["quantity"]) for line in values["lines"]],
            customer_type=values["customer_type"],
            customer=values.get("customer"),
            line1=address["line1"],
            line2=address["line2"],
            window=window,
            now=timezone.now(),
        )
        if result.unknown_product_ids:
            raise ValidationFailed(
                "Unknown products.",
                details={"lines": [f"Unknown product {p}." for p in result.unknown_product_ids]},
            )
        zone = result.zone
        verdict = result.verdict
        windows = [{"start": w.start, "end": w.end} for w in result.windows]
        body = {
            "allowed": result.allowed,
            "zone": {"id": zone.pk, "name": zone.name} if zone else None,
            "fee": zone.fee if zone else None,
            "minimum_order": zone.minimum_order if zone else None,
            "estimated_minutes": zone.estimated_minutes if zone else None,
            "order_total": result.order_total,
            "total_with_fee": result.order_total + zone.fee if zone else None,
            "earliest_window": windows[0] if windows else None,
            "windows": windows,
            "limits": {
                key: value
                for key, value in verdict.as_dict().items()
                if key in ("allowed", "limits", "buckets", "violations")
            }
            if verdict is not None
            else None,
            "reasons": result.reasons,
        }
        return Response(self.OutputSerializer(body).data)


@extend_schema_field(
    {
        "type": "object",
        "description": "A GeoJSON Polygon or MultiPolygon, coordinates as [longitude, latitude].",
        "properties": {"type": {"type": "string"}, "coordinates": {"type": "array", "items": {}}},
    }
)
class ZoneGeometryField(serializers.JSONField):
    pass


class ZonePropertiesSerializer(serializers.Serializer):
    store = serializers.IntegerField()
    name = serializers.CharField()
    fee = serializers.DecimalField(max_digits=10, decimal_places=2)
    minimum_order = serializers.DecimalField(max_digits=10, decimal_places=2)
    estimated_minutes = serializers.IntegerField()

    class Meta:
        ref_name = "DeliveryZoneProperties"


class ZoneFeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    geometry = ZoneGeometryField()
    properties = ZonePropertiesSerializer()

    class Meta:
        ref_name = "DeliveryZoneFeature"


class ZoneCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = ZoneFeatureSerializer(many=True)

    class Meta:
        ref_name = "DeliveryZoneCollection"


class DeliveryZoneListApi(APIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": "pos.view_pickuporder"}

    class FilterSerializer(serializers.Serializer):
        store = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)

        class Meta:
            ref_name = "DeliveryZoneFilter"

    @extend_schema(
        operation_id="delivery_zones_list",
        parameters=[OpenApiParameter("store", OpenApiTypes.INT, description="A store id (default: all).")],
        responses={200: ZoneCollectionSerializer, **error_responses(400, 404)},
        description="The active delivery zones of the caller's stores (or of one store) as a GeoJSON "
        "FeatureCollection, each with its fee, minimum order and estimated minutes. A store the caller does not "
        "reach is not found (404).",
    )
    def get(self, request):
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stores = principal_stores(request)
        if query.validated_data.get("store") is not None:
            stores = stores.filter(pk=query.validated_data["store"])
            if not stores.exists():
                raise Http404
        features = [
            {
                "type": "Feature",
                "id": zone.pk,
                "geometry": zone.geometry,
                "properties": {
                    "store": zone.store_id,
                    "name": zone.name,
                    "fee": zone.fee,
                    "minimum_order": zone.minimum_order,
                    "estimated_minutes": zone.estimated_minutes,
                },
            }
            for zone in delivery_zone_map(stores=stores)
        ]
        return Response(ZoneCollectionSerializer({"type": "FeatureCollection", "features": features}).data)


class TripStatusSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="planned, locked, sent, departed, returned.")
    status_label = serializers.CharField()
    stop_status = serializers.CharField(help_text="pending, delivered or returned.")
    stop_sequence = serializers.IntegerField(help_text="This order's place on the trip, from 1.")
    planned_arrival = serializers.DateTimeField()
    departed_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "OrderTripStatus"


class OrderStatusWindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "OrderStatusWindow"


class OrderStatusApi(APIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": "pos.view_pickuporder"}

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        fulfilment = serializers.CharField(help_text="pickup or delivery.")
        status = serializers.CharField(help_text="The order's own status: reserved, checked_in, completed...")
        code = serializers.CharField(
            help_text="For the customer: ready_for_pickup, checked_in, picked_up, confirmed, scheduled, "
            "preparing, on_the_way, delivered, not_delivered, cancelled, expired."
        )
        message = serializers.CharField(help_text="The status in plain words, times local to the store.")
        window = OrderStatusWindowSerializer(
            help_text="Delivery: the booked window; pickup: from when it may be collected until the hold ends."
        )
        trip = TripStatusSerializer(allow_null=True)

        class Meta:
            ref_name = "OrderStatus"

    @extend_schema(
        operation_id="orders_status_retrieve",
        parameters=[path_id("order_id")],
        responses={200: OutputSerializer, **error_responses(404)},
        description="Where a pickup or delivery order stands, as a code and a sentence for the customer, with "
        "the delivery's trip when it is on one.",
    )
    def get(self, request, order_id: int):
        order = pickup_order_get(stores=principal_stores(request), order_id=order_id)
        if order is None:
            raise Http404
        now = timezone.now()
        status = order_status_get(order, now=now)
        try:
            delivery = order.delivery
        except ObjectDoesNotExist:  # a pickup order
            delivery = None
        if delivery is not None:
            window = {"start": delivery.window_start, "end": delivery.window_end}
        else:
            window = {"start": order.pickup_after or order.placed_at, "end": order.expires_at}
        body = {
            "id": order.pk,
            "fulfilment": order.fulfilment,
            "status": order.status,
            "code": status.code,
            "message": status.message,
            "window": window,
            "trip": status.trip,
        }
        return Response(self.OutputSerializer(body).data)
