"""Short links on the platform's own domain: each link of a queued message to the shop's site becomes
PUBLIC_SITE_URL/l/<code>, one ShortLink per link per message (so a click is the message's), with an unguessable
code. Opening one records the click and passes the age gate before any product content (messaging.views_links).

Links to this site's own pages (a tracking page, a receipt) are left as they are: they carry their own tokens
and no product content. Links to hosts we do not know are left as they are too (a template cannot be saved with
one), and the redirect checks the target again."""

import re
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from messaging.models import Channel, OutboundMessage, ShortLink
from messaging.rendering import LINK, link_allowed
from messaging.sms import sms_segments

CODE_BYTES = 7  # 10 URL-safe characters, 56 random bits
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,12}$")
_TAIL = ".,;:!?)]}'\""


def short_url(code: str) -> str:
    return f"{settings.PUBLIC_SITE_URL.rstrip('/')}/l/{code}"


def _own_host() -> str:
    return (urlsplit(settings.PUBLIC_SITE_URL).hostname or "").lower()


def _shortenable(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return link_allowed(url) and host != _own_host()


def short_link_create(
    *, organization_id: int, target_url: str, message: OutboundMessage | None = None
) -> ShortLink:
    """A new short link with a fresh random code (a code already taken is drawn again)."""
    for _ in range(5):
        link = ShortLink(
            code=secrets.token_urlsafe(CODE_BYTES),
            organization_id=organization_id,
            message=message,
            target_url=target_url,
        )
        try:
            with transaction.atomic():
                link.save()
        except IntegrityError:
            continue
        return link
    raise RuntimeError("Could not draw an unused short link code.")


def links_shorten(message: OutboundMessage) -> int:
    """Replace the message's links to the shop's site by short links (in its text and its HTML), one per
    distinct link; returns how many were made. Call it once the message row exists."""
    found: dict[str, str] = {}
    for text in (message.body, message.html_body):
        for match in LINK.findall(text or ""):
            url = match.rstrip(_TAIL)
            if url not in found and _shortenable(url):
                found[url] = ""
    if not found:
        return 0
    for url in found:
        link = short_link_create(organization_id=message.organization_id, target_url=url, message=message)
        found[url] = short_url(link.code)

    def replace(match: re.Match) -> str:
        whole = match.group(0)
        url = whole.rstrip(_TAIL)
        return found.get(url, url) + whole[len(url) :]

    message.body = LINK.sub(replace, message.body or "")
    message.html_body = LINK.sub(replace, message.html_body or "")
    if message.channel == Channel.SMS:
        message.segments = sms_segments(message.body)
    message.save(update_fields=["body", "html_body", "segments"])
    return len(found)
