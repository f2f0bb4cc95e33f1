"""Alpine IQ (AIQ) adapter: the requests of its public REST API, at https://lab.alpineiq.com, with the account's
key in the X-APIKEY header and its user id (uid) in the path. Answers come as {"success": true, "data": ...}.

From the published API description (docs.alpineiq.com, the developer documentation's "Core integration" and
"Personas" pages):
- POST /api/v2/loyalty: create or update a loyalty persona in real time (uid, mobilePhone, email, firstName,
  lastName, birthday, loyalty); answers the contactID.
- PUT /api/v1.1/optin/{uid}/{phone}/{true|false}: the persona's SMS opt-in (we send confirmed consent only).
- GET /api/v1.1/piis/{uid}?start=&limit=&sort=&search=: personas, paged (results, start, total, limit).
- GET /api/v1.1/piis/{uid}/{contactID}: one persona.
- POST /api/v1.1/createUpdateSale/{uid}: a transaction {"visit": {pos_id, pos_user, pos_type,
  transaction_date "YYYY-MM-DD HH:MM:SS +0000", transaction_total, location, visit_details_attributes}}, keyed
  by pos_id (create or update: posting the same pos_id again changes nothing); a refund has negative quantities.
- PUT /api/v1.1/adjust/loyaltyPoints/{uid}/{contactID}: {"value": points, "note": ...} ("Adjust persona
  points"; the request body is not spelled out in the reference, this is the shape integrations use).
- GET /api/v1.1/audiences/{uid}: the audiences (id, name, audienceSize).
Not in the published reference, chosen (as integrations use them) and kept here to be corrected:
- the persona's balance in its "points" field (the persona list sorts and searches by points);
- GET /api/v2/audience/members/{audienceID}: the audience's contactIDs.
AIQ publishes no signed webhooks for members or points: the register pulls (messaging.loyalty_sync.sync)."""

import datetime as dt

from messaging.loyalty_sync.base import (
    LoyaltyProvider,
    MemberIn,
    MemberPage,
    TransactionIn,
    VendorAudience,
    VendorMember,
    VendorRefused,
)
from messaging.loyalty_sync.phones import phone_from_vendor, phone_to_vendor

PAGE_SIZE = 500


def _birthday(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


class AlpineProvider(LoyaltyProvider):
    vendor = "Alpine IQ"
    default_base_url = "https://lab.alpineiq.com"

    def __init__(self, *, api_key: str, uid: str, base_url: str = "", transport=None):
        super().__init__(base_url=base_url, transport=transport)
        self.api_key = api_key
        self.uid = uid

    def headers(self) -> dict[str, str]:
        return {"X-APIKEY": self.api_key, "Accept": "application/json"}

    def _data(self, method: str, path: str, **kwargs):
        body = self.request(method, path, **kwargs).json()
        if not isinstance(body, dict) or not body.get("success", False):
            raise VendorRefused(f"Alpine IQ: {path} did not succeed: {str(body)[:200]}")
        return body.get("data")

    @staticmethod
    def _member(row: dict) -> VendorMember:
        return VendorMember(
            member_id=str(row.get("contactID") or row.get("id") or ""),
            phone=phone_from_vendor(row.get("mobilePhone")),
            first_name=row.get("firstName") or "",
            last_name=row.get("lastName") or "",
            email=(row.get("email") or "").lower(),
            birthday=_birthday(row.get("birthday")),
            points=int(row.get("points") or 0),
        )

    def member_upsert(self, member: MemberIn, *, member_id: str = "") -> VendorMember:
        phone = phone_to_vendor(member.phone)
        data = self._data(
            "POST",
            "/api/v2/loyalty",
            json={
                "uid": self.uid,
                "mobilePhone": phone,
                "email": member.email,
                "firstName": member.first_name,
                "lastName": member.last_name,
                "birthday": member.birthday.isoformat() if member.birthday else "",
                "loyalty": True,
            },
        )
        contact_id = str((data or {}).get("contactID") or member_id)
        if not contact_id:
            raise VendorRefused("Alpine IQ did not answer a contactID for the member.")
        state = "true" if member.sms_opt_in else "false"
        self._data("PUT", f"/api/v1.1/optin/{self.uid}/{phone}/{state}")
        return VendorMember(
            member_id=contact_id,
            phone=member.phone,
            first_name=member.first_name,
            last_name=member.last_name,
            email=member.email,
            birthday=member.birthday,
        )

    def member_get(self, member_id: str) -> VendorMember:
        return self._member(self._data("GET", f"/api/v1.1/piis/{self.uid}/{member_id}") or {})

    def member_find(self, phone: str) -> VendorMember | None:
        data = self._data(
            "GET", f"/api/v1.1/piis/{self.uid}", params={"search": phone_to_vendor(phone), "limit": 1}
        )
        rows = (data or {}).get("results") or []
        return self._member(rows[0]) if rows else None

    def transaction_post(self, transaction: TransactionIn) -> None:
        self._data(
            "POST",
            f"/api/v1.1/createUpdateSale/{self.uid}",
            json={
                "visit": {
                    "pos_id": transaction.pos_id,
                    "pos_user": transaction.member_id,
                    "pos_type": transaction.location,
                    "transaction_date": transaction.occurred_at.astimezone(dt.UTC).strftime(
                        "%Y-%m-%d %H:%M:%S +0000"
                    ),
                    "transaction_total": float(transaction.total),
                    "location": transaction.location,
                    "sendNotification": 0,
                    "visit_details_attributes": [
                        {
                            "sku": line.sku,
                            "name": line.name,
                            "category": line.category,
                            "price": float(line.price),
                            "quantity": float(line.quantity),
                            "discount": float(line.discount),
                        }
                        for line in transaction.lines
                    ],
                }
            },
        )

    def points_adjust(self, member_id: str, *, points: int, key: str, note: str) -> None:
        self._data(
            "PUT",
            f"/api/v1.1/adjust/loyaltyPoints/{self.uid}/{member_id}",
            json={"value": points, "note": f"{note} [{key}]"},
        )

    def members_list(self, cursor: dict) -> MemberPage:
        start = int(cursor.get("start") or 0)
        data = (
            self._data(
                "GET",
                f"/api/v1.1/piis/{self.uid}",
                params={"start": start, "limit": PAGE_SIZE, "sort": "inserted", "dir": "asc"},
            )
            or {}
        )
        rows = data.get("results") or []
        following = start + len(rows)
        done = not rows or following >= int(data.get("total") or 0)
        return MemberPage([self._member(row) for row in rows], {} if done else {"start": following})

    def audiences_list(self) -> list[VendorAudience]:
        rows = self._data("GET", f"/api/v1.1/audiences/{self.uid}") or []
        return [VendorAudience(str(row["id"]), row.get("name") or str(row["id"])) for row in rows]

    def audience_members(self, audience_id: str) -> tuple[list[str], list[str]]:
        """(member ids, phones): Alpine IQ lists contactIDs."""
        rows = self._data("GET", f"/api/v2/audience/members/{audience_id}") or []
        return [str(row) for row in rows], []
