"""A customer's purchase history and loyalty statement. Customers may be patients: each read is audit-logged,
and a customer of another organization is not found (404)."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.principals import (
    principal_actor,
    principal_customer_stores,
    principal_organization,
    principal_stores,
)
from dispensary.api.schema import error_responses
from dispensary.models import Customer
from dispensary.selectors import customer_list, customer_record_viewed
from inventory.api.fields import path_id
from pos.api.sales import with_api_details
from pos.api.serializers import LoyaltyStatementSerializer, SaleSerializer
from pos.selectors import customer_purchase_list
from pos.selectors.loyalty_statement import loyalty_statement_get

READ_SCOPE, READ_PERM = "customers:read", "dispensary.view_customer"


def _customer_get(request, customer_id: int) -> Customer:
    customer = (
        customer_list(organization=principal_organization(request), stores=principal_customer_stores(request))
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise Http404
    return customer


class CustomerPurchaseListApi(ListAPIView):
    """The customer's sales at the stores the caller reaches, newest first (voided ones included)."""

    scopes = {"read": READ_SCOPE}
    perms = {"read": READ_PERM}
    OutputSerializer = SaleSerializer
    serializer_class = OutputSerializer
    filter_backends = []

    def get_queryset(self):
        customer = _customer_get(self.request, self.kwargs["customer_id"])
        customer_record_viewed(customer=customer, actor=principal_actor(self.request), via="api:purchases")
        return with_api_details(
            customer_purchase_list(customer=customer, stores=principal_stores(self.request))
        )

    @extend_schema(
        operation_id="customers_purchases_list",
        parameters=[path_id("customer_id")],
        responses={200: OutputSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CustomerLoyaltyApi(APIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": READ_PERM}
    OutputSerializer = LoyaltyStatementSerializer

    @extend_schema(
        operation_id="customers_loyalty_retrieve",
        parameters=[path_id("customer_id")],
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request, customer_id: int):
        customer = _customer_get(request, customer_id)
        customer_record_viewed(customer=customer, actor=principal_actor(request), via="api:loyalty")
        statement = loyalty_statement_get(customer=customer, now=timezone.now())
        return Response(self.OutputSerializer({"customer": customer.pk, **statement.__dict__}).data)
