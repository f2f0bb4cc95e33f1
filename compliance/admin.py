"""Django admin of the compliance app."""

from django.contrib import admin

from compliance.models import (
    CaregiverLink,
    IdVerification,
    LoopingAlert,
    PatientRegistration,
    Recommendation,
    SyncRecord,
)
from dispensary.admin import ReadOnlyAdmin

# --- Jurisdiction rules (the rules engineer's block) --------------------------------------------------------


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
