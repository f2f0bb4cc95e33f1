"""POST /api/v1/compliance/limits/check: an online menu (or any staff tool) asks whether a cart is within the
purchase limits before taking the order. Same input and output as `manage.py check_limits`."""

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.rules import BUCKETS, RulesInputError, check_request_parse
from compliance.rules.limits import CUSTOMER_TYPES, WINDOWS
from compliance.rules.payload import MAX_HISTORY, MAX_LABEL, MAX_LINES
from compliance.selectors import purchase_limits_verdict_get
from dispensary.api.fields import DateField, DateTimeField
from dispensary.api.principals import principal_stores
from dispensary.api.schema import error_responses
from dispensary.errors import ValidationFailed

AMOUNT = {"max_digits": 13, "decimal_places": 6, "min_value": 0, "max_value": 1000000}


class LimitLineSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(
        choices=BUCKETS, required=False, help_text="With amount, for one bucket."
    )
    amount = serializers.DecimalField(**AMOUNT, required=False, help_text='In the bucket\'s unit: "3.5".')
    amounts = serializers.DictField(
        child=serializers.DecimalField(**AMOUNT),
        required=False,
        help_text='Instead of bucket and amount, for a product counting in several: {"infused_thc_mg": "100", '
        '"infused_weight_g": "40"}.',
    )
    label = serializers.CharField(
        max_length=MAX_LABEL, required=False, allow_blank=True, help_text="Named in messages: Gelato 14g."
    )

    class Meta:
        ref_name = "LimitCheckLine"


class LimitPurchaseSerializer(serializers.Serializer):
    at = DateTimeField(help_text="With its UTC offset: 2026-03-01T10:00:00-07:00.")
    lines = serializers.ListField(child=LimitLineSerializer(), max_length=MAX_LINES)
    # Text rather than a second enum of the same choices (one enum name in the schema); checked as strictly.
    customer_type = serializers.CharField(
        required=False,
        max_length=20,
        help_text="adult_use or medical, when it differs from the customer's (then the purchase is ignored).",
    )

    class Meta:
        ref_name = "LimitCheckPurchase"


class LimitCustomerSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=CUSTOMER_TYPES)
    age = serializers.IntegerField(min_value=0, max_value=150)
    resident = serializers.BooleanField(required=False, default=True)
    via_caregiver = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A medical patient under the minimum age, through a caregiver.",
    )

    class Meta:
        ref_name = "LimitCheckCustomer"


class LimitUsageSerializer(serializers.Serializer):
    label = serializers.CharField()
    unit = serializers.CharField()
    window = serializers.ChoiceField(choices=WINDOWS)
    window_days = serializers.IntegerField(allow_null=True)
    limit = serializers.CharField()
    used_before = serializers.CharField(help_text="Earlier purchases in the window.")
    in_cart = serializers.CharField()
    used = serializers.CharField()
    remaining = serializers.CharField()
    over = serializers.BooleanField()
    buckets = serializers.ListField(child=serializers.CharField())
    citation = serializers.CharField()
    confirmed = serializers.BooleanField()

    class Meta:
        ref_name = "LimitUsage"


class BucketUsageSerializer(serializers.Serializer):
    bucket = serializers.CharField()
    used = serializers.CharField()
    limit = serializers.CharField(allow_null=True, help_text="null: no limit on this bucket.")
    remaining = serializers.CharField(allow_null=True)
    limited_by = serializers.CharField(allow_null=True, help_text="The label of the tightest limit.")

    class Meta:
        ref_name = "LimitBucketUsage"


class LimitViolationSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="limit_exceeded, age_below_minimum, age_unknown or customer_type_not_allowed."
    )
    message = serializers.CharField(help_text="A sentence for the budtender or the customer.")
    line = serializers.IntegerField(allow_null=True, help_text="1-based cart line.")
    limit = serializers.CharField(allow_null=True)
    over = serializers.CharField(allow_null=True)
    unit = serializers.CharField(allow_null=True)

    class Meta:
        ref_name = "LimitViolation"


EXAMPLE = {
    "jurisdiction": "US-CO",
    "date": "2026-03-01",
    "customer": {"type": "adult_use", "age": 34, "resident": True},
    "history": [{"at": "2026-03-01T10:00:00-07:00", "lines": [{"bucket": "flower_g", "amount": "10"}]}],
    "cart": [{"bucket": "concentrate_g", "amount": "4"}],
}


class LimitCheckApi(APIView):
    # A read in a POST body: the cart does not fit a query string. Menus hold menu:read.
    scopes = {"write": "menu:read"}
    perms = {"write": "dispensary.view_store"}

    class InputSerializer(serializers.Serializer):
        jurisdiction = serializers.RegexField(
            r"^[A-Z]{2}-[A-Z0-9]{1,3}$", max_length=6, help_text="ISO 3166-2: US-CO."
        )
        date = DateField(help_text="The store-local date of the sale.")
        store = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text="A store the caller reaches: its time zone decides the local day (else the state's).",
        )
        customer = LimitCustomerSerializer()
        history = serializers.ListField(
            child=LimitPurchaseSerializer(),
            required=False,
            max_length=MAX_HISTORY,
            help_text="Earlier sales.",
        )
        cart = serializers.ListField(child=LimitLineSerializer(), min_length=1, max_length=MAX_LINES)

        class Meta:
            ref_name = "LimitCheckInput"

    class OutputSerializer(serializers.Serializer):
        allowed = serializers.BooleanField()
        jurisdiction = serializers.CharField()
        date = DateField()
        time_zone = serializers.CharField()
        customer_type = serializers.CharField(help_text="adult_use or medical.")
        limits = LimitUsageSerializer(many=True)
        buckets = BucketUsageSerializer(many=True)
        violations = LimitViolationSerializer(many=True)

        class Meta:
            ref_name = "LimitCheckVerdict"

    @extend_schema(
        operation_id="compliance_limits_check",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 404)},
        examples=[OpenApiExample("Colorado, concentrate after flower", value=EXAMPLE, request_only=True)],
        description="Whether the cart is within the purchase limits: allowed, used and remaining per limit and "
        "per bucket, and which line breaks which limit. Nothing is stored. 404 for an unknown jurisdiction or "
        "a store the caller does not reach.",
    )
    def post(self, request):
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        try:
            check = check_request_parse(request.data)
        except RulesInputError as error:
            raise ValidationFailed(error.message, details=error.details) from error
        store = None
        if check.store is not None:
            store = principal_stores(request).filter(pk=check.store).first()
            if store is None:
                raise Http404
        verdict = purchase_limits_verdict_get(request=check, store=store)
        return Response(self.OutputSerializer(verdict.as_dict()).data)
