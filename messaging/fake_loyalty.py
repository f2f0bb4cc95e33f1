"""What the local fakes of Alpine IQ and Springbig share: a threaded HTTP server on a free port (tests) or a
given one (`manage.py alpine_fake` / `springbig_fake`), JSON in and out, and fault injection.

Faults: `faults` is a list consumed one per write (POST or PUT), `read_faults` one per GET: "429" and "500"
answer so without doing anything; "lose" applies the write and closes the connection without an answer (the
caller cannot know it worked); "" lets one request through. A fault written "lose@/part/of/path" waits for the
first request whose path contains that part. Standard library http.server and json only; nothing here reads the database."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)


class FakeLoyaltyServer:
    name = "loyalty"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, faults=None, read_faults=None):
        self.host = host
        self.port = port
        self.faults = list(faults or [])
        self.read_faults = list(read_faults or [])
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, faults included
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self):
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"{self.name}-fake", daemon=True
        )
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

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @staticmethod
    def fault_take(queue: list[str], path: str) -> str:
        for index, entry in enumerate(queue):
            fault, _, where = entry.partition("@")
            if not where or where in path:
                del queue[index]
                return fault
        return ""

    # --- subclasses -------------------------------------------------------------------------------------

    def authorized(self, headers) -> bool:
        raise NotImplementedError

    def handle(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeLoyaltyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        logger.debug("fake loyalty vendor: " + format, *args)

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, method: str) -> None:
        fake = self.server_fake
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._answer(400, {"error": "The body is not JSON."})
            return
        with fake.lock:
            fake.requests.append((method, parts.path))
            fault = fake.fault_take(fake.read_faults if method == "GET" else fake.faults, parts.path)
        if fault in ("429", "500"):
            self._answer(int(fault), {"error": "Try again later."})
            return
        if not fake.authorized(self.headers):
            self._answer(401, {"error": "Unauthorized"})
            return
        with fake.lock:
            status, payload = fake.handle(method, parts.path, query, body)
        if fault == "lose":
            self.close_connection = True  # applied, and the answer never leaves
            return
        self._answer(status, payload)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")
