"""Output shapes shared by the inventory endpoints. Money is a decimal string with two places ("45.00");
quantities are decimal strings in the spelling of errors and events ("3.5", "4")."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dispensary.inputs import QUANTITY_MAX
from inventory.models import (
    QUANTITY,
    IncomingTransfer,
    LabResult,
    LimitBucket,
    Package,
    Product,
    ReceivingDiscrepancy,
    StockMovement,
    TransferLine,
    quantity_text,
)


class QuantityField(serializers.DecimalField):
    """A quantity in and out as a decimal string, at most three decimals."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", QUANTITY["max_digits"])
        kwargs.setdefault("decimal_places", QUANTITY["decimal_places"])
        # The platform's bound on any quantity (dispensary.inputs): a tonne, or a million units.
        kwargs.setdefault("max_value", QUANTITY_MAX)
        kwargs.setdefault("min_value", -QUANTITY_MAX)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return None if value is None else quantity_text(value)


class NetUnitField(serializers.ChoiceField):
    """The unit of a product's net amount, or null when it has none: the column keeps "" for none, which is no
    unit, so the API says null instead of an empty string that the enum does not hold."""

    def __init__(self, **kwargs):
        super().__init__(choices=Product.NetUnit.choices, allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value):
        return value or None


class LimitAmountSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=LimitBucket.choices)
    amount = QuantityField(help_text="How much one unit (one gram when sold by weight) counts in the bucket.")

    class Meta:
        ref_name = "ProductLimitAmount"


class ProductSerializer(serializers.ModelSerializer):
    limit_amounts = LimitAmountSerializer(many=True, read_only=True)
    net_amount = QuantityField(allow_null=True)
    net_unit = NetUnitField()
    thc_mg = QuantityField(allow_null=True)
    cbd_mg = QuantityField(allow_null=True)

    class Meta:
        model = Product
        ref_name = "Product"
        fields = [
            "id",
            "name",
            "brand",
            "category",
            "strain",
            "sold_by",
            "net_amount",
            "net_unit",
            "thc_mg",
            "cbd_mg",
            "thc_percent",
            "cbd_percent",
            "price",
            "sku",
            "barcode",
            "is_active",
            "limit_amounts",
        ]
        read_only_fields = fields


class PackageProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        ref_name = "PackageProduct"
        fields = ["id", "name", "sku", "category", "brand", "sold_by"]
        read_only_fields = fields


class PackageSerializer(serializers.ModelSerializer):
    product = PackageProductSerializer(read_only=True)
    quantity_on_hand = QuantityField()
    quantity_allocated = QuantityField()
    quantity_available = QuantityField(help_text="On hand minus allocated to open orders.")

    class Meta:
        model = Package
        ref_name = "Package"
        fields = [
            "id",
            "store",
            "tag",
            "product",
            "status",
            "location",
            "location_detail",
            "lab_status",
            "quantity_on_hand",
            "quantity_allocated",
            "quantity_available",
            "supplier_license",
            "supplier_name",
            "harvest_batch",
            "harvest_date",
            "packaged_on",
            "expires_on",
            "received_at",
        ]
        read_only_fields = fields


class LabResultSerializer(serializers.ModelSerializer):
    tests = serializers.DictField(
        child=serializers.CharField(), help_text='Pass/fail per test, e.g. {"pesticides": "pass"}.'
    )

    class Meta:
        model = LabResult
        ref_name = "LabResult"
        fields = [
            "id",
            "lab_name",
            "lab_license",
            "tested_on",
            "thc_percent",
            "cbd_percent",
            "total_cannabinoids_percent",
            "tests",
            "passed",
        ]
        read_only_fields = fields


class PackageDetailSerializer(PackageSerializer):
    lab_results = LabResultSerializer(many=True, read_only=True)

    class Meta(PackageSerializer.Meta):
        ref_name = "PackageDetail"
        fields = [*PackageSerializer.Meta.fields, "lab_results"]
        read_only_fields = fields


class StockMovementSerializer(serializers.ModelSerializer):
    tag = serializers.CharField(source="package.tag", read_only=True)
    quantity = QuantityField(help_text="Signed change of on hand.")
    allocated_delta = QuantityField(help_text="Signed change of the quantity allocated to open orders.")

    class Meta:
        model = StockMovement
        ref_name = "StockMovement"
        fields = [
            "id",
            "store",
            "package",
            "tag",
            "kind",
            "quantity",
            "allocated_delta",
            "actor_label",
            "reason",
            "note",
            "reference_type",
            "reference_id",
            "created_at",
        ]
        read_only_fields = fields


class TransferLineSerializer(serializers.ModelSerializer):
    sku = serializers.SerializerMethodField()
    expected_quantity = QuantityField(allow_null=True)
    received_quantity = QuantityField(allow_null=True)

    class Meta:
        model = TransferLine
        ref_name = "TransferLine"
        fields = [
            "id",
            "tag",
            "product",
            "sku",
            "on_manifest",
            "expected_quantity",
            "received_quantity",
            "scanned_at",
            "lab_status",
            "harvest_batch",
            "expires_on",
            "decision",
            "package",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_sku(self, line: TransferLine) -> str:
        return line.product.sku if line.product_id else ""


class DiscrepancySerializer(serializers.ModelSerializer):
    tag = serializers.CharField(source="line.tag", read_only=True)
    expected_quantity = QuantityField(allow_null=True)
    received_quantity = QuantityField(allow_null=True)

    class Meta:
        model = ReceivingDiscrepancy
        ref_name = "ReceivingDiscrepancy"
        fields = ["id", "line", "tag", "kind", "expected_quantity", "received_quantity", "report_to_state"]
        read_only_fields = fields


class TransferSerializer(serializers.ModelSerializer):
    # Plain text in the schema: an enum named "status" here would collide with the package's status enum.
    status = serializers.CharField(read_only=True, help_text="`pending`, then `completed`.")
    lines = TransferLineSerializer(many=True, read_only=True)
    discrepancies = DiscrepancySerializer(many=True, read_only=True)

    class Meta:
        model = IncomingTransfer
        ref_name = "IncomingTransfer"
        fields = [
            "id",
            "store",
            "manifest_number",
            "shipper_license",
            "shipper_name",
            "source",
            "status",
            "created_at",
            "completed_at",
            "lines",
            "discrepancies",
        ]
        read_only_fields = fields
