"""The words of the customer's transactional messages: built-in wordings for every kind of message, the
templates managers write over them (a store's, else the organization's default, else the built-in; the
customer's language, else English), their {variables}, the opt-out line of marketing texts, and what a text
costs in SMS parts. Pure functions and one read of the templates: rendering never raises on a template's words
(a variable nobody knows becomes empty), since a saved template was checked when it was saved."""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q

from dispensary.phones import phone_display
from messaging.models import Category, Channel, MessageTemplate
from messaging.sms import GSM_BASIC, GSM_EXTENDED, sms_segments, sms_units

DEFAULT_LANGUAGE = "en"
OPT_OUT_LINE = "Reply STOP to opt out."
_OPT_OUT_PRESENT = re.compile(r"\b(reply|text)\s+stop\b", re.IGNORECASE)
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
# Punctuation that ends a sentence after a link is not part of the link.
_LINK_TAIL = ".,;:!?)]}'\""

# Every message may name the customer, the store and the store's shop.
COMMON_VARIABLES = ("first_name", "store_name", "store_phone", "store_address", "shop_link")
ORDER_VARIABLES = ("order_number", "order_total", "pickup_window", "hold_until")
DELIVERY_VARIABLES = ("order_number", "delivery_window", "eta", "driver_first_name", "tracking_link")


@dataclass(frozen=True)
class MessageKind:
    """One kind of transactional message: its built-in words (SMS, email subject, email body) and the
    variables its templates may use."""

    key: str
    label: str
    purpose: str
    variables: tuple[str, ...]
    sms: str
    subject: str
    email: str
    # Delivery messages are worded by messaging.delivery_texts; a template only overrides them.
    built_in_elsewhere: bool = False

    @property
    def allowed(self) -> tuple[str, ...]:
        return (*COMMON_VARIABLES, *self.variables)


def _email(*paragraphs: str) -> str:
    return "\n\n".join(("Hi {first_name},", *paragraphs, "{store_name}\n{store_phone}")) + "\n"


KINDS: dict[str, MessageKind] = {
    kind.key: kind
    for kind in (
        MessageKind(
            "pickup_confirmed",
            "Pickup order confirmed",
            "pickup",
            ORDER_VARIABLES,
            sms="{store_name}: your pickup order #{order_number} is confirmed ({order_total}). "
            "Come {pickup_window}; we hold it until {hold_until}. Bring your ID.",
            subject="{store_name}: pickup order #{order_number} confirmed",
            email=_email(
                "Your pickup order #{order_number} is confirmed. Total: {order_total}.",
                "Come {pickup_window}; we hold it for you until {hold_until}. "
                "Please bring a valid ID: we check it at the counter.",
                "{store_name}, {store_address}",
            ),
        ),
        MessageKind(
            "pickup_ready",
            "Pickup order ready",
            "pickup",
            ORDER_VARIABLES,
            sms="{store_name}: your order #{order_number} is ready for pickup ({order_total}). "
            "We hold it until {hold_until}. Bring your ID.",
            subject="{store_name}: your order #{order_number} is ready",
            email=_email(
                "Your order #{order_number} is ready for pickup. Total: {order_total}.",
                "We hold it for you until {hold_until}. Please bring a valid ID: we check it at the counter.",
                "{store_name}, {store_address}",
            ),
        ),
        MessageKind(
            "points_earned",
            "Loyalty points earned",
            "loyalty",
            ("points", "points_balance"),
            sms="{store_name}: you earned {points} points. Your balance: {points_balance} points.",
            subject="{store_name}: you earned {points} points",
            email=_email(
                "You earned {points} points on your visit. Your balance is {points_balance} points."
            ),
        ),
        MessageKind(
            "tier_reached",
            "Loyalty tier reached",
            "loyalty",
            ("tier",),
            sms="{store_name}: congratulations, you reached {tier}!",
            subject="{store_name}: welcome to {tier}",
            email=_email("Congratulations: you reached {tier} in our loyalty program."),
        ),
        MessageKind(
            "reward_available",
            "Loyalty reward available",
            "loyalty",
            ("reward", "reward_points", "points_balance"),
            sms="{store_name}: you have {points_balance} points, enough for {reward} ({reward_points} "
            "points). Ask for it at your next visit.",
            subject="{store_name}: a reward is waiting for you",
            email=_email(
                "You have {points_balance} points: enough for {reward} ({reward_points} points).",
                "Ask for it at the counter on your next visit.",
            ),
        ),
        MessageKind(
            "medical_card_expiring",
            "Medical card expiring",
            "medical",
            ("card_expires_on",),
            sms="{store_name}: your medical card expires on {card_expires_on}. Renew it in time to keep "
            "buying as a patient.",
            subject="{store_name}: your medical card expires on {card_expires_on}",
            email=_email(
                "Your medical card expires on {card_expires_on}.",
                "Renew it with the state in time: after that date we can only serve you as an adult-use "
                "customer.",
            ),
        ),
        *(
            MessageKind(
                key,
                label,
                "delivery",
                DELIVERY_VARIABLES,
                sms=sms,
                subject=subject,
                email=_email(email),
                built_in_elsewhere=True,
            )
            for key, label, sms, subject, email in (
                (
                    "delivery_confirmed",
                    "Delivery order confirmed",
                    "{store_name}: your delivery order #{order_number} is confirmed for {delivery_window}. "
                    "Track it: {tracking_link}",
                    "{store_name}: delivery order #{order_number} confirmed",
                    "Your delivery order #{order_number} is confirmed. We will bring it {delivery_window}.",
                ),
                (
                    "delivery_on_the_way",
                    "Delivery on the way",
                    "{store_name}: {driver_first_name} is on the way with your order #{order_number}. "
                    "Expected around {eta}. Track: {tracking_link}",
                    "{store_name}: your order #{order_number} is on the way",
                    "{driver_first_name} has left with your order #{order_number}. Expected around {eta}.",
                ),
                (
                    "delivery_nearby",
                    "Driver nearby",
                    "{store_name}: {driver_first_name} is a few minutes away with your order #{order_number} "
                    "(around {eta}). Please have your ID ready.",
                    "{store_name}: your driver is nearby",
                    "{driver_first_name} is a few minutes away with your order #{order_number}.",
                ),
                (
                    "delivery_delayed",
                    "Delivery running late",
                    "{store_name}: sorry, your order #{order_number} is running late. New estimate: around "
                    "{eta}. Track: {tracking_link}",
                    "{store_name}: your order #{order_number} is running late",
                    "We are sorry: your order #{order_number} is running late. We now expect to be there "
                    "around {eta}.",
                ),
                (
                    "delivery_delivered",
                    "Order delivered",
                    "{store_name}: your order #{order_number} was delivered. Thank you!",
                    "{store_name}: your order #{order_number} was delivered",
                    "Your order #{order_number} was delivered. Thank you for ordering from {store_name}!",
                ),
                (
                    "delivery_returned",
                    "Order not delivered",
                    "{store_name}: we could not deliver your order #{order_number}. Questions? Call "
                    "{store_phone}.",
                    "{store_name}: your order #{order_number} was not delivered",
                    "We could not deliver your order #{order_number}.",
                ),
            )
        ),
    )
}
MARKETING_VARIABLES = COMMON_VARIABLES


def allowed_variables(key: str) -> tuple[str, ...]:
    kind = KINDS.get(key)
    return kind.allowed if kind is not None else MARKETING_VARIABLES


def variables_in(text: str) -> list[str]:
    """The {variables} a text names, in order, once each."""
    return list(dict.fromkeys(_VARIABLE.findall(text or "")))


def unknown_variables(text: str, key: str) -> list[str]:
    allowed = set(allowed_variables(key))
    return [name for name in variables_in(text) if name not in allowed]


def render_text(text: str, variables: dict) -> str:
    """{name} replaced by its value; a name without a value becomes empty (never an error). Braces that do not
    hold a variable name stay as written."""

    def value(match: re.Match) -> str:
        found = variables.get(match.group(1))
        return "" if found is None else str(found)

    return _VARIABLE.sub(value, text or "")


# --- The opt-out line -------------------------------------------------------------------------------------


def opt_out_present(body: str) -> bool:
    return bool(_OPT_OUT_PRESENT.search(body or ""))


def opt_out_line_add(body: str) -> str:
    """The body with "Reply STOP to opt out." at its end, unless it already tells how to opt out."""
    body = (body or "").rstrip()
    if opt_out_present(body):
        return body
    return f"{body} {OPT_OUT_LINE}" if body else OPT_OUT_LINE


def sms_tidy(body: str) -> str:
    """A text without the double spaces an empty variable leaves (its line breaks kept)."""
    lines = (" ".join(line.split()) for line in (body or "").splitlines())
    return "\n".join(line for line in lines if line).strip()


# --- What a text costs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsCount:
    characters: int
    units: int  # in the encoding's units (GSM-7 extension characters count twice; UCS-2 pairs for emoji)
    segments: int
    encoding: str  # "GSM-7" or "UCS-2"
    ucs2_characters: tuple[str, ...] = field(default_factory=tuple)  # those that force UCS-2, once each

    @property
    def per_segment(self) -> int:
        if self.encoding == "GSM-7":
            return 160 if self.segments <= 1 else 153
        return 70 if self.segments <= 1 else 67


def sms_count(text: str) -> SmsCount:
    units, gsm = sms_units(text)
    forcing = (
        () if gsm else tuple(dict.fromkeys(c for c in text if c not in GSM_BASIC and c not in GSM_EXTENDED))
    )
    return SmsCount(
        characters=len(text),
        units=units,
        segments=sms_segments(text) if text else 0,
        encoding="GSM-7" if gsm else "UCS-2",
        ucs2_characters=forcing,
    )


# --- Which words: store, organization, built-in --------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    subject: str
    body: str
    language: str
    source: str  # "store", "organization" or "built-in"
    template_id: int | None = None


def _languages(language: str) -> list[str]:
    language = (language or DEFAULT_LANGUAGE).strip()
    out = [language]
    base = language.split("-")[0]
    for fallback in (base, DEFAULT_LANGUAGE):
        if fallback not in out:
            out.append(fallback)
    return out


def template_resolve(
    *, organization_id: int, store_id: int | None, key: str, channel: str, language: str = DEFAULT_LANGUAGE
) -> Wording | None:
    """The words of this message: the store's template, else the organization's default, in the customer's
    language, else the same in English; else the built-in words (None for a key without built-in words here:
    the delivery messages, worded by messaging.delivery_texts). One query."""
    languages = _languages(language)
    scope = Q(store__isnull=True) | Q(store_id=store_id) if store_id else Q(store__isnull=True)
    rows = list(
        MessageTemplate.objects.filter(
            scope,
            organization_id=organization_id,
            key=key,
            channel=channel,
            active=True,
            language__in=languages,
        )
    )
    for wanted in languages:
        for scope in ("store", "organization"):
            for row in rows:
                if row.language != wanted:
                    continue
                if (scope == "store" and store_id and row.store_id == store_id) or (
                    scope == "organization" and row.store_id is None
                ):
                    return Wording(row.subject, row.body, row.language, scope, row.pk)
    kind = KINDS.get(key)
    if kind is None or kind.built_in_elsewhere:
        return None
    if channel == Channel.SMS:
        return Wording("", kind.sms, DEFAULT_LANGUAGE, "built-in")
    return Wording(kind.subject, kind.email, DEFAULT_LANGUAGE, "built-in")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    language: str
    source: str
    template_key: str


def message_render(
    *,
    organization_id: int,
    store_id: int | None,
    key: str,
    channel: str,
    variables: dict,
    language: str = DEFAULT_LANGUAGE,
    category: str = Category.TRANSACTIONAL,
    opt_out: bool = False,
) -> Rendered | None:
    """The message's subject and body with its variables filled in; a marketing text (or any text when
    `opt_out`, the first to a number) ends with the opt-out line, once. None when there are no words for it."""
    wording = template_resolve(
        organization_id=organization_id, store_id=store_id, key=key, channel=channel, language=language
    )
    if wording is None:
        return None
    subject = " ".join(render_text(wording.subject, variables).split())
    body = render_text(wording.body, variables).strip()
    if channel == Channel.SMS:
        body = sms_tidy(body)
        if category == Category.MARKETING or opt_out:
            body = opt_out_line_add(body)
    return Rendered(subject, body, wording.language, wording.source, key)


# --- Variables from the records --------------------------------------------------------------------------


def store_variables(store) -> dict:
    address = ", ".join(
        part for part in (store.address_line1, store.address_line2, store.city, store.region) if part
    )
    return {
        "store_name": store.name,
        "store_phone": phone_display(store.phone) if store.phone else "",
        "store_address": address,
        "shop_link": getattr(settings, "MESSAGING_SHOP_URL", "") or "",
    }


def customer_variables(customer) -> dict:
    return {"first_name": (customer.first_name or "").strip() or "there"}


def money(amount) -> str:
    amount = Decimal(str(amount))
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


SAMPLE_VARIABLES = {
    "first_name": "Ada",
    "order_number": "1042",
    "order_total": "$54.20",
    "pickup_window": "today after 3:00 PM",
    "hold_until": "Fri Jun 5, 9:00 PM",
    "points": "54",
    "points_balance": "320",
    "tier": "Gold",
    "reward": "$10 off",
    "reward_points": "300",
    "card_expires_on": "July 5, 2026",
    "delivery_window": "today between 2:00 PM and 4:00 PM",
    "eta": "2:40 PM",
    "driver_first_name": "Dana",
    "tracking_link": "https://example.com/delivery/t/abc/",
}


def sample_variables(store=None) -> dict:
    """What the preview fills a template with: a sample customer and order at the chosen store."""
    values = dict(SAMPLE_VARIABLES)
    if store is not None:
        values.update(store_variables(store))
    else:
        values.update(
            {
                "store_name": "Green Leaf",
                "store_phone": "(415) 555-0100",
                "store_address": "1 Market St, San Francisco, CA",
                "shop_link": getattr(settings, "MESSAGING_SHOP_URL", "") or "",
            }
        )
    return values


# --- Links a message may carry ------------------------------------------------------------------------------


def links_in(text: str) -> list[str]:
    return list(dict.fromkeys(match.rstrip(_LINK_TAIL) for match in LINK.findall(text or "")))


def link_hosts() -> set[str]:
    """The hosts a message's links (and the short links' redirects) may lead to: our own site, the shop's
    site, and MESSAGING_LINK_HOSTS."""
    hosts = {host.strip().lower() for host in getattr(settings, "MESSAGING_LINK_HOSTS", ()) if host.strip()}
    for url in (settings.PUBLIC_SITE_URL, getattr(settings, "MESSAGING_SHOP_URL", "")):
        host = urlsplit(url or "").hostname
        if host:
            hosts.add(host.lower())
    return hosts


def link_allowed(url: str) -> bool:
    """An http(s) link to one of the allowed hosts, with no credentials in it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a port that is not a number raises ValueError
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host or parts.username or parts.password:
        return False
    return host.lower() in link_hosts()
