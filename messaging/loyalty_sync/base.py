"""The interface every loyalty vendor adapter speaks (Alpine IQ, Springbig), and the HTTP plumbing they share.

An adapter turns our facts into the vendor's requests and the vendor's answers into ours; it never reads the
database. Every write carries our stable id (the sale, the refund, the ledger state it aims for), so a retry
after a lost answer never doubles anything: transactions are keyed by our id at the vendor, and balances are
set (read, then adjusted by the difference), not added to. Errors: `VendorUnavailable` (timeouts, 429, 5xx)
is worth retrying (the outbox does, with backoff); `VendorRefused` (other 4xx) is not going to change."""

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

import httpx

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class VendorError(Exception):
    """A vendor call that did not succeed."""


class VendorUnavailable(VendorError):
    """Timed out, rate limited (429) or the vendor failed (5xx): try again later."""


class VendorRefused(VendorError):
    """The vendor refused the request (bad key, bad data): retrying will not help."""


@dataclass(frozen=True)
class MemberIn:
    """A customer as we send them: `phone` is E.164 and the match key; opt-ins come from confirmed consent."""

    our_id: str
    phone: str
    first_name: str
    last_name: str
    email: str = ""
    birthday: dt.date | None = None
    sms_opt_in: bool = False
    email_opt_in: bool = False


@dataclass(frozen=True)
class VendorMember:
    member_id: str
    phone: str  # E.164 when the vendor gave a number we could read, else ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    birthday: dt.date | None = None
    points: int = 0


@dataclass(frozen=True)
class LineIn:
    sku: str
    name: str
    category: str
    quantity: Decimal
    price: Decimal
    discount: Decimal = Decimal("0")


@dataclass(frozen=True)
class TransactionIn:
    """A sale (or its reversal: negative quantities and total) keyed by `pos_id`, our stable id."""

    pos_id: str
    member_id: str
    our_customer_id: str
    occurred_at: dt.datetime
    total: Decimal
    points: int
    location: str
    lines: list[LineIn] = field(default_factory=list)


@dataclass(frozen=True)
class VendorAudience:
    audience_id: str
    name: str


@dataclass(frozen=True)
class MemberPage:
    members: list[VendorMember]
    cursor: dict  # where the next pull starts; {} when the list is done


class LoyaltyProvider:
    """What the sync needs from a vendor. Subclasses implement the vendor's requests."""

    vendor = ""
    default_base_url = ""

    def __init__(self, *, base_url: str, transport: httpx.BaseTransport | None = None):
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=TIMEOUT, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- what the sync calls ----------------------------------------------------------------------------

    def member_upsert(self, member: MemberIn, *, member_id: str = "") -> VendorMember:
        raise NotImplementedError

    def member_get(self, member_id: str) -> VendorMember:
        raise NotImplementedError

    def member_find(self, phone: str) -> VendorMember | None:
        raise NotImplementedError

    def transaction_post(self, transaction: TransactionIn) -> None:
        raise NotImplementedError

    def points_adjust(self, member_id: str, *, points: int, key: str, note: str) -> None:
        raise NotImplementedError

    def members_list(self, cursor: dict) -> MemberPage:
        raise NotImplementedError

    def audiences_list(self) -> list[VendorAudience]:
        raise NotImplementedError

    def audience_members(self, audience_id: str) -> tuple[list[str], list[str]]:
        """Who is in the audience: (vendor member ids, E.164 phones); a vendor lists one or the other."""
        raise NotImplementedError

    def balance_set(self, member_id: str, *, balance: int, key: str, note: str) -> int:
        """Make the member's balance `balance`: read it, then adjust by the difference (nothing when equal), so
        a retry after a lost answer finds it done. The caller holds the member's link row locked, so two of our
        workers never adjust one member at once. Returns the adjustment made."""
        current = self.member_get(member_id).points
        difference = balance - current
        if difference:
            self.points_adjust(member_id, points=difference, key=key, note=note)
        return difference

    # --- HTTP -------------------------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return {}

    def request(self, method: str, path: str, *, json=None, params=None, missing_ok: bool = False):
        """The vendor's answer; None for a 404 when `missing_ok` (a lookup that found nothing)."""
        try:
            response = self._client.request(method, path, json=json, params=params, headers=self.headers())
        except httpx.TimeoutException as error:
            raise VendorUnavailable(f"{self.vendor}: no answer from {path} in time ({error}).") from error
        except httpx.TransportError as error:
            raise VendorUnavailable(f"{self.vendor}: could not reach {path} ({error}).") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise VendorUnavailable(f"{self.vendor}: {path} answered {response.status_code}; will try again.")
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise VendorRefused(
                f"{self.vendor}: {path} refused the request ({response.status_code}): {response.text[:200]}"
            )
        return response
