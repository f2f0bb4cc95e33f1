"""REST hooks and polling triggers for Zapier-style integrations: an API client subscribes a target URL to a
kind of event (and unsubscribes it), or polls the newest events of a kind. Both carry one payload shape.

Only API clients subscribe and poll (staff have the platform's own pages). A client sees and ends only its own
subscriptions; another's is not found."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.principals import ApiClientUser
from dispensary.api.schema import error_responses
from dispensary.errors import PermissionDenied
from dispensary.models import WebhookSubscription
from dispensary.webhooks import (
    BY_TRIGGER,
    CATALOGUE,
    EVENT_CHOICES,
    EventKind,
    trigger_items,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_list,
)

HOOKS_SCOPE = "hooks:manage"

SIGNATURE_RECIPE = (
    "Each event is POSTed as JSON with the Standard Webhooks headers `webhook-id` (the same on every retry "
    "of one delivery: drop an id already seen), `webhook-timestamp` (Unix seconds) and `webhook-signature` "
    "(`v1,<signature>`). To verify: base64-decode the secret after `whsec_`; compute "
    "base64(HMAC-SHA256(that key, `<webhook-id>.<webhook-timestamp>.<raw body>`)); compare with the part "
    "after `v1,` in constant time, and refuse timestamps more than five minutes away. Answer 2xx to accept; "
    "a timeout, 429 or 5xx is retried with exponential backoff (up to 8 attempts), 410 Gone ends the "
    "subscription, and repeated failures pause it."
)


class EventSerializer(serializers.Serializer):
    """The body of a delivery and an item of a polling trigger."""

    id = serializers.UUIDField(help_text="The event's id: the same in a delivery and in a trigger.")
    type = serializers.ChoiceField(choices=EVENT_CHOICES)
    timestamp = serializers.DateTimeField(help_text="When the event happened (UTC).")
    data = serializers.DictField(
        child=serializers.JSONField(),
        help_text=(
            "customer.created: customer_id, organization_id, customer_type, home_store_id. "
            "sale.completed: sale_id, organization_id, store_id, completed_at, customer_type, customer_id, "
            "receipt_number, lines. order.delivered: organization_id, store_id, trip_id, stop_id, "
            "order_id, delivery_order_id, customer_id, sale_id, delivered_at. points.earned: "
            "organization_id, customer_id, sale_id, points, balance."
        ),
    )

    class Meta:
        ref_name = "WebhookEvent"


def _client(request):
    if not isinstance(request.user, ApiClientUser):
        raise PermissionDenied("Only API clients subscribe to events.")
    return request.user.client


class HookSerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event_type")

    class Meta:
        model = WebhookSubscription
        ref_name = "Hook"
        fields = ["id", "event", "target_url", "status", "consecutive_failures", "created_at"]


class HookListApi(APIView):
    scopes = {"read": HOOKS_SCOPE}

    @extend_schema(
        operation_id="hooks_list",
        description="The caller's own subscriptions.",
        responses={200: HookSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        return Response(HookSerializer(webhook_subscription_list(client=_client(request)), many=True).data)


class HookCreateApi(APIView):
    scopes = {"write": HOOKS_SCOPE}

    class InputSerializer(serializers.Serializer):
        event = serializers.ChoiceField(choices=EVENT_CHOICES)
        target_url = serializers.URLField(max_length=2000)

        class Meta:
            ref_name = "HookCreateInput"

    class OutputSerializer(HookSerializer):
        secret = serializers.CharField(
            read_only=True, help_text="Shown once: the key that signs every delivery (`whsec_...`)."
        )

        class Meta(HookSerializer.Meta):
            ref_name = "HookCreated"
            fields = [*HookSerializer.Meta.fields, "secret"]

    @extend_schema(
        operation_id="hooks_create",
        description=(
            "Subscribe a target URL (https, a public address) to one kind of event. The caller also needs the "
            "event's read scope (customers:read, sales:read or orders:read). " + SIGNATURE_RECIPE
        ),
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400)},
    )
    def post(self, request):
        client = _client(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind = CATALOGUE[data.validated_data["event"]]
        if kind.scope not in client.scopes:
            raise PermissionDenied(
                f"Subscribing to {kind.type} needs the {kind.scope} scope.", details={"scope": kind.scope}
            )
        subscription = webhook_subscription_create(
            client=client, event_type=kind.type, target_url=data.validated_data["target_url"]
        )
        return Response(self.OutputSerializer(subscription).data, status=status.HTTP_201_CREATED)


class HookDeleteApi(APIView):
    scopes = {"write": HOOKS_SCOPE}

    @extend_schema(
        operation_id="hooks_destroy",
        description="Unsubscribe: the subscription and its pending deliveries end.",
        responses={204: OpenApiResponse(description="Unsubscribed."), **error_responses(404)},
    )
    def delete(self, request, hook_id: int):
        webhook_subscription_delete(client=_client(request), subscription_id=hook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _trigger_api(kind: EventKind) -> type[APIView]:
    """One view per trigger, each with its read scope and its own operation in the schema."""

    def get(self, request):
        return Response(trigger_items(client=_client(request), kind=kind))

    get = extend_schema(
        operation_id=f"triggers_{kind.trigger.replace('-', '_')}",
        description=(
            f"Polling trigger: {kind.description} The newest 100 events first, each in the body of a "
            f"`{kind.type}` delivery; dedupe on `id`. Needs the {kind.scope} scope."
        ),
        responses={200: EventSerializer(many=True), **error_responses()},
    )(get)
    name = "Trigger" + "".join(part.title() for part in kind.trigger.split("-")) + "Api"
    return type(name, (APIView,), {"scopes": {"read": kind.scope}, "get": get})


TRIGGER_APIS = {trigger: _trigger_api(kind) for trigger, kind in BY_TRIGGER.items()}
