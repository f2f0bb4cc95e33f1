"""Springbig adapter: its POS integration API at https://production.api.springbig.technology (gamma. for the
sandbox), with the account's x-api-key and AUTH-TOKEN headers.

From what Springbig and the POS integrations publish (their integration guides, and POS adapters' code):
- GET /pos/v1/members?phone_number=: find a member by phone (Springbig's main identifier; US ten digits);
- POST /pos/v1/members and PUT /pos/v1/members: {"member": {pos_user, pos_type, phone_number, first_name,
  last_name, email, birthday "YYYY-MM-DD", allowed_sms, allowed_email}}, answered {"members": [{"id": ...}]};
  pos_user is our customer's id, pos_type the name the account knows our register by;
- POST /pos/v1/visits: a transaction {"visit": {pos_id, pos_user, pos_type, transaction_date,
  transaction_total, location, send_notification, visit_details_attributes}}, keyed by pos_id; a refund or a
  void is a visit with negative quantities and total;
- GET /general/v1/external_group_segments: the segments with their recipients' phone numbers and emails.
Not published (partner documentation), chosen as plain REST and kept here to be corrected:
- GET /pos/v1/members/{id}: one member with its "points" balance;
- GET /pos/v1/members?page=&per_page=: every member, paged ({"members": [...], "page", "total_pages"});
- POST /pos/v1/members/{id}/points: {"points_adjustment": {"pos_id": our key, "points": n, "note": ...}}.
Springbig publishes no signed webhooks for members or points: the register pulls."""

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

PAGE_SIZE = 200


def _birthday(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


class SpringbigProvider(LoyaltyProvider):
    vendor = "Springbig"
    default_base_url = "https://production.api.springbig.technology"

    def __init__(self, *, api_key: str, auth_token: str, pos_type: str, base_url: str = "", transport=None):
        super().__init__(base_url=base_url, transport=transport)
        self.api_key = api_key
        self.auth_token = auth_token
        self.pos_type = pos_type or "dispensary"

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key, "AUTH-TOKEN": self.auth_token, "Accept": "application/json"}

    @staticmethod
    def _member(row: dict) -> VendorMember:
        return VendorMember(
            member_id=str(row.get("id") or ""),
            phone=phone_from_vendor(row.get("phone_number")),
            first_name=row.get("first_name") or "",
            last_name=row.get("last_name") or "",
            email=(row.get("email") or "").lower(),
            birthday=_birthday(row.get("birthday")),
            points=int(row.get("points") or 0),
        )

    def member_upsert(self, member: MemberIn, *, member_id: str = "") -> VendorMember:
        body = {
            "member": {
                "pos_user": member.our_id,
                "pos_type": self.pos_type,
                "phone_number": phone_to_vendor(member.phone),
                "first_name": member.first_name,
                "last_name": member.last_name,
                "email": member.email,
                "birthday": member.birthday.isoformat() if member.birthday else "",
                "allowed_sms": member.sms_opt_in,
                "allowed_email": member.email_opt_in,
            }
        }
        if member_id:
            body["member"]["id"] = member_id
        answer = self.request("PUT" if member_id else "POST", "/pos/v1/members", json=body).json()
        rows = answer.get("members") or []
        if not rows or not rows[0].get("id"):
            raise VendorRefused("Springbig did not answer the member's id.")
        return self._member(rows[0])

    def member_get(self, member_id: str) -> VendorMember:
        return self._member(self.request("GET", f"/pos/v1/members/{member_id}").json().get("member") or {})

    def member_find(self, phone: str) -> VendorMember | None:
        response = self.request(
            "GET", "/pos/v1/members", params={"phone_number": phone_to_vendor(phone)}, missing_ok=True
        )
        rows = (response.json().get("members") or []) if response is not None else []
        return self._member(rows[0]) if rows else None

    def transaction_post(self, transaction: TransactionIn) -> None:
        self.request(
            "POST",
            "/pos/v1/visits",
            json={
                "visit": {
                    "pos_id": transaction.pos_id,
                    "pos_user": transaction.our_customer_id,
                    "pos_type": self.pos_type,
                    "transaction_date": transaction.occurred_at.astimezone(dt.UTC).isoformat(),
                    "transaction_total": str(transaction.total),
                    "points": transaction.points,
                    "location": transaction.location,
                    "send_notification": False,
                    "visit_details_attributes": [
                        {
                            "sku": line.sku,
                            "name": line.name,
                            "category": line.category,
                            "price": str(line.price),
                            "quantity": str(line.quantity),
                            "discount": str(line.discount),
                        }
                        for line in transaction.lines
                    ],
                }
            },
        )

    def points_adjust(self, member_id: str, *, points: int, key: str, note: str) -> None:
        self.request(
            "POST",
            f"/pos/v1/members/{member_id}/points",
            json={"points_adjustment": {"pos_id": key, "points": points, "note": note}},
        )

    def members_list(self, cursor: dict) -> MemberPage:
        page = int(cursor.get("page") or 1)
        answer = self.request("GET", "/pos/v1/members", params={"page": page, "per_page": PAGE_SIZE}).json()
        rows = answer.get("members") or []
        done = not rows or page >= int(answer.get("total_pages") or 1)
        return MemberPage([self._member(row) for row in rows], {} if done else {"page": page + 1})

    def audiences_list(self) -> list[VendorAudience]:
        answer = self.request("GET", "/general/v1/external_group_segments").json()
        self._segments = {str(row["id"]): row for row in answer.get("group_segments") or []}
        return [VendorAudience(key, row.get("name") or key) for key, row in self._segments.items()]

    def audience_members(self, audience_id: str) -> tuple[list[str], list[str]]:
        """(member ids, phones): Springbig lists its segments' recipients by phone number (and email)."""
        segments = getattr(self, "_segments", None)
        if segments is None or audience_id not in segments:
            self.audiences_list()
            segments = self._segments
        recipients = (segments.get(audience_id) or {}).get("recipients") or {}
        phones = [phone_from_vendor(number) for number in recipients.get("phone_numbers") or []]
        return [], [phone for phone in phones if phone]
