"""The request middleware of the core: refusing input no field could accept, and the store a staff member is working at: chosen with the store switcher, kept in the session, and always
one of the stores they may access."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject

from dispensary import access_cache, versioned
from dispensary.inputs import text_problem
from dispensary.selectors import store_list_for_user

SESSION_KEY = "current_store_id"


def _stores(request):
    if not hasattr(request, "_accessible_stores"):
        user = request.user
        if not user.is_authenticated:
            request._accessible_stores = []
        elif access_cache.enabled():
            request._accessible_stores = access_cache.member_stores(user, lambda: store_list_for_user(user))
        else:
            request._accessible_stores = list(store_list_for_user(user))
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


class PinnedVersionsMiddleware:
    """The register's requests read every versioned family (the member and their stores, rules, catalog,
    promotions, loyalty) under the versions found in one cache round trip at their start, instead of one round
    trip per family read. Only for views that change none of those rows (a change is otherwise seen from the next
    request on): the register's screen and its changes, and the receipts. Not the completion, whose re-check
    under its locks must see a version moved since the cart was priced."""

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def applies(path: str) -> bool:
        if path.startswith("/pos/register/"):
            return not path.endswith("/complete/")
        return path.startswith("/pos/sales/") and path.endswith("/receipt/")

    def __call__(self, request):
        if not self.applies(request.path_info):
            return self.get_response(request)
        with versioned.pinned(versioned.versions(*versioned.family_names())):
            return self.get_response(request)


class RequestInputMiddleware:
    """Refuses a request whose input no field could accept before any view sees it: a body larger than
    DATA_UPLOAD_MAX_MEMORY_SIZE, or REQUEST_BODY_MAX_BYTES with files (413), a query string longer than
    QUERY_STRING_MAX_LENGTH (414), and a query parameter or form field with a NUL or control character or
    longer than the longest text any field takes (400). API paths answer in the API's error body, pages with a
    short page that says what was wrong; either way nothing was written. JSON bodies are checked by the API's
    parser (dispensary.api.parsers)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self._refusal(request)
        if refusal is not None:
            return _refused(request, *refusal)
        return self.get_response(request)

    def _refusal(self, request) -> tuple[int, str, str, dict] | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 400, "invalid", "The Content-Length header is not a number.", {}
        # Files (a manifest CSV) may come in a multipart body; any other body is data held in memory.
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        limit = settings.REQUEST_BODY_MAX_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return 413, "too_large", f"The request is larger than {limit:,} bytes.", {}
        longest = settings.QUERY_STRING_MAX_LENGTH
        if len(request.META.get("QUERY_STRING", "")) > longest:
            return 414, "too_long", f"The address is longer than {longest:,} characters.", {}
        sources = [request.GET]
        if request.method == "POST":
            try:
                sources.append(request.POST)
            except RequestDataTooBig:
                return 413, "too_large", "The form is too large.", {}
            except SuspiciousOperation as error:  # too many fields, a malformed multipart body
                return 400, "invalid", str(error) or "The form could not be read.", {}
        for source in sources:
            for name, values in source.lists():
                for text in (name, *values):
                    problem = text_problem(text)
                    if problem:
                        field = name[:40]
                        return 400, "invalid", f"{problem} (field “{field}”)", {field: [problem]}
        return None


def _refused(request, status: int, code: str, message: str, details: dict):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message, "details": details}, status=status)
    return HttpResponse(
        render_to_string("errors/400.html", {"status": status, "message": message}), status=status
    )
