"""The platform's one door to Klaviyo, through the klaviyo-api package: create or update a profile, subscribe and
unsubscribe profiles (bulk jobs), create an event. Each call has a timeout; the package's own retries are off
(the outbox, or the backfill's next run, retries); failures become one of the errors below, which say whether a
retry may help. KLAVIYO["API_URL"] points the package at another host (the local fake)."""

import datetime as dt
import logging
from dataclasses import dataclass

import pydantic
import urllib3
from django.conf import settings
from klaviyo_api import KlaviyoAPI
from openapi_client.api_arg_options import USE_DICTIONARY_FOR_RESPONSE_DATA
from openapi_client.exceptions import ApiException

logger = logging.getLogger(__name__)

REVISION = KlaviyoAPI._REVISION  # the API revision the package speaks (its `revision` header)


class KlaviyoError(Exception):
    """A call to Klaviyo failed. `retryable`: the same call later may succeed (the outbox retries it)."""

    retryable = True

    def __init__(self, message: str, *, status: int = 0, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class KlaviyoRateLimited(KlaviyoError):
    """429: Klaviyo asks to wait `retry_after` seconds."""


class KlaviyoUnavailable(KlaviyoError):
    """5xx, a timeout, or the connection lost (perhaps after Klaviyo applied the call: the retry is safe, as
    events carry a unique_id and profile and subscription writes set a state)."""


class KlaviyoAuthFailed(KlaviyoError):
    """401 or 403: the key is wrong or lacks a scope. Retried, so that fixing the key sends what waits."""


class KlaviyoRejected(KlaviyoError):
    """400, 404, 409, 422: Klaviyo refuses this request as it is; sending it again cannot help."""

    retryable = False


def _detail(body: str | bytes | None) -> str:
    import json

    try:
        errors = json.loads(body or b"{}").get("errors") or []
    except (ValueError, AttributeError):
        return str(body or "")[:200]
    return "; ".join(str(error.get("detail") or error.get("title") or "") for error in errors)[:300]


def _error(error: ApiException) -> KlaviyoError:
    status = int(error.status or 0)
    detail = _detail(error.body) or str(error.reason or "")
    if status == 429:
        headers = error.headers or {}
        try:
            retry_after = int(headers.get("Retry-After") or 0) or None
        except ValueError:
            retry_after = None
        return KlaviyoRateLimited(
            f"Klaviyo's rate limit (429): retry after {retry_after or '?'} s. {detail}",
            status=status,
            retry_after=retry_after,
        )
    if status in (401, 403):
        return KlaviyoAuthFailed(f"Klaviyo refused the API key ({status}): {detail}", status=status)
    if 400 <= status < 500:
        return KlaviyoRejected(f"Klaviyo refused the request ({status}): {detail}", status=status)
    return KlaviyoUnavailable(
        f"Klaviyo did not answer as expected ({status or 'no status'}): {detail}", status=status
    )


@dataclass
class KlaviyoClient:
    api_key: str
    base_url: str = ""
    timeout: float = 10.0

    @classmethod
    def for_key(cls, api_key: str) -> "KlaviyoClient":
        config = settings.KLAVIYO
        return cls(api_key=api_key, base_url=config["API_URL"], timeout=config["TIMEOUT_SECONDS"])

    def _sdk(self) -> KlaviyoAPI:
        return KlaviyoAPI(
            self.api_key,
            max_retries=1,  # one try: retries belong to the outbox (and respect Retry-After there)
            max_delay=1,
            test_host=self.base_url.rstrip("/"),
            options={USE_DICTIONARY_FOR_RESPONSE_DATA: True},
        )

    def _call(self, what: str, function, body: dict):
        try:
            return function(body, _request_timeout=(self.timeout, self.timeout))
        except ApiException as error:
            raise _error(error) from error
        except pydantic.ValidationError as error:
            raise KlaviyoRejected(f"{what}: the request is not valid: {error.errors()[0]['msg']}") from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise KlaviyoUnavailable(
                f"{what}: no answer from Klaviyo ({type(error).__name__}: {error})"
            ) from error

    def profile_upsert(self, attributes: dict) -> dict:
        """POST /api/profile-import: create or update the profile matched by its identifiers."""
        body = {"data": {"type": "profile", "attributes": attributes}}
        return self._call("Profile", self._sdk().Profiles.create_or_update_profile, body) or {}

    def profiles_subscribe(self, *, profiles: list[dict], list_id: str = "", source: str = "") -> None:
        """POST /api/profile-subscription-bulk-create-jobs with historical_import (the consent was given to us,
        at `consented_at`: Klaviyo sends no double opt-in of its own)."""
        attributes: dict = {"profiles": {"data": [{"type": "profile", "attributes": p} for p in profiles]}}
        attributes["historical_import"] = True
        if source:
            attributes["custom_source"] = source
        data: dict = {"type": "profile-subscription-bulk-create-job", "attributes": attributes}
        if list_id:
            data["relationships"] = {"list": {"data": {"type": "list", "id": list_id}}}
        self._call("Subscription", self._sdk().Profiles.bulk_subscribe_profiles, {"data": data})

    def profiles_unsubscribe(self, *, profiles: list[dict], list_id: str = "") -> None:
        """POST /api/profile-subscription-bulk-delete-jobs."""
        attributes = {"profiles": {"data": [{"type": "profile", "attributes": p} for p in profiles]}}
        data: dict = {"type": "profile-subscription-bulk-delete-job", "attributes": attributes}
        if list_id:
            data["relationships"] = {"list": {"data": {"type": "list", "id": list_id}}}
        self._call("Unsubscription", self._sdk().Profiles.bulk_unsubscribe_profiles, {"data": data})

    def event_create(
        self,
        *,
        metric: str,
        profile: dict,
        properties: dict,
        unique_id: str,
        time: dt.datetime,
        value: float | None = None,
        value_currency: str = "",
        backfill: bool = False,
    ) -> None:
        """POST /api/events. Klaviyo records the first event of a unique_id per profile and metric only."""
        attributes: dict = {
            "properties": properties,
            "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
            "profile": {"data": {"type": "profile", "attributes": profile}},
            "unique_id": unique_id,
            "time": time.astimezone(dt.UTC).isoformat(),
        }
        if value is not None:
            attributes["value"] = value
            if value_currency:
                attributes["value_currency"] = value_currency
        if backfill:
            attributes["backfill"] = True
        self._call(
            "Event", self._sdk().Events.create_event, {"data": {"type": "event", "attributes": attributes}}
        )
