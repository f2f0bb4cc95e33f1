"""Keeps django-axes from replacing API answers with its HTML lockout page: the token view answers a lockout
itself, in the API's error body. Sits right after AxesMiddleware (inside it), so it sees the answer first."""

API_NAMESPACE = "api"


class ApiLockoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (
            getattr(request, "axes_locked_out", False)
            and match is not None
            and API_NAMESPACE in match.namespaces
        ):
            # The lockout itself is recorded by axes in the database; this flag only asks its middleware to
            # render the lockout page, which the API has already answered in JSON.
            request.axes_locked_out = False
        return response
