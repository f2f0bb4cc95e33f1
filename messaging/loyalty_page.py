"""The customer's loyalty page (/my/<token>/, no staff login): the link is texted to the customer (asked for by
them at /my/ or by a budtender at the register), and opening it asks for a one-time PIN texted at that moment.

- The token is the customer's id and the link's random nonce, signed (LINK_SALT); the link row decides whether it
  still opens (LINK_DAYS, revocable). A token that is not ours, expired or revoked opens nothing, with no hint.
- A PIN is six digits, kept as an HMAC under the site's secret, valid PIN_MINUTES, PIN_ATTEMPTS tries; the last
  wrong try revokes the link (a new one must be asked for). At most PIN_SENDS_PER_HOUR PINs a link an hour.
- Both texts are transactional and go through the queue and the gate like every message (purposes
  "loyalty_link" and "loyalty_pin")."""

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from dispensary.errors import ApplicationError, InvalidPhoneNumber, ValidationFailed
from dispensary.models import Customer, Store
from dispensary.phones import phone_normalize
from messaging.models import Category, Channel, LoyaltyPageLink, LoyaltyPagePin, OutboundMessage
from messaging.queue import message_enqueue

LINK_SALT = "messaging.loyalty-page"
PIN_SALT = "messaging.loyalty-page.pin"
LINK_DAYS = 30
PIN_MINUTES = 10
PIN_ATTEMPTS = 5
PIN_SENDS_PER_HOUR = 5
# Links texted to one customer at their own request, per hour (a budtender's are not counted).
LINKS_PER_HOUR = 3
NAMESPACE = uuid.UUID("0b8f5f0e-5c1d-4f7e-9a61-3c2b7d4e8a10")


class PinsExhausted(ApplicationError):
    code = "pins_exhausted"
    status = 429


class CustomerSelf:
    """The actor the audit log names when customers read or change their own record on their page."""

    def __init__(self, customer: Customer):
        self.customer = customer

    def get_username(self) -> str:
        return f"customer:{self.customer.pk} (themselves, loyalty page)"


def _signer() -> signing.Signer:
    return signing.Signer(salt=LINK_SALT, sep=".")


def loyalty_link_token(link: LoyaltyPageLink) -> str:
    return _signer().sign(f"{link.customer_id}.{link.nonce}")


def loyalty_link_url(link: LoyaltyPageLink) -> str:
    path = reverse("loyalty_page", kwargs={"token": loyalty_link_token(link)})
    return f"{settings.PUBLIC_SITE_URL.rstrip('/')}{path}"


def loyalty_link_get(*, token: str, now: dt.datetime | None = None) -> LoyaltyPageLink | None:
    """The link of a token if it still opens (signed by us, not expired, not revoked); None otherwise."""
    now = now or timezone.now()
    try:
        value = _signer().unsign(token or "")
    except signing.BadSignature:
        return None
    customer_id, _, nonce = value.partition(".")
    if not customer_id.isdigit() or not nonce:
        return None
    return (
        LoyaltyPageLink.objects.select_related("customer", "organization", "store")
        .filter(customer_id=int(customer_id), nonce=nonce, revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )


def _store_for(customer: Customer, store: Store | None) -> Store | None:
    if store is not None:
        return store
    if customer.home_store_id:
        return customer.home_store
    return (
        Store.objects.filter(organization_id=customer.organization_id, is_active=True).order_by("pk").first()
    )


def _sender_name(link: LoyaltyPageLink) -> str:
    return link.store.name if link.store else link.organization.name


def _text(link: LoyaltyPageLink, *, purpose: str, body: str, key: uuid.UUID) -> OutboundMessage:
    return message_enqueue(
        organization_id=link.organization_id,
        store_id=link.store_id,
        customer_id=link.customer_id,
        channel=Channel.SMS,
        to=link.customer.phone,
        body=body,
        purpose=purpose,
        category=Category.TRANSACTIONAL,
        reference=f"loyalty-link:{link.pk}",
        key=key,
    )


@transaction.atomic
def loyalty_link_send(
    *,
    customer: Customer,
    store: Store | None = None,
    via: str = LoyaltyPageLink.Via.CUSTOMER,
    staff=None,
    now: dt.datetime | None = None,
) -> LoyaltyPageLink:
    """A new link to the customer's page, texted to their number."""
    now = now or timezone.now()
    if not customer.phone:
        raise ValidationFailed(
            "The customer has no mobile number to text the link to.",
            details={"phone": ["No number on file."]},
        )
    link = LoyaltyPageLink.objects.create(
        organization_id=customer.organization_id,
        customer=customer,
        store=_store_for(customer, store),
        nonce=secrets.token_urlsafe(18),
        via=via,
        requested_by=staff if via == LoyaltyPageLink.Via.STAFF else None,
        created_at=now,
        expires_at=now + dt.timedelta(days=LINK_DAYS),
    )
    body = (
        f"{_sender_name(link)}: your loyalty page (points, rewards, coupons and your message choices): "
        f"{loyalty_link_url(link)} . The link works for {LINK_DAYS} days; we text you a code when you open it."
    )
    _text(link, purpose="loyalty_link", body=body, key=uuid.uuid5(NAMESPACE, f"link:{link.nonce}"))
    return link


def loyalty_link_request(*, phone: str, now: dt.datetime | None = None) -> int:
    """A customer typed their number at /my/: each customer with that number (one per organization) who has not
    had LINKS_PER_HOUR links at their own request this hour gets a link. How many went is for tests only: the
    page answers the same whatever it is."""
    now = now or timezone.now()
    try:
        number = phone_normalize(phone)
    except InvalidPhoneNumber:
        return 0
    sent = 0
    customers = Customer.objects.filter(phone=number).select_related("home_store", "organization")
    for customer in customers.order_by("pk")[:5]:
        asked = LoyaltyPageLink.objects.filter(
            customer=customer, via=LoyaltyPageLink.Via.CUSTOMER, created_at__gte=now - dt.timedelta(hours=1)
        ).count()
        if asked >= LINKS_PER_HOUR:
            continue
        loyalty_link_send(customer=customer, now=now)
        sent += 1
    return sent


@transaction.atomic
def loyalty_link_revoke(*, link: LoyaltyPageLink, reason: str, now: dt.datetime | None = None) -> bool:
    """The link opens no more (nor does a page opened with it). False if it was already revoked."""
    now = now or timezone.now()
    changed = LoyaltyPageLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason[:120]
    )
    return bool(changed)


def _pin_hash(link_id: int, code: str) -> str:
    return salted_hmac(PIN_SALT, f"{link_id}:{code}", algorithm="sha256").hexdigest()


@transaction.atomic
def loyalty_pin_send(*, link: LoyaltyPageLink, now: dt.datetime | None = None) -> LoyaltyPagePin:
    """A new PIN for the link, texted now; earlier unused PINs of the link stop working."""
    now = now or timezone.now()
    locked = LoyaltyPageLink.objects.select_for_update().get(pk=link.pk)
    recent = LoyaltyPagePin.objects.filter(link=locked, created_at__gte=now - dt.timedelta(hours=1)).count()
    if recent >= PIN_SENDS_PER_HOUR:
        raise PinsExhausted("Too many codes were asked for: try again in an hour.")
    LoyaltyPagePin.objects.filter(link=locked, used_at__isnull=True).update(expires_at=now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    pin = LoyaltyPagePin.objects.create(
        link=locked,
        code_hash=_pin_hash(locked.pk, code),
        created_at=now,
        expires_at=now + dt.timedelta(minutes=PIN_MINUTES),
    )
    body = (
        f"{_sender_name(link)}: your code for your loyalty page is {code}. It works for {PIN_MINUTES} minutes. "
        "We never ask for it by phone."
    )
    _text(link, purpose="loyalty_pin", body=body, key=uuid.uuid5(NAMESPACE, f"pin:{pin.pk}:{link.nonce}"))
    return pin


@dataclass(frozen=True)
class PinCheck:
    ok: bool
    reason: str  # "ok", "wrong", "expired", "locked"
    attempts_left: int


@transaction.atomic
def loyalty_pin_check(*, link: LoyaltyPageLink, code: str, now: dt.datetime | None = None) -> PinCheck:
    """Check a typed PIN against the link's latest one. The PIN_ATTEMPTS-th wrong try locks the link."""
    now = now or timezone.now()
    pin = LoyaltyPagePin.objects.select_for_update().filter(link=link).order_by("-created_at", "-id").first()
    if pin is None or pin.used_at is not None or pin.expires_at <= now:
        return PinCheck(False, "expired", 0)
    if pin.attempts >= PIN_ATTEMPTS:
        return PinCheck(False, "locked", 0)
    typed = "".join(character for character in (code or "") if character.isdigit())
    if len(typed) == 6 and constant_time_compare(_pin_hash(link.pk, typed), pin.code_hash):
        pin.used_at = now
        pin.save(update_fields=["used_at"])
        return PinCheck(True, "ok", PIN_ATTEMPTS - pin.attempts)
    pin.attempts += 1
    pin.save(update_fields=["attempts"])
    if pin.attempts >= PIN_ATTEMPTS:
        loyalty_link_revoke(link=link, reason="too many wrong codes", now=now)
        return PinCheck(False, "locked", 0)
    return PinCheck(False, "wrong", PIN_ATTEMPTS - pin.attempts)
