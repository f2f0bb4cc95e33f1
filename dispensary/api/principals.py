"""Who is calling the API: a staff member (session or staff token) or an API client, and what they reach.

Views ask these helpers rather than the user object, so staff and API clients follow one set of rules."""

from django.db.models import QuerySet

from dispensary.models import ApiClient, Organization, Store, User
from dispensary.selectors import store_list_for_user


class ApiClientUser:
    """Stands in for request.user when an API client authenticates; it is no staff member."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, client: ApiClient):
        self.client = client
        self.organization = client.organization
        self.organization_id = client.organization_id
        self.pk = f"client:{client.pk}"

    def get_username(self) -> str:
        return f"api-client:{self.client.name}"

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def __str__(self) -> str:
        return self.get_username()


def principal_actor(request):
    """What the audit log names as the actor: the staff member or the API client."""
    user = request.user
    return user.client if isinstance(user, ApiClientUser) else user


def principal_key(request) -> str:
    """A stable name for the caller, for keys that must not be shared between callers (idempotency)."""
    user = request.user
    if isinstance(user, ApiClientUser):
        return f"client:{user.client.pk}"
    return f"user:{user.pk}"


def principal_organization(request) -> Organization | None:
    return getattr(request.user, "organization", None)


def principal_stores(request) -> QuerySet[Store]:
    user = request.user
    if isinstance(user, ApiClientUser):
        return user.client.stores.filter(
            is_active=True, organization_id=user.client.organization_id
        ).select_related("organization")
    if isinstance(user, User):
        return store_list_for_user(user)
    return Store.objects.none()


def principal_allowed(request, *, scope: str | None, perm: str | None) -> bool:
    """API clients need the scope; staff need the model permission of their role."""
    user = request.user
    if isinstance(user, ApiClientUser):
        return scope is not None and scope in user.client.scopes
    if isinstance(user, User) and user.is_active:
        return perm is not None and user.has_perm(perm)
    return False


def principal_customer_stores(request) -> QuerySet[Store] | None:
    """Whose customers the caller reaches: an API client only those whose home store is one of its stores;
    staff (None) every customer of the organization, as on the customer desk."""
    if isinstance(request.user, ApiClientUser):
        return principal_stores(request)
    return None
