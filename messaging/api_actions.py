"""Actions for Zapier-style integrations: create or update a customer by phone, add loyalty points, send a
customer a transactional message. Each honours an Idempotency-Key, so a retried action does its work once.

Here on the top floor because the actions reach the core (customers), the point of sale (the points ledger)
and messaging (the send queue)."""

import uuid

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.customers import CustomerFieldsSerializer, CustomerSerializer, _customer_get
from dispensary.api.idempotency import HEADER, idempotent
from dispensary.api.principals import principal_actor, principal_customer_stores, principal_organization
from dispensary.api.schema import IDEMPOTENCY_KEY, error_responses
from dispensary.errors import ApplicationError, ValidationFailed
from dispensary.selectors import customer_get_by_phone
from dispensary.services import customer_create, customer_update
from messaging.consent import TRANSACTIONAL, consent_state
from messaging.models import Category, Channel
from messaging.queue import message_enqueue
from messaging.retention import recipient_address
from pos.services.loyalty import loyalty_points_add

ACTION_KEYS = uuid.UUID("9b0c8a52-4f0e-4d55-a7a3-6f1d2f0c5e11")


class CustomerUnreachable(ApplicationError):
    code = "customer_unreachable"
    status = 422


class CustomerUpsertApi(APIView):
    """Create a customer, or update the one with this phone number (any common spelling)."""

    scopes = {"write": "customers:write"}
    perms = {"write": "dispensary.change_customer"}

    class InputSerializer(CustomerFieldsSerializer):
        class Meta:
            ref_name = "CustomerUpsertInput"

    class OutputSerializer(CustomerSerializer):
        created = serializers.SerializerMethodField()

        class Meta(CustomerSerializer.Meta):
            ref_name = "CustomerUpserted"
            fields = [*CustomerSerializer.Meta.fields, "created"]

        def get_created(self, customer) -> bool:
            return self.context["created"]

    @extend_schema(
        operation_id="actions_customer_upsert",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            **error_responses(400, 409, 422),
        },
    )
    @idempotent
    def post(self, request):
        organization = principal_organization(request)
        stores = principal_customer_stores(request)
        data = self.InputSerializer(
            data=request.data, context={"organization": organization, "stores": stores}
        )
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        actor = principal_actor(request)
        existing = customer_get_by_phone(organization=organization, stores=stores, phone=values["phone"])
        if existing is not None:
            values.pop("phone")
            customer = customer_update(customer=existing, actor=actor, **values)
            body = self.OutputSerializer(customer, context={"created": False}).data
            return Response(body, status=status.HTTP_200_OK)
        if stores is not None and values.get("home_store") is None:
            only = list(stores[:2])
            if len(only) != 1:
                raise ValidationFailed(
                    "Give the customer's home store: one of the stores this API client reaches.",
                    details={"home_store": ["This field is required."]},
                )
            values["home_store"] = only[0]
        customer = customer_create(organization=organization, actor=actor, **values)
        body = self.OutputSerializer(customer, context={"created": True}).data
        return Response(body, status=status.HTTP_201_CREATED)


class PointsAddApi(APIView):
    """Add loyalty points to a customer; the ledger names the caller and the reason."""

    scopes = {"write": "loyalty:write"}
    perms = {"write": "pos.add_pointsentry"}

    class InputSerializer(serializers.Serializer):
        customer_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
        points = serializers.IntegerField(min_value=1, max_value=100_000)
        reason = serializers.CharField(max_length=200)

        class Meta:
            ref_name = "PointsAddInput"

    OutputSerializer = inline_serializer(
        name="PointsAdded",
        fields={
            "entry_id": serializers.IntegerField(),
            "customer_id": serializers.IntegerField(),
            "points": serializers.IntegerField(),
            "balance": serializers.IntegerField(),
        },
    )

    @extend_schema(
        operation_id="actions_points_add",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 404, 422)},
    )
    @idempotent
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customer = _customer_get(request, values["customer_id"])
        entry, balance = loyalty_points_add(
            customer=customer,
            points=values["points"],
            reason=values["reason"],
            actor=principal_actor(request),
        )
        body = {"entry_id": entry.pk, "customer_id": customer.pk, "points": entry.points, "balance": balance}
        return Response(body, status=status.HTTP_201_CREATED)


class MessageSendApi(APIView):
    """Send a customer a transactional message (an order update, a receipt...): never marketing. It goes
    through the send queue and its gate like every message; a customer who revoked transactional messages on
    the channel, or has no number or address for it, is refused."""

    scopes = {"write": "messages:send"}
    perms = {"write": "messaging.add_outboundmessage"}

    class InputSerializer(serializers.Serializer):
        customer_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
        channel = serializers.ChoiceField(choices=Channel.choices)
        subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        body = serializers.CharField(max_length=1600)

        class Meta:
            ref_name = "MessageSendInput"

    OutputSerializer = inline_serializer(
        name="MessageQueued",
        fields={
            "message_id": serializers.IntegerField(),
            "key": serializers.UUIDField(),
            "status": serializers.CharField(),
            "channel": serializers.CharField(),
        },
    )

    @extend_schema(
        operation_id="actions_message_send",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={202: OutputSerializer, **error_responses(400, 404, 422)},
    )
    @idempotent
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customer = _customer_get(request, values["customer_id"])
        channel = values["channel"]
        to = recipient_address(customer, channel)
        if not to:
            raise CustomerUnreachable(
                f"The customer has no {'phone number' if channel == Channel.SMS else 'email address'}.",
                details={"channel": channel},
            )
        if not consent_state(customer.pk, channel=channel, purpose=TRANSACTIONAL).allowed:
            raise CustomerUnreachable(
                "The customer turned off messages about their orders on this channel.",
                details={"channel": channel},
            )
        idempotency_key = request.headers.get(HEADER)
        actor = principal_actor(request)
        message = message_enqueue(
            organization_id=customer.organization_id,
            store_id=customer.home_store_id,
            customer_id=customer.pk,
            channel=channel,
            to=to,
            subject=values["subject"],
            body=values["body"],
            purpose="api",
            category=Category.TRANSACTIONAL,
            reference=f"api:{getattr(actor, 'pk', '')}"[:80],
            key=uuid.uuid5(ACTION_KEYS, f"{request.user.pk}:{idempotency_key}") if idempotency_key else None,
        )
        body = {"message_id": message.pk, "key": message.key, "status": message.status, "channel": channel}
        return Response(body, status=status.HTTP_202_ACCEPTED)
