"""Django admin for inventory. Quantities change only through the services (so the ledger balances): packages'
quantities are read-only here, stock movements can be read but never added, changed or deleted."""

from django.contrib import admin

from inventory.models import (
    CountLine,
    IncomingTransfer,
    InventoryCount,
    LabResult,
    Package,
    Product,
    ProductLimitAmount,
    Recall,
    ReceivingDiscrepancy,
    StockMovement,
    TransferLine,
    WasteRecord,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Facts of the past: they can be read, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ProductLimitAmountInline(admin.TabularInline):
    model = ProductLimitAmount
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "category", "brand", "price", "reorder_point", "is_active", "organization"]
    list_filter = ["organization", "category", "sold_by", "is_active"]
    search_fields = ["name", "sku", "barcode", "brand", "strain"]
    list_select_related = ["organization"]
    inlines = [ProductLimitAmountInline]


class LabResultInline(admin.TabularInline):
    model = LabResult
    extra = 0
    fields = ["lab_name", "tested_on", "thc_percent", "cbd_percent", "passed", "document"]


class MovementInline(ReadOnlyInline):
    model = StockMovement
    fields = ["created_at", "kind", "quantity", "allocated_delta", "actor_label", "reason", "note"]
    readonly_fields = fields
    ordering = ["-id"]


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    list_display = [
        "tag",
        "product",
        "store",
        "location",
        "status",
        "lab_status",
        "expires_on",
        "quantity_on_hand",
        "quantity_allocated",
    ]
    list_filter = ["store", "status", "location", "lab_status", "product__category"]
    search_fields = ["tag", "harvest_batch", "product__name", "product__sku", "supplier_license"]
    list_select_related = ["product", "store"]
    readonly_fields = [
        "store",
        "product",
        "tag",
        "unit",
        "quantity_on_hand",
        "quantity_allocated",
        "received_at",
    ]
    inlines = [LabResultInline, MovementInline]

    def has_add_permission(self, request, obj=None):
        # Packages enter stock through receiving, with their received movement.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "package",
        "store",
        "kind",
        "quantity",
        "allocated_delta",
        "actor_label",
        "reason",
    ]
    list_filter = ["store", "kind", "reason"]
    search_fields = ["package__tag", "reference_id", "actor_label", "note"]
    list_select_related = ["package", "store"]
    date_hierarchy = "created_at"


class TransferLineInline(ReadOnlyInline):
    model = TransferLine
    fields = [
        "tag",
        "product",
        "on_manifest",
        "expected_quantity",
        "received_quantity",
        "decision",
        "package",
    ]
    readonly_fields = fields


@admin.register(IncomingTransfer)
class IncomingTransferAdmin(ReadOnlyAdmin):
    list_display = [
        "manifest_number",
        "store",
        "shipper_name",
        "source",
        "status",
        "created_at",
        "completed_at",
    ]
    list_filter = ["store", "status", "source"]
    search_fields = ["manifest_number", "shipper_name", "shipper_license", "lines__tag"]
    list_select_related = ["store"]
    inlines = [TransferLineInline]


@admin.register(ReceivingDiscrepancy)
class ReceivingDiscrepancyAdmin(ReadOnlyAdmin):
    list_display = ["transfer", "line", "kind", "expected_quantity", "received_quantity", "report_to_state"]
    list_filter = ["kind", "report_to_state"]
    list_select_related = ["transfer", "line"]


@admin.register(WasteRecord)
class WasteRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "package",
        "store",
        "quantity",
        "reason",
        "method",
        "witness",
        "report_to_state",
    ]
    list_filter = ["store", "reason", "method", "report_to_state"]
    search_fields = ["package__tag", "note"]
    list_select_related = ["package", "store", "witness"]


class CountLineInline(ReadOnlyInline):
    model = CountLine
    fields = ["package", "system_quantity", "counted_quantity", "state_quantity", "counted_by", "movement"]
    readonly_fields = fields


@admin.register(InventoryCount)
class InventoryCountAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "store", "status", "opened_by", "opened_at", "approved_by", "approved_at"]
    list_filter = ["store", "scope", "status"]
    list_select_related = ["store", "opened_by", "approved_by"]
    inlines = [CountLineInline]


@admin.register(Recall)
class RecallAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "organization", "opened_by", "opened_at", "held_at"]
    list_filter = ["organization", "criterion"]
    search_fields = ["value", "reason"]
    filter_horizontal = ["packages"]
