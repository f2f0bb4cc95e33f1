"""Bearer keys for the API: `dsp_c_<prefix>_<secret>` for API clients, `dsp_s_<prefix>_<secret>` for staff.

The prefix finds the row; the secret is compared by hash in constant time. Nothing secret is stored."""

import datetime as dt
import hmac

from django.utils import timezone
from rest_framework import authentication, exceptions

from dispensary.api.principals import ApiClientUser
from dispensary.models import ApiClient, StaffToken
from dispensary.services import secret_hash, staff_token_lifetime

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _touch(row) -> None:
    # One write a minute at most, not one per request.
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        type(row).objects.filter(pk=row.pk).update(last_used_at=now)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme.lower() not in {"bearer", "token"}:
            return None
        parts = key.strip().split("_", 3)
        if len(parts) != 4 or parts[0] != "dsp" or parts[1] not in {"c", "s"}:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        _, kind, prefix, secret = parts
        if kind == "c":
            client = ApiClient.objects.select_related("organization").filter(key_prefix=prefix).first()
            if client is None or not hmac.compare_digest(client.secret_hash, secret_hash(secret)):
                raise exceptions.AuthenticationFailed("Invalid API key.")
            if not client.is_active:
                raise exceptions.AuthenticationFailed("This API client has been revoked.")
            _touch(client)
            return ApiClientUser(client), client
        token = (
            StaffToken.objects.select_related("user", "user__organization").filter(key_prefix=prefix).first()
        )
        if token is None or not hmac.compare_digest(token.secret_hash, secret_hash(secret)):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        # Tokens issued before tokens expired have no expiry of their own: they live the standard lifetime.
        expires_at = token.expires_at or token.created_at + staff_token_lifetime()
        if expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("This token has expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This staff account is disabled.")
        _touch(token)
        return token.user, token
