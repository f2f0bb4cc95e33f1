"""Writing message templates: checked when saved (its variables, its links, its kind), so that rendering a
saved template never fails. Every save is audited."""

import re

from django.db import IntegrityError, transaction

from dispensary.audit import audit_record
from dispensary.errors import ValidationFailed
from dispensary.models import Organization, Store
from messaging.models import Category, Channel, MessageTemplate
from messaging.rendering import KINDS, allowed_variables, link_allowed, links_in, unknown_variables

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
SMS_MAX_CHARACTERS = 1000
FIELDS = ("store_id", "key", "channel", "language", "category", "subject", "body", "active")


def _problems(
    *, organization, store, key, channel, language, category, subject, body
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if not KEY_PATTERN.match(key or ""):
        add(
            "key",
            "Use lower-case letters, digits and underscores, starting with a letter (e.g. pickup_ready).",
        )
    if channel not in Channel.values:
        add("channel", "Choose text message or email.")
    if not LANGUAGE_PATTERN.match(language or ""):
        add("language", 'Use a language code such as "en" or "es" (or "es-MX").')
    if category not in Category.values:
        add("category", "Choose transactional or marketing.")
    elif key in KINDS and category != Category.TRANSACTIONAL:
        add("category", f"{KINDS[key].label} is a transactional message.")
    if store is not None and store.organization_id != organization.pk:
        add("store", "This store is not one of your organization's.")
    if not (body or "").strip():
        add("body", "Write the message.")
    if channel == Channel.SMS and len(body or "") > SMS_MAX_CHARACTERS:
        add("body", f"A text can be at most {SMS_MAX_CHARACTERS} characters.")
    if channel == Channel.EMAIL and not (subject or "").strip():
        add("subject", "An email needs a subject.")
    allowed = ", ".join("{" + name + "}" for name in allowed_variables(key or ""))
    for field, text in (("subject", subject), ("body", body)):
        unknown = unknown_variables(text or "", key or "")
        if unknown:
            names = ", ".join("{" + name + "}" for name in unknown)
            add(field, f"Unknown variable {names}: this message can use {allowed}.")
        for url in links_in(text or ""):
            if not link_allowed(url):
                add(field, f"The link {url} does not lead to one of our sites, so it cannot be sent.")
    return problems


@transaction.atomic
def message_template_save(
    *,
    organization: Organization,
    actor,
    template: MessageTemplate | None = None,
    store: Store | None,
    key: str,
    channel: str,
    language: str,
    category: str,
    subject: str,
    body: str,
    active: bool = True,
) -> MessageTemplate:
    """Create a template, or change `template` (one of `organization`'s). Refuses unknown variables, links to
    other sites, a marketing wording for a transactional kind, and a second template for the same store (or
    organization default), key, channel and language; nothing is written then."""
    key, language = (key or "").strip(), (language or "").strip()
    subject = "" if channel == Channel.SMS else (subject or "").strip()
    body = (body or "").strip()
    if template is not None and template.organization_id != organization.pk:
        raise ValidationFailed("This template is not one of your organization's.")
    problems = _problems(
        organization=organization,
        store=store,
        key=key,
        channel=channel,
        language=language,
        category=category,
        subject=subject,
        body=body,
    )
    if problems:
        first = next(iter(problems.values()))[0]
        raise ValidationFailed(first, details=problems)
    before = {name: getattr(template, name) for name in FIELDS} if template is not None else None
    row = template or MessageTemplate(organization=organization)
    row.store = store
    row.key, row.channel, row.language, row.category = key, channel, language, category
    row.subject, row.body, row.active = subject, body, active
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        where = store.name if store is not None else "the organization's default"
        message = f"There is already a {channel} template for {key} in {language} for {where}: edit that one."
        raise ValidationFailed(message, details={"key": [message]}) from None
    audit_record(
        actor=actor,
        action="message_template.created" if before is None else "message_template.changed",
        instance=row,
        before=before,
        after={name: getattr(row, name) for name in FIELDS},
        organization=organization,
        store=store,
    )
    return row
