"""What every page of the shell needs: the current store, the switcher's stores, the member's role."""

from django.utils.functional import SimpleLazyObject

from dispensary.views.access import user_primary_role


def shell(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    stores = getattr(request, "accessible_stores", [])
    store = getattr(request, "store", None)
    return {
        "current_store": store if store else None,
        "switchable_stores": stores,
        # Lazy and shared with the navigation: a partial that shows no role reads no roles.
        "primary_role": SimpleLazyObject(lambda: user_primary_role(user)),
    }
