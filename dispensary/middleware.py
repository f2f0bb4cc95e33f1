"""The store a staff member is working at: chosen with the store switcher, kept in the session, and always
one of the stores they may access."""

from django.utils.functional import SimpleLazyObject

from dispensary.selectors import store_list_for_user

SESSION_KEY = "current_store_id"


def _stores(request):
    if not hasattr(request, "_accessible_stores"):
        user = request.user
        request._accessible_stores = list(store_list_for_user(user)) if user.is_authenticated else []
    return request._accessible_stores


def _current_store(request):
    stores = _stores(request)
    if not stores:
        return None
    chosen = request.session.get(SESSION_KEY)
    for store in stores:
        if store.pk == chosen:
            return store
    return stores[0]


class CurrentStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.accessible_stores = SimpleLazyObject(lambda: _stores(request))
        request.store = SimpleLazyObject(lambda: _current_store(request))
        return self.get_response(request)
