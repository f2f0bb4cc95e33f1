"""A local fake of the two routing engines' matrix APIs, written from their published documentation:
OSRM's table service (GET /table/v1/{profile}/{lon},{lat};...?annotations=duration,distance, answering
durations in seconds and distances in metres, null where no route exists) and Valhalla's matrix service
(POST /sources_to_targets with sources and targets as {lat, lon}, answering sources_to_targets rows of
{distance, time, from_index, to_index}, distance in the requested units (kilometres by default), time in
seconds, null where no route exists)."""

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def fake_metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The fake's road distance between (lon, lat) pairs: a Manhattan walk, 100 km per degree."""
    return 100_000 * (abs(a[0] - b[0]) + abs(a[1] - b[1]))


def fake_seconds(metres: float) -> float:
    return metres / 12.5  # 45 km/h


class FakeEngine:
    """Serves both APIs on 127.0.0.1. `unreachable` holds location indices no route reaches; `status` forces
    an error answer; `delay` holds each answer back this many seconds. `requests` records what was asked."""

    def __init__(self):
        self.unreachable: set[int] = set()
        self.status: int | None = None
        self.delay = 0.0
        self.requests: list[dict] = []
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                parts = url.path.split("/")
                query = urllib.parse.parse_qs(url.query)
                engine.requests.append({"method": "GET", "path": url.path, "query": query})
                time.sleep(engine.delay)
                if len(parts) != 5 or parts[1:3] != ["table", "v1"]:
                    return self.answer(400, {"code": "InvalidUrl", "message": "URL string malformed"})
                if engine.status:
                    return self.answer(
                        engine.status, {"code": "InvalidQuery", "message": "forced by the test"}
                    )
                coordinates = [
                    tuple(float(value) for value in pair.split(",")) for pair in parts[4].split(";")
                ]
                annotations = query.get("annotations", ["duration"])[0].split(",")
                body = {
                    "code": "Ok",
                    "sources": [
                        {"location": list(point), "name": "", "distance": 0} for point in coordinates
                    ],
                    "destinations": [
                        {"location": list(point), "name": "", "distance": 0} for point in coordinates
                    ],
                }
                metres = engine.table(coordinates)
                if "duration" in annotations:
                    body["durations"] = [
                        [None if m is None else fake_seconds(m) for m in row] for row in metres
                    ]
                if "distance" in annotations:
                    body["distances"] = metres
                return self.answer(200, body)

            def do_POST(self):
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                engine.requests.append({"method": "POST", "path": url.path, "body": request})
                time.sleep(engine.delay)
                if url.path != "/sources_to_targets":
                    return self.answer(404, {"error_code": 106, "error": "Try any of: '/sources_to_targets'"})
                if engine.status:
                    return self.answer(
                        engine.status,
                        {
                            "error_code": 171,
                            "error": "No suitable edges near location",
                            "status_code": engine.status,
                        },
                    )
                sources = [(point["lon"], point["lat"]) for point in request["sources"]]
                targets = [(point["lon"], point["lat"]) for point in request["targets"]]
                miles = request.get("units") in ("mi", "miles")
                rows = []
                for i, source in enumerate(sources):
                    row = []
                    for j, target in enumerate(targets):
                        reachable = i == j or not ({i, j} & engine.unreachable)
                        metres = fake_metres(source, target)
                        kilometres = metres / 1000
                        row.append(
                            {
                                "distance": (kilometres / 1.609344 if miles else kilometres)
                                if reachable
                                else None,
                                "time": fake_seconds(metres) if reachable else None,
                                "from_index": i,
                                "to_index": j,
                            }
                        )
                    rows.append(row)
                return self.answer(
                    200,
                    {
                        "sources_to_targets": rows,
                        "sources": [[{"lon": lon, "lat": lat}] for lon, lat in sources],
                        "targets": [[{"lon": lon, "lat": lat}] for lon, lat in targets],
                        "units": "miles" if miles else "kilometers",
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def table(self, coordinates):
        return [
            [
                fake_metres(a, b) if i == j or not ({i, j} & self.unreachable) else None
                for j, b in enumerate(coordinates)
            ]
            for i, a in enumerate(coordinates)
        ]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
