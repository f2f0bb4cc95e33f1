"""API permissions: the caller must be staff or an API client, hold the view's scope or model permission,
and reach the object's store or organization."""

from rest_framework import permissions

from dispensary.api.principals import (
    ApiClientUser,
    principal_allowed,
    principal_organization,
    principal_stores,
)
from dispensary.models import User


class IsStaffOrApiClient(permissions.BasePermission):
    """Default for every endpoint: an authenticated active staff member or API client.

    A view narrows it with `scopes` (for API clients) and `perms` (for staff), each keyed by HTTP method
    group: {"read": ..., "write": ...}."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (isinstance(user, ApiClientUser) or (isinstance(user, User) and user.is_active)):
            return False
        kind = "read" if request.method in permissions.SAFE_METHODS else "write"
        scope = getattr(view, "scopes", {}).get(kind)
        perm = getattr(view, "perms", {}).get(kind)
        if scope is None and perm is None:
            return True
        return principal_allowed(request, scope=scope, perm=perm)

    def has_object_permission(self, request, view, obj) -> bool:
        organization = principal_organization(request)
        if getattr(request.user, "is_superuser", False):
            return True
        org_id = getattr(obj, "organization_id", None)
        if organization is None or org_id != organization.pk:
            return False
        store_id = getattr(obj, "store_id", None)
        if obj.__class__.__name__ == "Store":
            store_id = obj.pk
        if store_id is not None:
            return principal_stores(request).filter(pk=store_id).exists()
        return True
