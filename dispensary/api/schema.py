"""What the OpenAPI schema says beyond the views themselves: the bearer keys, the one error body, and the
Idempotency-Key header of writes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "dispensary.api.authentication.ApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "dsp_c_<prefix>_<secret> (API client) or dsp_s_<prefix>_<secret> (staff token)",
            "description": (
                "An API client key (one organization, chosen stores and scopes) or a staff token from "
                "POST /api/v1/auth/token (acts with the staff member's roles and stores)."
            ),
        }


ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "code": serializers.CharField(
            help_text="Stable, machine-readable: invalid, not_found, duplicate_customer..."
        ),
        "message": serializers.CharField(help_text="For people."),
        "details": serializers.DictField(
            child=serializers.JSONField(),
            help_text="Structured: field errors for `invalid`, the existing customer_id for `duplicate_customer`.",
        ),
    },
)

_ERROR_DESCRIPTIONS = {
    400: "Invalid input (`invalid`, `invalid_phone`, `invalid_idempotency_key`, `invalid_credentials`).",
    401: "No key, or a malformed, unknown, revoked or expired one.",
    403: "The key lacks the scope, or the staff member the permission.",
    404: "No such object among those the caller reaches.",
    409: "Conflict with existing data (`duplicate_customer`, with details.customer_id).",
    422: "The Idempotency-Key was already used with a different request (`idempotency_key_reused`).",
    429: "Too many requests (`throttled`, details.retry_after_seconds) or a locked account (`locked_out`).",
}
COMMON_ERRORS = (401, 403, 429)


def error_responses(*statuses: int, common: bool = True) -> dict:
    codes = sorted({*statuses, *(COMMON_ERRORS if common else ())})
    return {code: OpenApiResponse(ErrorSerializer, description=_ERROR_DESCRIPTIONS[code]) for code in codes}


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    required=False,
    description=(
        "Any unique string (a UUID is ideal). A retry with the same key, by the same caller, on the same "
        "endpoint and with the same body returns the first answer instead of doing the work twice."
    ),
)

__all__ = ["ApiKeyAuthenticationScheme", "ErrorSerializer", "IDEMPOTENCY_KEY", "error_responses"]
