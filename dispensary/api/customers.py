"""Customers of the caller's organization: list and search, detail, lookup by phone, create and change, and
their consent to messages (a grant or revocation for the ledger).

Customers may be medical patients, so every read of one record is audit-logged, and a customer of another
organization is not found (404), never forbidden (403), which would tell that it exists."""

import django_filters
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.fields import DateOfBirthField
from dispensary.api.idempotency import idempotent
from dispensary.api.principals import principal_actor, principal_customer_stores, principal_organization
from dispensary.api.schema import IDEMPOTENCY_KEY, error_responses
from dispensary.errors import NotFound, ValidationFailed
from dispensary.models import Customer, MarketingConsent, Store
from dispensary.selectors import (
    customer_get_by_phone,
    customer_list,
    customer_record_viewed,
    customer_records_listed,
)
from dispensary.services import customer_create, customer_update, marketing_consent_record

READ_SCOPE, WRITE_SCOPE = "customers:read", "customers:write"
VIA = "api"


class CustomerSerializer(serializers.ModelSerializer):
    # Not format "email": an unknown email is the empty string.
    email = serializers.CharField(help_text="An email address, or empty when unknown.")

    class Meta:
        model = Customer
        fields = [
            "id",
            "phone",
            "first_name",
            "last_name",
            "date_of_birth",
            "email",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "customer_type",
            "home_store",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.INT)
class OrganizationStoreField(serializers.PrimaryKeyRelatedField):
    """A store id of the caller's organization; another organization's store is as unknown as a missing one."""

    def get_queryset(self):
        organization = self.context["organization"]
        if organization is None:
            return Store.objects.none()
        # An API client limited to some stores may only give its customers one of those as their home.
        reachable = self.context.get("stores")
        return reachable if reachable is not None else Store.objects.filter(organization=organization)


class CustomerFieldsSerializer(serializers.Serializer):
    """The writable fields; the phone is kept raw here, the service normalises and validates it."""

    phone = serializers.CharField(
        max_length=32, help_text="Any common spelling: (415) 555-0134, +14155550134."
    )
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    date_of_birth = DateOfBirthField(required=False, allow_null=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=60, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    customer_type = serializers.ChoiceField(choices=Customer.Type.choices, required=False)
    home_store = OrganizationStoreField(required=False, allow_null=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


def _customer_get(request, customer_id: int) -> Customer:
    customer = (
        customer_list(organization=principal_organization(request), stores=principal_customer_stores(request))
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise Http404
    return customer


class CustomerListApi(ListAPIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": "dispensary.view_customer"}
    OutputSerializer = CustomerSerializer
    serializer_class = OutputSerializer
    filter_backends = [DjangoFilterBackend]

    class FilterSet(django_filters.FilterSet):
        class Meta:
            model = Customer
            fields = ["customer_type"]

    filterset_class = FilterSet

    class SearchSerializer(serializers.Serializer):
        # Parsed here so that, say, a NUL character is a 400 and never reaches the database.
        search = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "CustomerSearch"

    def get_queryset(self):
        query = self.SearchSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return customer_list(
            organization=principal_organization(self.request),
            stores=principal_customer_stores(self.request),
            **query.validated_data,
        )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is None:
            return page
        # Every customer on the page is a record read: each one is logged, with the search that found it.
        customer_records_listed(
            customers=page,
            actor=principal_actor(self.request),
            via=f"{VIA}:list",
            search=self.request.query_params.get("search", ""),
        )
        return page

    @extend_schema(
        operation_id="customers_list",
        parameters=[
            OpenApiParameter(
                "search", str, description="Start of a first or last name, an exact email, or a phone number."
            )
        ],
        responses={200: OutputSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CustomerDetailApi(APIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": "dispensary.view_customer"}
    OutputSerializer = CustomerSerializer

    @extend_schema(
        operation_id="customers_retrieve", responses={200: OutputSerializer, **error_responses(404)}
    )
    def get(self, request, customer_id: int):
        customer = _customer_get(request, customer_id)
        customer_record_viewed(customer=customer, actor=principal_actor(request), via=VIA)
        return Response(self.OutputSerializer(customer).data)


class CustomerLookupApi(APIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": "dispensary.view_customer"}
    OutputSerializer = CustomerSerializer

    class InputSerializer(serializers.Serializer):
        phone = serializers.CharField(
            max_length=32, help_text="Any common spelling: (415) 555-0134, +14155550134."
        )

        class Meta:
            ref_name = "CustomerLookupInput"

    @extend_schema(
        operation_id="customers_lookup",
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **error_responses(400, 404)},
    )
    def get(self, request):
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = customer_get_by_phone(
            organization=principal_organization(request),
            stores=principal_customer_stores(request),
            **query.validated_data,
        )
        if customer is None:
            raise NotFound("No customer has this phone number.")
        customer_record_viewed(customer=customer, actor=principal_actor(request), via=VIA)
        return Response(self.OutputSerializer(customer).data)


class CustomerCreateApi(APIView):
    scopes = {"write": WRITE_SCOPE}
    perms = {"write": "dispensary.add_customer"}
    OutputSerializer = CustomerSerializer

    class InputSerializer(CustomerFieldsSerializer):
        class Meta:
            ref_name = "CustomerCreateInput"

    @extend_schema(
        operation_id="customers_create",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 409, 422)},
    )
    @idempotent
    def post(self, request):
        stores = principal_customer_stores(request)
        data = self.InputSerializer(
            data=request.data, context={"organization": principal_organization(request), "stores": stores}
        )
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if stores is not None and values.get("home_store") is None:
            # An API client sees only customers of its stores: the new one must belong to one of them.
            only = list(stores[:2])
            if len(only) != 1:
                raise ValidationFailed(
                    "Give the customer's home store: one of the stores this API client reaches.",
                    details={"home_store": ["This field is required."]},
                )
            values["home_store"] = only[0]
        customer = customer_create(
            organization=principal_organization(request), actor=principal_actor(request), **values
        )
        return Response(self.OutputSerializer(customer).data, status=status.HTTP_201_CREATED)


class CustomerUpdateApi(APIView):
    scopes = {"write": WRITE_SCOPE}
    perms = {"write": "dispensary.change_customer"}
    OutputSerializer = CustomerSerializer

    class InputSerializer(CustomerFieldsSerializer):
        class Meta:
            ref_name = "CustomerUpdateInput"

    @extend_schema(
        operation_id="customers_partial_update",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer(partial=True),
        responses={200: OutputSerializer, **error_responses(400, 404, 409, 422)},
    )
    @idempotent
    def patch(self, request, customer_id: int):
        customer = _customer_get(request, customer_id)
        stores = principal_customer_stores(request)
        data = self.InputSerializer(
            data=request.data,
            partial=True,
            context={"organization": principal_organization(request), "stores": stores},
        )
        data.is_valid(raise_exception=True)
        if (
            stores is not None
            and "home_store" in data.validated_data
            and data.validated_data["home_store"] is None
        ):
            raise ValidationFailed(
                "An API client cannot take away a customer's home store.",
                details={"home_store": ["This field may not be null."]},
            )
        actor = principal_actor(request)
        updated = customer_update(customer=customer, actor=actor, **data.validated_data)
        if updated.updated_at == customer.updated_at:
            # Nothing changed, so no customer.updated record names this caller; the answer still shows the
            # record, and that read is logged like any other.
            customer_record_viewed(customer=updated, actor=actor, via=VIA)
        return Response(self.OutputSerializer(updated).data)


class ConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = MarketingConsent
        ref_name = "CustomerConsent"
        fields = [
            "id",
            "channel",
            "purpose",
            "granted",
            "awaiting_confirmation",
            "age_affirmed",
            "disclosure_version",
            "disclosure_text",
            "source",
            "ip_address",
            "user_agent",
            "import_file",
            "import_row",
            "recorded_at",
        ]


class CustomerConsentCreateApi(APIView):
    """Record a customer's grant or revocation from a web form, an e-commerce site or an import. A marketing
    grant needs `age_affirmed` (the customer confirmed being 21 or older); a grant of marketing texts waits for
    the customer's YES to the text they are sent (`awaiting_confirmation`)."""

    scopes = {"write": WRITE_SCOPE}
    perms = {"write": "dispensary.change_customer"}
    OutputSerializer = ConsentSerializer

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=MarketingConsent.Channel.choices)
        purpose = serializers.ChoiceField(
            choices=MarketingConsent.Purpose.choices, default=MarketingConsent.Purpose.MARKETING
        )
        granted = serializers.BooleanField()
        age_affirmed = serializers.BooleanField(
            help_text="The customer confirmed being 21 or older; required to grant marketing."
        )
        disclosure_version = serializers.CharField(max_length=40)
        source = serializers.ChoiceField(choices=["api", "web", "import"], default="api")
        ip_address = serializers.IPAddressField(required=False, allow_null=True, default=None)
        user_agent = serializers.CharField(max_length=400, required=False, allow_blank=True, default="")
        import_file = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        import_row = serializers.IntegerField(
            min_value=0, max_value=2**31 - 1, required=False, allow_null=True
        )

        class Meta:
            ref_name = "CustomerConsentInput"

    @extend_schema(
        operation_id="customers_consent_create",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 404, 409, 422)},
    )
    @idempotent
    def post(self, request, customer_id: int):
        customer = _customer_get(request, customer_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        consent = marketing_consent_record(
            customer=customer,
            channel=values["channel"],
            purpose=values["purpose"],
            granted=values["granted"],
            age_affirmed=values["age_affirmed"],
            disclosure_version=values["disclosure_version"],
            staff=principal_actor(request),
            store=None,
            source=values["source"],
            ip_address=values.get("ip_address"),
            user_agent=values.get("user_agent", ""),
            import_file=values.get("import_file", ""),
            import_row=values.get("import_row"),
        )
        return Response(self.OutputSerializer(consent).data, status=status.HTTP_201_CREATED)
