"""Who may open which page: one decorator for staff pages, and the role tests the navigation shares with the
views, so a link is shown exactly when its page would let the member in."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from dispensary.roles import Role

MANAGEMENT_ROLES = {Role.OWNER, Role.MANAGER, Role.COMPLIANCE_OFFICER, Role.INVENTORY_MANAGER}
DRIVER_PAGE_ROLES = {Role.DRIVER, Role.MANAGER, Role.OWNER}


def user_roles(user) -> set[Role]:
    """The member's roles, read once per request (the user object lives as long as the request)."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_set_cache", None)
    if cached is None:
        # The access cache (dispensary.access_cache) hands out members with their role names already read.
        names = getattr(user, "_role_names_cache", None)
        if names is None:
            names = user.role_names
        cached = {Role(name) for name in names if name in Role._value2member_map_}
        user._role_set_cache = cached
    return cached


def user_primary_role(user) -> Role | None:
    return Role.primary(role.value for role in user_roles(user))


def can_see_dashboard(user) -> bool:
    if user.is_superuser:
        return True
    return bool(user_roles(user) & MANAGEMENT_ROLES) and user.has_perm("dispensary.view_store")


def can_see_driver_home(user) -> bool:
    return user.is_superuser or bool(user_roles(user) & DRIVER_PAGE_ROLES)


def no_access(request, *, status: int = 200):
    """The page for a member who has no role or no store yet: nothing is broken, an owner must grant them."""
    return render(
        request,
        "dispensary/no_access.html",
        {"has_role": bool(user_roles(request.user)) or request.user.is_superuser},
        status=status,
    )


def staff_view(*perms: str, allow=None, store_required: bool = True):
    """Anonymous -> login; missing permission or `allow(user)` false -> 403; no current store -> the
    no-access page. Sets `request.organization` to the current store's organization and renders times in the store's zone."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if perms and not user.has_perms(perms):
                raise PermissionDenied
            if allow is not None and not allow(user):
                raise PermissionDenied
            store = request.store or None  # a lazy object: never `is None` itself
            request.organization = store.organization if store else user.organization
            if store_required and store is None:
                return no_access(request, status=403)
            if store is None:
                return view(request, *args, **kwargs)
            # Staff read times in the time zone of the store they work at.
            with timezone.override(store.tz):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator
