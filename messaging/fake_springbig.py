"""A local fake of Springbig's POS integration API, in the shapes messaging/loyalty_sync/springbig.py speaks, for
development (`manage.py springbig_fake --port 8032`) and tests (`FakeSpringbig(...).start()` on a free port).

It keeps members (id, phone_number, names, email, birthday, points, allowed_sms/allowed_email, pos_user),
visits by pos_id (a visit posted again is the same visit: nothing doubles), points adjustments in `adjustments`
(the ledger, keyed by their pos_id: the same key twice is applied once) and segments with their recipients'
phone numbers. A member is found by phone: creating one whose phone exists answers the existing member. The
fake never earns points on visits itself (the register computes points). Faults: see fake_loyalty."""

import itertools
import math

from messaging.fake_loyalty import FakeLoyaltyServer

DEV_API_KEY = "development-only-springbig-key"  # noqa: S105 - the fake's own, never a real account's
DEV_AUTH_TOKEN = "development-only-springbig-token"  # noqa: S105


class FakeSpringbig(FakeLoyaltyServer):
    name = "springbig"

    def __init__(self, *, api_key: str = DEV_API_KEY, auth_token: str = DEV_AUTH_TOKEN, **kwargs):
        super().__init__(**kwargs)
        self.api_key = api_key
        self.auth_token = auth_token
        self.members: dict[str, dict] = {}
        self.visits: dict[str, dict] = {}
        self.adjustments: list[dict] = []
        self.segments: dict[str, dict] = {}  # id -> {"name", "phones": [ten digits]}
        self._ids = itertools.count(501)

    def authorized(self, headers) -> bool:
        return headers.get("x-api-key") == self.api_key and headers.get("AUTH-TOKEN") == self.auth_token

    # --- helpers for tests and the demo -----------------------------------------------------------------

    def member_add(self, *, phone: str, first_name: str = "", last_name: str = "", points: int = 0, **extra):
        member_id = str(next(self._ids))
        self.members[member_id] = {
            "id": member_id,
            "phone_number": phone,
            "first_name": first_name,
            "last_name": last_name,
            "email": extra.get("email", ""),
            "birthday": extra.get("birthday", ""),
            "points": points,
            "allowed_sms": False,
            "allowed_email": False,
            "pos_user": "",
        }
        return member_id

    def segment_add(self, segment_id: str, name: str, phones: list[str]) -> None:
        self.segments[segment_id] = {"name": name, "phones": list(phones)}

    def _by_phone(self, phone: str) -> dict | None:
        return next((row for row in self.members.values() if row["phone_number"] == phone), None)

    # --- the API ----------------------------------------------------------------------------------------

    def handle(self, method, path, query, body):  # noqa: C901 - one branch per endpoint reads best here
        parts = [part for part in path.split("/") if part]
        if path == "/pos/v1/members" and method in ("POST", "PUT"):
            data = body.get("member") or {}
            phone = str(data.get("phone_number") or "")
            if not phone:
                return 422, {"error": "phone_number is required"}
            row = self.members.get(str(data.get("id") or "")) or self._by_phone(phone)
            if row is None:
                row = self.members[self.member_add(phone=phone)]
            for name in ("first_name", "last_name", "email", "birthday", "pos_user"):
                if data.get(name):
                    row[name] = data[name]
            row["phone_number"] = phone
            for name in ("allowed_sms", "allowed_email"):
                if name in data:
                    row[name] = bool(data[name])
            return 200, {"members": [dict(row)]}
        if path == "/pos/v1/members" and method == "GET":
            rows = list(self.members.values())
            if query.get("phone_number"):
                found = [row for row in rows if row["phone_number"] == query["phone_number"]]
                return (200, {"members": found}) if found else (404, {"error": "Member not found"})
            page, per_page = int(query.get("page", 1)), int(query.get("per_page", 100))
            chunk = rows[(page - 1) * per_page : page * per_page]
            total_pages = max(1, math.ceil(len(rows) / per_page))
            return 200, {"members": [dict(r) for r in chunk], "page": page, "total_pages": total_pages}
        if method == "GET" and parts[:3] == ["pos", "v1", "members"] and len(parts) == 4:
            row = self.members.get(parts[3])
            return (200, {"member": dict(row)}) if row else (404, {"error": "Member not found"})
        if (
            method == "POST"
            and parts[:3] == ["pos", "v1", "members"]
            and len(parts) == 5
            and parts[4] == "points"
        ):
            row = self.members.get(parts[3])
            data = body.get("points_adjustment") or {}
            if row is None or not data.get("pos_id") or not isinstance(data.get("points"), int):
                return 422, {"error": "unknown member, pos_id or points"}
            if not any(entry["pos_id"] == data["pos_id"] for entry in self.adjustments):
                row["points"] += data["points"]
                self.adjustments.append(
                    {"member_id": row["id"], "pos_id": data["pos_id"], "points": data["points"]}
                )
            return 200, {"member": dict(row)}
        if method == "POST" and path == "/pos/v1/visits":
            visit = body.get("visit") or {}
            if not visit.get("pos_id"):
                return 422, {"error": "pos_id is required"}
            self.visits.setdefault(str(visit["pos_id"]), visit)
            return 200, {"visit": {"pos_id": visit["pos_id"]}}
        if method == "GET" and path == "/general/v1/external_group_segments":
            return 200, {
                "group_segments": [
                    {
                        "id": key,
                        "name": s["name"],
                        "recipients": {"phone_numbers": list(s["phones"]), "email": []},
                    }
                    for key, s in self.segments.items()
                ]
            }
        return 404, {"error": "Not found"}
