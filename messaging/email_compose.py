"""What the law and the mailbox providers ask of a marketing email, added when the queue sends it: the
List-Unsubscribe and List-Unsubscribe-Post headers of one-click unsubscribe (RFC 8058, which Gmail and Yahoo
require of bulk senders), and a footer with a visible unsubscribe link and the store's postal address (CAN-SPAM).
Transactional email is sent as written.

The unsubscribe link carries the message's id signed with the site's secret (django.core.signing), so it cannot
be guessed, and still works after a SECRET_KEY rotation listed in SECRET_KEY_FALLBACKS."""

from dataclasses import dataclass
from html import escape

from django.conf import settings
from django.core import signing
from django.urls import reverse

from dispensary.models import Store
from messaging.models import Category, OutboundMessage

UNSUBSCRIBE_SALT = "messaging.unsubscribe"


@dataclass(frozen=True)
class ComposedEmail:
    headers: dict[str, str]
    body: str
    html_body: str


def unsubscribe_token(message: OutboundMessage) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(message.pk))


def unsubscribe_message_id(token: str) -> int | None:
    """The message id a token was made for, or None for a token that is not ours."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def unsubscribe_url(message: OutboundMessage) -> str:
    path = reverse("messaging:unsubscribe", kwargs={"token": unsubscribe_token(message)})
    return f"{settings.PUBLIC_SITE_URL.rstrip('/')}{path}"


def postal_address(message: OutboundMessage) -> str:
    """The sender's postal address: the message's store, or the organization's first store."""
    store = message.store or (
        Store.objects.filter(organization_id=message.organization_id, is_active=True).order_by("id").first()
    )
    if store is None:
        return ""
    street = ", ".join(part for part in (store.address_line1, store.address_line2) if part)
    return f"{store.name}, {street}, {store.city}, {store.region} {store.postal_code}"


def email_headers_and_footer(message: OutboundMessage) -> ComposedEmail:
    """The headers to add and the bodies to send for one queued email."""
    if message.category != Category.MARKETING:
        return ComposedEmail(headers={}, body=message.body, html_body=message.html_body)
    url = unsubscribe_url(message)
    targets = [f"<{url}>"]
    if settings.MESSAGING_UNSUBSCRIBE_EMAIL:
        token = unsubscribe_token(message)
        targets.append(f"<mailto:{settings.MESSAGING_UNSUBSCRIBE_EMAIL}?subject=unsubscribe%20{token}>")
    headers = {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    address = postal_address(message)
    body = (
        f"{message.body.rstrip()}\n\n--\n"
        f"You receive these emails because you agreed to offers by email. Unsubscribe: {url}\n"
        + (f"{address}\n" if address else "")
    )
    html_body = message.html_body
    if html_body:
        footer = (
            '<p style="font-size:12px;color:#555">You receive these emails because you agreed to offers by email. '
            f'<a href="{escape(url)}">Unsubscribe</a>'
            + (f"<br>{escape(address)}" if address else "")
            + "</p>"
        )
        closing = html_body.lower().rfind("</body>")
        html_body = html_body[:closing] + footer + html_body[closing:] if closing >= 0 else html_body + footer
    return ComposedEmail(headers=headers, body=body, html_body=html_body)
