"""Output shapes of the point of sale's API. Money and quantities are decimal strings."""

from rest_framework import serializers

from inventory.api.serializers import QuantityField
from pos.models import (
    PickupOrder,
    PickupOrderLine,
    PointsEntry,
    Refund,
    RefundLine,
    Sale,
    SaleLine,
    SaleLineDiscount,
    SaleLineTax,
    Tender,
)


class SaleLineDiscountSerializer(serializers.ModelSerializer):
    class Meta:
        model = SaleLineDiscount
        fields = ["source", "name", "amount", "promotion", "coupon", "reward"]
        read_only_fields = fields


class SaleLineTaxSerializer(serializers.ModelSerializer):
    class Meta:
        model = SaleLineTax
        fields = ["name", "field", "level", "rate", "included_in_price", "amount"]
        read_only_fields = fields


class SaleLineSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)
    tag = serializers.CharField(source="package.tag", read_only=True, help_text="The package's state tag.")
    quantity = QuantityField(read_only=True)
    refunded_quantity = QuantityField(read_only=True)
    discounts = SaleLineDiscountSerializer(many=True, read_only=True)
    taxes = SaleLineTaxSerializer(many=True, read_only=True)

    class Meta:
        model = SaleLine
        fields = [
            "id",
            "product",
            "product_name",
            "package",
            "tag",
            "quantity",
            "unit",
            "unit_price",
            "list_amount",
            "discount_amount",
            "net_amount",
            "tax_amount",
            "total",
            "refunded_quantity",
            "discounts",
            "taxes",
        ]
        read_only_fields = fields


class TenderSerializer(serializers.ModelSerializer):
    # Plain text in the schema (as inventory's statuses): enums named "kind" or "status" collide across apps.
    kind = serializers.CharField(read_only=True, help_text="`cash` or `card`.")

    class Meta:
        model = Tender
        fields = ["kind", "amount", "applied", "change_due", "reference"]
        read_only_fields = fields


class RefundLineSerializer(serializers.ModelSerializer):
    quantity = QuantityField(read_only=True)
    restocked = serializers.BooleanField(source="restock", read_only=True)

    class Meta:
        model = RefundLine
        fields = ["sale_line", "quantity", "restocked", "net_amount", "tax_amount", "total"]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    lines = RefundLineSerializer(many=True, read_only=True)
    tender_kind = serializers.CharField(read_only=True, help_text="`cash` or `card`.")

    class Meta:
        model = Refund
        fields = ["id", "created_at", "reason", "tender_kind", "net_amount", "tax_amount", "total", "lines"]
        read_only_fields = fields


class SaleSerializer(serializers.ModelSerializer):
    lines = SaleLineSerializer(many=True, read_only=True)
    tenders = TenderSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)
    status = serializers.CharField(read_only=True, help_text="`completed` or `voided`.")

    class Meta:
        model = Sale
        fields = [
            "id",
            "store",
            "register",
            "customer",
            "customer_type",
            "status",
            "receipt_number",
            "local_date",
            "completed_at",
            "voided_at",
            "pickup_order",
            "subtotal",
            "discount_total",
            "excise_tax_total",
            "sales_tax_total",
            "local_tax_total",
            "tax_total",
            "total",
            "refunded_total",
            "points_earned",
            "points_redeemed",
            "lines",
            "tenders",
            "refunds",
        ]
        read_only_fields = fields


class PickupOrderLineSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)
    tag = serializers.CharField(
        source="package.tag", read_only=True, help_text="The allocated package's tag."
    )
    unit = serializers.CharField(source="product.sold_by", read_only=True)
    quantity = QuantityField(read_only=True)

    class Meta:
        model = PickupOrderLine
        fields = ["id", "product", "product_name", "package", "tag", "quantity", "unit", "unit_price"]
        read_only_fields = fields


class AgeVerificationSerializer(serializers.Serializer):
    method = serializers.CharField(
        source="age_verification_method",
        read_only=True,
        help_text="`counter_scan` (ID scanned at the counter), `door_check` (ID checked at the door on delivery), "
        "`online` (verified online by the ordering channel), `medical_card`; empty: not verified yet.",
    )
    method_label = serializers.CharField(source="get_age_verification_method_display", read_only=True)
    verified_by = serializers.CharField(source="age_verified_by_name", read_only=True)
    verified_at = serializers.DateTimeField(source="age_verified_at", read_only=True, allow_null=True)
    reference = serializers.CharField(source="age_verification_reference", read_only=True)

    class Meta:
        ref_name = "OrderAgeVerification"


class PickupOrderSerializer(serializers.ModelSerializer):
    lines = PickupOrderLineSerializer(many=True, read_only=True)
    age_verification = AgeVerificationSerializer(source="*", read_only=True)
    fulfilment = serializers.CharField(read_only=True, help_text="`pickup` or `delivery`.")
    channel = serializers.CharField(read_only=True, help_text="`api`, `phone`, `kiosk` or `staff`.")
    sale = serializers.SerializerMethodField(help_text="The sale that completed the order.")
    status = serializers.CharField(
        read_only=True, help_text="`reserved`, `checked_in`, `completed`, `cancelled` or `expired`."
    )

    class Meta:
        model = PickupOrder
        fields = [
            "id",
            "store",
            "customer",
            "customer_type",
            "caregiver",
            "status",
            "source",
            "fulfilment",
            "channel",
            "age_verification",
            "placed_at",
            "pickup_after",
            "expires_at",
            "closed_at",
            "estimated_total",
            "external_reference",
            "note",
            "sale",
            "lines",
        ]
        read_only_fields = fields

    def get_sale(self, order: PickupOrder) -> int | None:
        sale = getattr(order, "sale", None)
        return sale.pk if sale is not None else None


class PointsEntrySerializer(serializers.ModelSerializer):
    kind = serializers.CharField(
        read_only=True, help_text="`earned`, `redeemed`, `expired`, `reversed` or `adjusted`."
    )

    class Meta:
        model = PointsEntry
        fields = ["id", "kind", "points", "created_at", "expires_at", "sale", "refund", "reward", "note"]
        read_only_fields = fields


class LoyaltyTierSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    min_spend = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ref_name = "LoyaltyTierSummary"


class LoyaltyStatementSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    balance = serializers.IntegerField(help_text="Points available now.")
    tier = LoyaltyTierSerializer(allow_null=True)
    tier_changed_at = serializers.DateTimeField(allow_null=True)
    since = serializers.DateTimeField(help_text="Entries from this time (twelve months back) are listed.")
    entries = PointsEntrySerializer(many=True)
