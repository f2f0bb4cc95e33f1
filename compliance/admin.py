"""Django admin of the compliance app."""

from django.contrib import admin

from compliance.models import (
    AgeRule,
    CaregiverLink,
    DeliveryRule,
    IdVerification,
    Jurisdiction,
    LoopingAlert,
    PatientRegistration,
    PurchaseLimit,
    PurchaseLimitTerm,
    Recommendation,
    SyncRecord,
    TaxRate,
)
from dispensary.admin import ReadOnlyAdmin
from dispensary.audit import audit_record, snapshot

# --- Jurisdiction rules (the rules engineer's block) --------------------------------------------------------
# Editable: a new state or a changed statute is new rows (close the old row with effective_to, add the new one).
# Every change writes an audit record in the admin's transaction.


class AuditedRuleAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        action = "compliance.rule_changed" if change else "compliance.rule_added"
        audit_record(actor=request.user, action=action, instance=obj, before=before, after=snapshot(obj))

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action="compliance.rule_deleted", instance=obj, before=snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(
                actor=request.user, action="compliance.rule_deleted", instance=obj, before=snapshot(obj)
            )
        super().delete_queryset(request, queryset)


SOURCE = ("Source", {"fields": ["effective_from", "effective_to", "citation", "confirmed", "note"]})


@admin.register(Jurisdiction)
class JurisdictionAdmin(AuditedRuleAdmin):
    list_display = ["code", "name", "time_zone", "adult_use_legal", "medical_legal"]
    search_fields = ["code", "name"]


class PurchaseLimitTermInline(admin.TabularInline):
    model = PurchaseLimitTerm
    extra = 0
    min_num = 1


@admin.register(PurchaseLimit)
class PurchaseLimitAdmin(AuditedRuleAdmin):
    list_display = [
        "jurisdiction",
        "customer_type",
        "residency",
        "label",
        "amount",
        "unit",
        "window",
        "window_days",
        "effective_from",
        "effective_to",
        "confirmed",
    ]
    list_filter = ["jurisdiction", "customer_type", "window", "confirmed"]
    search_fields = ["label", "citation", "note"]
    list_select_related = ["jurisdiction"]
    inlines = [PurchaseLimitTermInline]
    fieldsets = [
        (None, {"fields": ["jurisdiction", "customer_type", "residency", "age_min", "age_max"]}),
        ("Allowance", {"fields": ["label", "amount", "unit", "window", "window_days"]}),
        SOURCE,
    ]

    def save_related(self, request, form, formsets, change):
        before = [snapshot(term) for term in form.instance.terms.order_by("id")]
        super().save_related(request, form, formsets, change)
        after = [snapshot(term) for term in form.instance.terms.order_by("id")]
        if before != after:
            audit_record(
                actor=request.user,
                action="compliance.rule_terms_changed",
                instance=form.instance,
                before={"terms": before},
                after={"terms": after},
            )


@admin.register(AgeRule)
class AgeRuleAdmin(AuditedRuleAdmin):
    list_display = [
        "jurisdiction",
        "customer_type",
        "minimum_age",
        "younger_through_caregiver",
        "effective_from",
        "effective_to",
        "confirmed",
    ]
    list_filter = ["jurisdiction", "customer_type", "confirmed"]
    list_select_related = ["jurisdiction"]


@admin.register(DeliveryRule)
class DeliveryRuleAdmin(AuditedRuleAdmin):
    list_display = [
        "jurisdiction",
        "delivery_permitted",
        "hours",
        "hours_start",
        "hours_end",
        "return_by",
        "vehicle_value_cap",
        "unordered_value_cap",
        "value_basis",
        "effective_from",
        "effective_to",
        "confirmed",
    ]
    list_filter = ["jurisdiction", "confirmed"]
    list_select_related = ["jurisdiction"]


@admin.register(TaxRate)
class TaxRateAdmin(AuditedRuleAdmin):
    list_display = [
        "jurisdiction",
        "name",
        "level",
        "customer_type",
        "products",
        "categories",
        "rate",
        "base",
        "included_in_price",
        "effective_from",
        "effective_to",
        "confirmed",
    ]
    list_filter = ["jurisdiction", "level", "customer_type", "confirmed"]
    search_fields = ["name", "citation", "note"]
    list_select_related = ["jurisdiction"]


# --- Sync queue, patients, ID checks and looping alerts (web pages' block) ---------------------------------
# Read-only here: each change of these rows writes an audit record through its service, which the web pages
# (/compliance/...) call; editing them in the admin would bypass it.


@admin.register(SyncRecord)
class SyncRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "store",
        "kind",
        "status",
        "attempts",
        "reference_type",
        "reference_id",
        "created_at",
    ]
    list_filter = ["status", "kind", "store"]
    search_fields = ["reference_id", "external_number", "last_error"]
    list_select_related = ["store"]
    date_hierarchy = "created_at"


@admin.register(LoopingAlert)
class LoopingAlertAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "local_date", "acknowledged_at", "acknowledged_by"]
    list_filter = ["organization", "local_date"]
    list_select_related = ["organization", "acknowledged_by"]


@admin.register(IdVerification)
class IdVerificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "store", "local_date", "method", "age", "passed", "customer"]
    list_filter = ["passed", "method", "store"]
    list_select_related = ["store", "customer"]
    exclude = ["id_hash"]


@admin.register(PatientRegistration)
class PatientRegistrationAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "state", "card_number", "expires_on"]
    list_filter = ["state"]
    search_fields = ["card_number"]
    list_select_related = ["customer"]


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnlyAdmin):
    list_display = ["id", "registration", "physician_name", "issued_on", "expires_on"]
    list_select_related = ["registration"]


@admin.register(CaregiverLink)
class CaregiverLinkAdmin(ReadOnlyAdmin):
    list_display = ["id", "caregiver", "patient", "expires_on"]
    list_select_related = ["caregiver", "patient"]
