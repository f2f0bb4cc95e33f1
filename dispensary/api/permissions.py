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
        if not hasattr(view, request.method.lower()):
            # A method the view does not serve: let it answer 405 (which reveals nothing).
            return True
        kind = "read" if request.method in permissions.SAFE_METHODS else "write"
        scopes = getattr(view, "scopes", None)
        perms = getattr(view, "perms", None)
        if scopes is None and perms is None:
            return True
        # A view that declares scopes or perms but none for this kind of method is closed to it, rather than
        # open to every authenticated caller.
        return principal_allowed(request, scope=(scopes or {}).get(kind), perm=(perms or {}).get(kind))

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
