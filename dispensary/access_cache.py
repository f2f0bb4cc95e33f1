"""The signed-in member as every request needs them: their row, their model permissions, their roles and the
stores they may work at, kept per process under one version (dispensary.versioned) that any change of a
member, a role, a permission, a store grant, a store or an organization moves. A request then reads none of them
from the database, and a deactivated member, a changed password, a removed permission or a revoked store takes
effect on the very next request in every process.

"At once in every process" needs a cache all processes share (Redis, CACHE_URL): with local memory a bump
reaches only the process that made it. ACCESS_CACHE is therefore on with CACHE_URL and off without it, where
every request reads the member, their permissions and their stores as Django does (one process may turn it on:
the tests of the hot paths do)."""

import copy
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import Model
from guardian.models import GroupObjectPermission, UserObjectPermission

from dispensary.models import Organization, Store, User
from dispensary.versioned import Versioned

ACCESS = Versioned("access").watch(
    User,
    Group,
    Permission,
    Store,
    Organization,
    UserObjectPermission,
    GroupObjectPermission,
    m2m=(User.groups.through, User.user_permissions.through, Group.permissions.through),
)


def enabled() -> bool:
    return bool(getattr(settings, "ACCESS_CACHE", False))


@dataclass(frozen=True)
class Member:
    """What is kept of a member: the row's values and what the request asks of them. Never handed out: each
    request gets its own User instance built from it."""

    field_names: tuple[str, ...]
    values: tuple
    user_permissions: frozenset[str]
    group_permissions: frozenset[str]
    role_names: tuple[str, ...]


def _member_load(user_id) -> Member | None:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    backend = ModelBackend()
    names = tuple(field.attname for field in User._meta.concrete_fields)
    return Member(
        field_names=names,
        values=tuple(getattr(user, name) for name in names),
        user_permissions=frozenset(backend.get_user_permissions(user)),
        group_permissions=frozenset(backend.get_group_permissions(user)),
        role_names=tuple(user.role_names),
    )


def member_get(user_id) -> User | None:
    """A fresh User for this request (None: no such member), with its permissions and roles already known, and
    the version it was read under (for the member's stores)."""
    version = ACCESS.version()
    member = ACCESS.get(("member", user_id), lambda: _member_load(user_id), version=version)
    if member is None:
        return None
    user = User.from_db("default", member.field_names, member.values)
    # What ModelBackend and dispensary.views.access.user_roles keep on the instance for the request's life.
    user._user_perm_cache = set(member.user_permissions)
    user._group_perm_cache = set(member.group_permissions)
    user._perm_cache = user._user_perm_cache | user._group_perm_cache if user.is_active else set()
    user._role_names_cache = member.role_names
    user._access_version = version
    return user


def member_stores(user: User, load) -> list[Store]:
    """The member's stores (`load()` reads them), kept under the version the member was read under; each
    request gets its own copies, so a view that changes its store changes nobody else's."""
    version = getattr(user, "_access_version", None)
    kept = ACCESS.get(("stores", user.pk), lambda: list(load()), version=version)
    return [_copy(store) for store in kept]


def organization_staff(organization_id: int, load) -> tuple[User, ...]:
    """The organization's active members as `load()` reads them, kept per process under the access version
    (any change of a member moves it) when ACCESS_CACHE is on: the instances are shared, read them only."""
    if not enabled():
        return tuple(load())
    return ACCESS.get(("staff", organization_id), lambda: tuple(load()))


def _copy(store: Store) -> Store:
    duplicate = copy.copy(store)
    if "organization" in store._state.fields_cache:
        organization: Model = store._state.fields_cache["organization"]
        duplicate._state.fields_cache["organization"] = copy.copy(organization)
    return duplicate


class CachedModelBackend(ModelBackend):
    """Django's model backend, reading the signed-in member (with permissions and roles) from the access cache
    when ACCESS_CACHE is on. Authentication itself (the password) always reads the database."""

    def get_user(self, user_id):
        if not enabled():
            return super().get_user(user_id)
        user = member_get(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
