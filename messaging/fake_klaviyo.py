"""A local fake of Klaviyo's API, for development (`manage.py klaviyo_fake --port 8026`) and tests
(`FakeKlaviyo(...).start()` in a thread on a free port). Small, but speaking the published shapes (JSON:API,
revision 2026-10-15, which the klaviyo-api package sends):

- POST /api/profile-import: create or update a profile matched by external_id, email or phone_number
  (201 created, 200 updated, with the profile resource);
- POST /api/profile-subscription-bulk-create-jobs and /api/profile-subscription-bulk-delete-jobs: email and
  SMS marketing consent (SUBSCRIBED with `consented_at` under `historical_import`, UNSUBSCRIBED), optionally
  joining or leaving a list (202);
- POST /api/events: the metric, the profile (created or updated from its identifiers), properties, value, time
  and unique_id; like Klaviyo, only the first event of a unique_id per profile and metric is recorded (202).

Every request needs `Authorization: Klaviyo-API-Key <key>` with a key the fake knows (401 otherwise) and a
`revision` header (400 otherwise). Errors answer {"errors": [{id, status, code, title, detail, source}]}.

Faults for tests, consumed one per API request: "429" (answers 429 with Retry-After, applying nothing), "500"
and "503", "lose" (applies the request, then closes the connection without an answer), "slow" (applies it, then
answers after `slow_seconds`). GET /_fake/state shows what the fake holds.

Standard library http.server (threaded); nothing here reads the database."""

import datetime as dt
import json
import logging
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DEV_API_KEY = "pk_fake_development_key_0000"  # noqa: S105 - the fake's own, never a real account's
REVISION_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}(\.(pre|beta))?$")
IDENTIFIERS = ("external_id", "email", "phone_number")
CHANNELS = ("email", "sms")


class FakeError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str, pointer: str = "/data"):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail, self.pointer = status, code, title, detail, pointer


def _invalid(detail: str, pointer: str = "/data") -> FakeError:
    return FakeError(400, "invalid", "Invalid input.", detail, pointer)


def _time(text, pointer: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(text))
    except ValueError as error:
        raise _invalid(f"'{text}' is not a valid datetime.", pointer) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


class FakeKlaviyo:
    def __init__(
        self,
        *,
        api_keys: tuple[str, ...] = (DEV_API_KEY,),
        host: str = "127.0.0.1",
        port: int = 0,
        faults: list[str] | None = None,
        retry_after: int = 2,
        slow_seconds: float = 2.0,
    ):
        self.api_keys = set(api_keys)
        self.host = host
        self.port = port
        self.faults = list(faults or [])
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.profiles: dict[str, dict] = {}  # id -> {"id", "attributes", "subscriptions", "lists"}
        self.events: list[dict] = []  # recorded, once per (profile, metric, unique_id)
        self.requests: list[tuple[str, str]] = []  # (path, answer) of every API request, faults included
        self.jobs: list[dict] = []  # subscription jobs accepted
        self._event_keys: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- running ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "FakeKlaviyo":
        fake = self

        class Handler(_Handler):
            klaviyo = fake

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="klaviyo-fake", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self._server is None:
            self.start()
        try:
            while self._thread and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeKlaviyo":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what tests read --------------------------------------------------------------------------------

    def events_of(self, metric: str) -> list[dict]:
        return [event for event in self.events if event["metric"] == metric]

    def profile_by(self, **identifier) -> dict | None:
        ((name, value),) = identifier.items()
        return next((p for p in self.profiles.values() if p["attributes"].get(name) == value), None)

    def state(self) -> dict:
        with self._lock:
            return {
                "profiles": [
                    {**p, "lists": sorted(p["lists"])}
                    for p in sorted(self.profiles.values(), key=lambda p: p["id"])
                ],
                "events": list(self.events),
                "jobs": list(self.jobs),
            }

    # --- what the API does (under the lock) --------------------------------------------------------------

    def _profile_find(self, attributes: dict) -> dict | None:
        for name in IDENTIFIERS:
            value = attributes.get(name)
            if value:
                found = self.profile_by(**{name: value})
                if found is not None:
                    return found
        return None

    def _profile_apply(self, attributes: dict) -> tuple[dict, bool]:
        if not any(attributes.get(name) for name in IDENTIFIERS):
            raise _invalid(
                "One of email, phone_number or external_id is required to identify a profile.",
                "/data/attributes",
            )
        phone = attributes.get("phone_number")
        if phone and not re.fullmatch(r"\+[1-9]\d{6,14}", str(phone)):
            raise _invalid(f"Invalid phone number format: {phone}", "/data/attributes/phone_number")
        profile = self._profile_find(attributes)
        created = profile is None
        if created:
            profile = {
                "id": "01" + uuid.uuid4().hex[:24].upper(),
                "attributes": {},
                "subscriptions": {},
                "lists": set(),
            }
            self.profiles[profile["id"]] = profile
        for name, value in attributes.items():
            if name == "properties":
                profile["attributes"].setdefault("properties", {}).update(value or {})
            elif name != "subscriptions":
                profile["attributes"][name] = value
        return profile, created

    def profile_import(self, body: dict) -> tuple[int, dict]:
        data = body.get("data") or {}
        if data.get("type") != "profile":
            raise _invalid("The type must be 'profile'.", "/data/type")
        profile, created = self._profile_apply(data.get("attributes") or {})
        return (201 if created else 200), self._profile_resource(profile)

    def _profile_resource(self, profile: dict) -> dict:
        return {
            "data": {
                "type": "profile",
                "id": profile["id"],
                "attributes": dict(profile["attributes"]),
                "links": {"self": f"{self.url}/api/profiles/{profile['id']}/"},
            }
        }

    def subscriptions_change(self, body: dict, *, subscribe: bool) -> None:
        data = body.get("data") or {}
        kind = "profile-subscription-bulk-create-job" if subscribe else "profile-subscription-bulk-delete-job"
        if data.get("type") != kind:
            raise _invalid(f"The type must be '{kind}'.", "/data/type")
        attributes = data.get("attributes") or {}
        historical = bool(attributes.get("historical_import"))
        rows = ((attributes.get("profiles") or {}).get("data")) or []
        if not rows or len(rows) > 1000:
            raise _invalid("Between 1 and 1000 profiles per job.", "/data/attributes/profiles/data")
        list_id = (((data.get("relationships") or {}).get("list") or {}).get("data") or {}).get("id", "")
        wanted = "SUBSCRIBED" if subscribe else "UNSUBSCRIBED"
        changes = []
        for index, row in enumerate(rows):
            pointer = f"/data/attributes/profiles/data/{index}/attributes"
            profile_attributes = row.get("attributes") or {}
            channels = profile_attributes.get("subscriptions") or {}
            if not channels:
                raise _invalid("subscriptions is required.", f"{pointer}/subscriptions")
            for channel, parameters in channels.items():
                if channel not in CHANNELS:
                    raise _invalid(f"Unknown channel '{channel}'.", f"{pointer}/subscriptions")
                identifier = "email" if channel == "email" else "phone_number"
                if not profile_attributes.get(identifier):
                    raise _invalid(f"{identifier} is required for the {channel} channel.", pointer)
                marketing = (parameters or {}).get("marketing") or {}
                if marketing.get("consent") != wanted:
                    raise _invalid(f"consent must be '{wanted}'.", f"{pointer}/subscriptions/{channel}")
                consented_at = marketing.get("consented_at")
                if subscribe and consented_at and not historical:
                    raise _invalid(
                        "consented_at may only be given with historical_import.", f"{pointer}/subscriptions"
                    )
                if subscribe and historical:
                    if not consented_at:
                        raise _invalid("consented_at is required with historical_import.", pointer)
                    if _time(consented_at, pointer) > dt.datetime.now(dt.UTC):
                        raise _invalid("consented_at must be in the past.", pointer)
                changes.append((profile_attributes, channel, consented_at))
        for profile_attributes, channel, consented_at in changes:
            identity = {
                key: profile_attributes[key]
                for key in ("email", "phone_number")
                if profile_attributes.get(key)
            }
            profile, _ = self._profile_apply(identity)
            profile["subscriptions"][channel] = {
                "consent": wanted,
                "consented_at": consented_at,
                "list": list_id,
            }
            if list_id:
                (profile["lists"].add if subscribe else profile["lists"].discard)(list_id)
        self.jobs.append(
            {"kind": "subscribe" if subscribe else "unsubscribe", "list": list_id, "count": len(rows)}
        )

    def event_create(self, body: dict) -> None:
        data = body.get("data") or {}
        if data.get("type") != "event":
            raise _invalid("The type must be 'event'.", "/data/type")
        attributes = data.get("attributes") or {}
        metric = ((((attributes.get("metric") or {}).get("data") or {}).get("attributes")) or {}).get("name")
        if not metric:
            raise _invalid("The metric's name is required.", "/data/attributes/metric/data/attributes/name")
        if not isinstance(attributes.get("properties"), dict):
            raise _invalid("properties is required.", "/data/attributes/properties")
        profile_attributes = (((attributes.get("profile") or {}).get("data")) or {}).get("attributes") or {}
        moment = _time(attributes["time"], "/data/attributes/time") if attributes.get("time") else None
        moment = (moment or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        value = attributes.get("value")
        if value is not None and not isinstance(value, int | float):
            raise _invalid("value must be a number.", "/data/attributes/value")
        profile, _ = self._profile_apply(profile_attributes)
        # Without a unique_id Klaviyo uses the time to the second.
        unique_id = str(attributes.get("unique_id") or moment.isoformat())
        key = (profile["id"], metric, unique_id)
        if key in self._event_keys:
            return
        self._event_keys.add(key)
        self.events.append(
            {
                "id": uuid.uuid4().hex,
                "metric": metric,
                "profile_id": profile["id"],
                "unique_id": unique_id,
                "properties": attributes["properties"],
                "value": value,
                "value_currency": attributes.get("value_currency"),
                "time": moment.isoformat(),
                "backfill": bool(attributes.get("backfill")),
            }
        )


ROUTES = {
    "/api/profile-import": lambda fake, body: fake.profile_import(body),
    "/api/profile-subscription-bulk-create-jobs": lambda fake, body: fake.subscriptions_change(
        body, subscribe=True
    ),
    "/api/profile-subscription-bulk-delete-jobs": lambda fake, body: fake.subscriptions_change(
        body, subscribe=False
    ),
    "/api/events": lambda fake, body: fake.event_create(body),
}


class _Handler(BaseHTTPRequestHandler):
    klaviyo: FakeKlaviyo
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        logger.debug("fake Klaviyo: " + format, *args)

    def _answer(self, status: int, payload: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/vnd.api+json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, error: FakeError, headers: dict | None = None) -> None:
        payload = {
            "errors": [
                {
                    "id": str(uuid.uuid4()),
                    "status": error.status,
                    "code": error.code,
                    "title": error.title,
                    "detail": error.detail,
                    "source": {"pointer": error.pointer},
                }
            ]
        }
        self._answer(error.status, payload, headers)

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/_fake/state":
            self._answer(200, self.klaviyo.state())
            return
        self._error(FakeError(404, "not_found", "Not found.", "Not found.", "/"))

    def do_POST(self) -> None:
        fake = self.klaviyo
        path = urlsplit(self.path).path.rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        route = ROUTES.get(path)
        if route is None:
            self._error(FakeError(404, "not_found", "Not found.", f"No endpoint {path}.", "/"))
            return
        authorization = self.headers.get("Authorization", "")
        key = authorization.removeprefix("Klaviyo-API-Key ").strip()
        if not authorization.startswith("Klaviyo-API-Key ") or key not in fake.api_keys:
            fake.requests.append((path, "401"))
            self._error(
                FakeError(
                    401,
                    "not_authenticated",
                    "Authentication credentials were not provided.",
                    "Missing or invalid private key.",
                    "/",
                )
            )
            return
        revision = self.headers.get("revision", "")
        if not REVISION_PATTERN.match(revision):
            fake.requests.append((path, "400"))
            self._error(_invalid(f"Invalid revision header: '{revision}'.", "/"))
            return
        with fake._lock:
            fault = fake.faults.pop(0) if fake.faults else ""
        if fault == "429":
            fake.requests.append((path, "429"))
            detail = f"Request was throttled. Expected available in {fake.retry_after} seconds."
            self._error(
                FakeError(429, "throttled", "Request was throttled.", detail, "/"),
                {"Retry-After": str(fake.retry_after)},
            )
            return
        if fault in ("500", "503"):
            fake.requests.append((path, fault))
            self._error(FakeError(int(fault), "error", "A server error occurred.", "Try again later.", "/"))
            return
        try:
            body = json.loads(raw or b"{}")
            with fake._lock:
                result = route(fake, body)
        except ValueError:
            fake.requests.append((path, "400"))
            self._error(_invalid("The body is not JSON."))
            return
        except FakeError as error:
            fake.requests.append((path, str(error.status)))
            self._error(error)
            return
        if fault == "lose":
            fake.requests.append((path, "lost"))
            self.close_connection = True  # applied, and the answer never leaves
            return
        if fault == "slow":
            time.sleep(fake.slow_seconds)
        if isinstance(result, tuple):
            fake.requests.append((path, str(result[0])))
            self._answer(*result)
        else:
            fake.requests.append((path, "202"))
            self._answer(202)
