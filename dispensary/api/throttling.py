"""One rate per caller: a staff member, an API client, or (unauthenticated) an address.

The counters live in Django's default cache: with CACHE_URL (Redis) every worker process shares them, so
the rate is the caller's across the whole deployment, not per process."""

from rest_framework.throttling import SimpleRateThrottle

from dispensary.client_address import client_address


class PrincipalRateThrottle(SimpleRateThrottle):
    scope = "principal"

    def get_ident(self, request) -> str:
        # DRF's own believes any X-Forwarded-For; only a trusted proxy's is believed here.
        return client_address(request)

    def get_cache_key(self, request, view):
        user = request.user
        ident = f"user:{user.pk}" if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
