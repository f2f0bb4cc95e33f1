"""A local fake of Alpine IQ's REST API, in the shapes messaging/loyalty_sync/alpine.py speaks, for development
(`manage.py alpine_fake --port 8031`) and tests (`FakeAlpine(...).start()` on a free port).

It keeps personas (contactID, mobilePhone, names, email, birthday, points, SMS opt-in), transactions by pos_id
(posting one again updates it: nothing doubles), every points adjustment in `adjustments` (the ledger: each PUT
is applied, as Alpine IQ does, so the caller must not repeat one), and audiences with their contactIDs. The
fake never earns points on transactions itself (the register computes points). Faults: see fake_loyalty."""

import itertools

from messaging.fake_loyalty import FakeLoyaltyServer

DEV_API_KEY = "development-only-alpine-key"  # noqa: S105 - the fake's own, never a real account's
DEV_UID = "1000"


class FakeAlpine(FakeLoyaltyServer):
    name = "alpine"

    def __init__(self, *, api_key: str = DEV_API_KEY, uid: str = DEV_UID, **kwargs):
        super().__init__(**kwargs)
        self.api_key = api_key
        self.uid = uid
        self.personas: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.adjustments: list[dict] = []
        self.audiences: dict[str, dict] = {}  # id -> {"name", "members": [contactIDs]}
        self._ids = itertools.count(1)

    def authorized(self, headers) -> bool:
        return headers.get("X-APIKEY") == self.api_key

    # --- helpers for tests and the demo -----------------------------------------------------------------

    def persona_add(self, *, phone: str, first_name: str = "", last_name: str = "", points: int = 0, **extra):
        contact_id = f"c{next(self._ids):06d}"
        self.personas[contact_id] = {
            "contactID": contact_id,
            "mobilePhone": phone,
            "firstName": first_name,
            "lastName": last_name,
            "email": extra.get("email", ""),
            "birthday": extra.get("birthday", ""),
            "points": points,
            "optin": False,
        }
        return contact_id

    def audience_add(self, audience_id: str, name: str, members: list[str]) -> None:
        self.audiences[audience_id] = {"name": name, "members": list(members)}

    def _by_phone(self, phone: str) -> dict | None:
        return next((row for row in self.personas.values() if row["mobilePhone"] == phone), None)

    @staticmethod
    def _ok(data) -> tuple[int, dict]:
        return 200, {"success": True, "data": data}

    # --- the API ----------------------------------------------------------------------------------------

    def handle(self, method, path, query, body):  # noqa: C901 - one branch per endpoint reads best here
        parts = [part for part in path.split("/") if part]
        uid_ok = lambda position: len(parts) > position and parts[position] == self.uid  # noqa: E731
        if method == "POST" and path == "/api/v2/loyalty":
            if str(body.get("uid")) != self.uid or not body.get("mobilePhone"):
                return 400, {"success": False, "errors": [{"message": "uid and mobilePhone are required"}]}
            row = self._by_phone(body["mobilePhone"])
            if row is None:
                row = self.personas[self.persona_add(phone=body["mobilePhone"])]
            row.update(
                firstName=body.get("firstName") or row["firstName"],
                lastName=body.get("lastName") or row["lastName"],
                email=body.get("email") or row["email"],
                birthday=body.get("birthday") or row["birthday"],
            )
            return self._ok({"contactID": row["contactID"]})
        if method == "PUT" and parts[:3] == ["api", "v1.1", "optin"] and uid_ok(3) and len(parts) == 6:
            row = self._by_phone(parts[4])
            if row is None:
                return 404, {"success": False, "errors": [{"message": "Unknown number"}]}
            row["optin"] = parts[5] == "true"
            return self._ok({})
        if method == "GET" and parts[:3] == ["api", "v1.1", "piis"] and uid_ok(3):
            if len(parts) == 5:
                row = self.personas.get(parts[4])
                return self._ok(dict(row)) if row else (404, {"success": False, "errors": []})
            rows = list(self.personas.values())
            if query.get("search"):
                rows = [row for row in rows if row["mobilePhone"] == query["search"]]
            start, limit = int(query.get("start", 0)), int(query.get("limit", 100))
            page = rows[start : start + limit]
            return self._ok(
                {
                    "results": [dict(r) for r in page],
                    "start": start,
                    "total": len(rows),
                    "limit": limit,
                    "size": len(page),
                }
            )
        if method == "POST" and parts[:3] == ["api", "v1.1", "createUpdateSale"] and uid_ok(3):
            visit = body.get("visit") or {}
            if not visit.get("pos_id") or visit.get("pos_user") not in self.personas:
                return 400, {"success": False, "errors": [{"message": "pos_id and a known pos_user needed"}]}
            self.transactions[str(visit["pos_id"])] = visit
            return self._ok({"pos_id": visit["pos_id"]})
        if method == "PUT" and parts[:4] == ["api", "v1.1", "adjust", "loyaltyPoints"] and uid_ok(4):
            row = self.personas.get(parts[5]) if len(parts) == 6 else None
            if row is None or not isinstance(body.get("value"), int):
                return 400, {"success": False, "errors": [{"message": "unknown contact or value"}]}
            row["points"] += body["value"]
            self.adjustments.append(
                {"contactID": row["contactID"], "value": body["value"], "note": body.get("note", "")}
            )
            return self._ok({"points": row["points"]})
        if method == "GET" and parts[:3] == ["api", "v1.1", "audiences"] and uid_ok(3):
            return self._ok(
                [
                    {"id": key, "name": a["name"], "audienceSize": len(a["members"])}
                    for key, a in self.audiences.items()
                ]
            )
        if method == "GET" and parts[:4] == ["api", "v2", "audience", "members"] and len(parts) == 5:
            audience = self.audiences.get(parts[4])
            return (
                self._ok(list(audience["members"])) if audience else (404, {"success": False, "errors": []})
            )
        return 404, {"success": False, "errors": [{"message": "Not found"}]}
