"""One API class per operation, several operations per URL: `by_method` sends each HTTP method of a path to
its own class, and `expand_by_method` shows drf-spectacular each class as its own operation."""

from django.views.decorators.csrf import csrf_exempt


def by_method(**views):
    """by_method(get=CustomerDetailApi, patch=CustomerUpdateApi): a URL served by one class per method."""
    callbacks = {method.upper(): cls.as_view() for method, cls in views.items()}
    allowed = sorted({*callbacks, "OPTIONS"} | ({"HEAD"} if "GET" in callbacks else set()))
    first = next(iter(callbacks.values()))

    @csrf_exempt  # each class enforces CSRF itself for session callers, as every DRF view does
    def view(request, *args, **kwargs):
        method = "GET" if request.method == "HEAD" else request.method
        # An unserved method goes to the first class, which answers 405 in the API's error shape.
        response = callbacks.get(method, first)(request, *args, **kwargs)
        if response.status_code == 405:
            response["Allow"] = ", ".join(allowed)
        return response

    # What drf-spectacular's endpoint enumerator looks for; expand_by_method then splits the operations.
    view.cls = first.cls
    view.initkwargs = {}
    view.operations = callbacks
    return view


def expand_by_method(endpoints):
    """drf-spectacular preprocessing hook: one endpoint per (path, method, class) of every by_method URL."""
    expanded = []
    seen = set()
    for path, path_regex, method, callback in endpoints:
        operations = getattr(callback, "operations", None)
        if operations is None:
            expanded.append((path, path_regex, method, callback))
            continue
        if path in seen:
            continue
        seen.add(path)
        for operation_method, operation_callback in operations.items():
            expanded.append((path, path_regex, operation_method, operation_callback))
    return expanded
