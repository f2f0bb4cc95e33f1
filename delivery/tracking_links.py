"""The customer's tracking link: one per delivery order, unguessable and needing no login. The token is the
delivery order's id and an HMAC of it under the site's SECRET_KEY (144 bits, compared in constant time), so
nothing is stored and a guessed or altered token finds nothing (the page answers 404). A link stops working
TRACKING_LINK_DAYS after the delivery window's end."""

import base64
import datetime as dt
import hmac

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

SALT = "delivery.tracking-link"
MAC_BYTES = 18  # 144 bits: 24 characters of base64
TRACKING_LINK_DAYS = 7


def _mac(delivery_order_id: int, secret: str) -> str:
    digest = salted_hmac(SALT, str(delivery_order_id), secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode("ascii")


def tracking_token(delivery_order_id: int) -> str:
    return f"{int(delivery_order_id)}-{_mac(delivery_order_id, settings.SECRET_KEY)}"


def tracking_token_order_id(token: str) -> int | None:
    """The delivery order's id a token stands for, or None for anything that is not a token we made (the
    current key or a fallback key during a rotation)."""
    number, _, mac = (token or "").partition("-")
    if not (number.isascii() and number.isdigit()) or len(number) > 18 or len(mac) != MAC_BYTES * 4 // 3:
        return None
    delivery_order_id = int(number)
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        if hmac.compare_digest(mac.encode("ascii", "replace"), _mac(delivery_order_id, secret).encode()):
            return delivery_order_id
    return None


def tracking_path(delivery_order_id: int) -> str:
    return reverse("delivery:tracking", kwargs={"token": tracking_token(delivery_order_id)})


def tracking_url(delivery_order_id: int) -> str:
    """The absolute link for texts and emails (PUBLIC_SITE_URL is the address customers reach)."""
    return settings.PUBLIC_SITE_URL.rstrip("/") + tracking_path(delivery_order_id)


def tracking_link_expired(window_end: dt.datetime, *, now: dt.datetime) -> bool:
    return now > window_end + dt.timedelta(days=TRACKING_LINK_DAYS)
