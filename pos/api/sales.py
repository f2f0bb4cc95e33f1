"""Sales at the stores the caller reaches, read-only, with lines (tag, quantity, unit, amounts, each discount and
tax), tenders and refunds. A sale of a store the caller does not reach is not found (404)."""

from django.db.models import Prefetch
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from dispensary.api.fields import DateFilter
from dispensary.api.principals import principal_stores
from dispensary.api.schema import error_responses
from inventory.api.fields import IdFilter, path_id
from pos.api.serializers import SaleSerializer
from pos.models import RefundLine, Sale, SaleLineDiscount
from pos.selectors import sale_list

READ_SCOPE = "sales:read"
READ_PERM = "pos.view_sale"


def with_api_details(queryset):
    """What the API shows beyond the sales selector's details: each line's discounts and the refunds' lines."""
    return queryset.prefetch_related(
        Prefetch("lines__discounts", queryset=SaleLineDiscount.objects.order_by("id")),
        Prefetch("refunds__lines", queryset=RefundLine.objects.order_by("id")),
    )


class SaleListApi(ListAPIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": READ_PERM}
    OutputSerializer = SaleSerializer
    serializer_class = OutputSerializer
    filter_backends = [filters.DjangoFilterBackend]

    class FilterSet(filters.FilterSet):
        store = IdFilter(field_name="store_id", help_text="A store id.")
        customer = IdFilter(field_name="customer_id", help_text="A customer id.")
        status = filters.ChoiceFilter(choices=Sale.Status.choices)
        date_from = DateFilter(
            field_name="local_date", lookup_expr="gte", help_text="From this store-local date, inclusive."
        )
        date_to = DateFilter(
            field_name="local_date", lookup_expr="lte", help_text="Through this store-local date, inclusive."
        )

        class Meta:
            model = Sale
            fields = ["store", "customer", "status", "date_from", "date_to"]

    filterset_class = FilterSet

    def get_queryset(self):
        return with_api_details(sale_list(stores=principal_stores(self.request)))

    @extend_schema(
        operation_id="sales_list",
        responses={200: OutputSerializer(many=True), **error_responses(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SaleDetailApi(APIView):
    scopes = {"read": READ_SCOPE}
    perms = {"read": READ_PERM}
    OutputSerializer = SaleSerializer

    @extend_schema(
        operation_id="sales_retrieve",
        parameters=[path_id("sale_id")],
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request, sale_id: int):
        sale = with_api_details(sale_list(stores=principal_stores(request))).filter(pk=sale_id).first()
        if sale is None:
            raise Http404
        return Response(self.OutputSerializer(sale).data)
