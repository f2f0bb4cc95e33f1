"""A local fake of a Twilio-compatible SMS provider, for development (`manage.py sms_fake_provider`) and tests
(`FakeSmsProvider(...).start()` in a thread on a free port).

It serves POST /2010-04-01/Accounts/{sid}/Messages.json with HTTP Basic auth (answers 201 with a sid "SM..."
and status "queued"), honours I-Twilio-Idempotency-Token (the same token twice answers the same sid and sends
once), then posts signed status callbacks (queued, sent, delivered; or undelivered/failed with an error code)
to the StatusCallback it was given, and can post signed inbound replies. GET /_fake/messages lists what it sent.

Faults for tests: `faults` is a list consumed one per request: "429" and "500" answer so without accepting;
"lose" accepts the message and closes the connection without an answer. `error_code` (or `error_codes` per
number) ends a message's callbacks with that carrier error (21610 as failed, others as undelivered).

Standard library http.server (threaded) and httpx only; nothing here reads the database."""

import base64
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx

from messaging.webhooks import sms_signature

logger = logging.getLogger(__name__)

DEV_ACCOUNT_SID = "AC00000000000000000000000000000000"
DEV_AUTH_TOKEN = "development-only-sms-token"  # noqa: S105 - the fake's own, never a real account's
FAILED_CODES = {"21610"}


@dataclass
class FakeMessage:
    sid: str
    to: str
    from_number: str
    body: str
    status_callback: str
    idempotency_token: str
    error_code: str = ""
    callbacks: list[tuple[str, int]] = field(default_factory=list)  # (status, HTTP status of our post)

    def statuses(self) -> list[str]:
        if not self.error_code:
            return ["queued", "sent", "delivered"]
        final = "failed" if self.error_code in FAILED_CODES else "undelivered"
        return ["queued", "sent", final]


class FakeSmsProvider:
    def __init__(
        self,
        *,
        account_sid: str = DEV_ACCOUNT_SID,
        auth_token: str = DEV_AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_callbacks: bool = True,
        callback_delay: float = 0.5,
        callback_transport: httpx.BaseTransport | None = None,
        error_code: str = "",
        error_codes: dict[str, str] | None = None,
        faults: list[str] | None = None,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self.auto_callbacks = auto_callbacks
        self.callback_delay = callback_delay
        self.callback_transport = callback_transport
        self.error_code = error_code
        self.error_codes = dict(error_codes or {})
        self.faults = list(faults or [])
        self.messages: list[FakeMessage] = []  # sent, once each
        self.requests = 0  # every POST of a message, replays and faults included
        self._by_token: dict[str, FakeMessage] = {}
        self._pending: list[tuple[FakeMessage, str]] = []  # callbacks not posted yet (auto_callbacks off)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- running ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "FakeSmsProvider":
        provider = self

        class Handler(_Handler):
            fake = provider

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="sms-fake", daemon=True)
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

    def __enter__(self) -> "FakeSmsProvider":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what the server does ---------------------------------------------------------------------------

    def accept(self, form: dict[str, str], token: str) -> tuple[FakeMessage, bool]:
        """Record one message (or find the one sent under the same idempotency token). (message, new)."""
        with self._lock:
            if token and token in self._by_token:
                return self._by_token[token], False
            to = form.get("To", "")
            message = FakeMessage(
                sid="SM" + uuid.uuid4().hex,
                to=to,
                from_number=form.get("From", ""),
                body=form.get("Body", ""),
                status_callback=form.get("StatusCallback", ""),
                idempotency_token=token,
                error_code=self.error_codes.get(to, self.error_code),
            )
            self.messages.append(message)
            if token:
                self._by_token[token] = message
        if message.status_callback:
            if self.auto_callbacks:
                threading.Thread(target=self._callbacks_later, args=(message,), daemon=True).start()
            else:
                with self._lock:
                    self._pending.extend((message, status) for status in message.statuses())
        return message, True

    def _callbacks_later(self, message: FakeMessage) -> None:
        for status in message.statuses():
            time.sleep(self.callback_delay)
            self.callback_post(message, status)

    def callbacks_send(self, *, order: list[str] | None = None, transport: httpx.BaseTransport | None = None):
        """Post the callbacks waiting (auto_callbacks off), in their order or in `order` (of statuses), from
        the caller's thread. Returns [(sid, status, HTTP status)]."""
        with self._lock:
            pending, self._pending = self._pending, []
        if order is not None:
            pending.sort(key=lambda item: order.index(item[1]) if item[1] in order else len(order))
        return [
            (message.sid, status, self.callback_post(message, status, transport=transport))
            for message, status in pending
        ]

    def callback_params(self, message: FakeMessage, status: str) -> dict[str, str]:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "From": message.from_number,
            "To": message.to,
        }
        if status in ("undelivered", "failed") and message.error_code:
            params["ErrorCode"] = message.error_code
            params["ErrorMessage"] = ERROR_MESSAGES.get(message.error_code, "Carrier error")
        return params

    def callback_post(self, message: FakeMessage, status: str, *, transport=None) -> int:
        params = self.callback_params(message, status)
        code = self._post_signed(message.status_callback, params, transport=transport)
        message.callbacks.append((status, code))
        return code

    def inbound_send(
        self, *, from_number: str, to: str, body: str, url: str, transport: httpx.BaseTransport | None = None
    ) -> int:
        """Post one signed inbound text, as the provider does when a customer replies. Returns the HTTP status."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "MessageSid": "SM" + uuid.uuid4().hex,
            "SmsSid": "",
            "SmsStatus": "received",
            "From": from_number,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
        }
        params["SmsSid"] = params["MessageSid"]
        return self._post_signed(url, params, transport=transport)

    def _post_signed(self, url: str, params: dict[str, str], *, transport=None) -> int:
        signature = sms_signature(url, params, token=self.auth_token)
        try:
            with httpx.Client(timeout=10, transport=transport or self.callback_transport) as client:
                response = client.post(url, data=params, headers={"X-Twilio-Signature": signature})
        except httpx.HTTPError as error:
            logger.warning("Fake SMS provider: posting to %s failed: %s", url, error)
            return 0
        return response.status_code


ERROR_MESSAGES = {
    "21610": "Attempt to send to unsubscribed recipient",
    "30003": "Unreachable destination handset",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered",
}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSmsProvider
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        logger.debug("fake SMS provider: " + format, *args)

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/_fake/messages":
            self._json(404, {"code": 20404, "message": "Not found", "status": 404})
            return
        rows = [
            {"sid": m.sid, "to": m.to, "from": m.from_number, "body": m.body, "callbacks": m.callbacks}
            for m in self.fake.messages
        ]
        self._json(200, {"messages": rows})

    def do_POST(self) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
        expected_path = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
        if urlsplit(self.path).path != expected_path:
            self._json(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
            return
        expected_auth = "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
        if self.headers.get("Authorization") != expected_auth:
            self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        with fake._lock:
            fake.requests += 1
            fault = fake.faults.pop(0) if fake.faults else ""
        if fault in ("429", "500"):
            self._json(int(fault), {"code": 20429 if fault == "429" else 20500, "message": "Try later"})
            return
        if not form.get("To") or not form.get("Body") or not form.get("From"):
            self._json(
                400, {"code": 21604, "message": "'To', 'From' and 'Body' are required.", "status": 400}
            )
            return
        message, _ = fake.accept(form, self.headers.get("I-Twilio-Idempotency-Token", ""))
        if fault == "lose":
            self.close_connection = True  # accepted, and the answer never leaves
            return
        self._json(
            201,
            {
                "sid": message.sid,
                "account_sid": fake.account_sid,
                "to": message.to,
                "from": message.from_number,
                "body": message.body,
                "status": "queued",
                "num_segments": "1",
                "api_version": "2010-04-01",
            },
        )
