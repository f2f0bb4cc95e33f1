"""Every write of the core: customers and their marketing consent, staff and their stores, API credentials,
dead-letter retries."""

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from dispensary import events
from dispensary.audit import audit_record, snapshot
from dispensary.consent import CHANNELS, EMAIL, disclosure_get, disclosure_text
from dispensary.errors import DuplicateCustomer, ValidationFailed
from dispensary.event_types import (
    CustomerCreated,
    CustomerUpdated,
    MarketingConsentRecorded,
    SmsConsentConfirmationRequested,
)
from dispensary.models import (
    ApiClient,
    Customer,
    EventDelivery,
    IdempotencyKey,
    MarketingConsent,
    Organization,
    StaffToken,
    Store,
    User,
)
from dispensary.phones import phone_normalize
from dispensary.roles import Role

CUSTOMER_EDITABLE_FIELDS = (
    "phone",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "customer_type",
    "home_store",
    "notes",
)
STORE_ACCESS = "dispensary.access_store"


def _validate(instance, *, exclude: Iterable[str] = ()) -> None:
    """Field validation only; uniqueness is left to the database constraint (never check-then-insert)."""
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        details = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        first = next(iter(details.values()))[0]
        raise ValidationFailed(f"Please correct the customer details: {first}", details=details) from error


def _check_home_store(organization: Organization, home_store: Store | None) -> None:
    if home_store is not None and home_store.organization_id != organization.pk:
        raise ValidationFailed(
            "The home store belongs to another organization.", details={"home_store": ["Unknown store."]}
        )


@transaction.atomic
def customer_create(
    *,
    organization: Organization,
    actor,
    phone: str,
    first_name: str,
    last_name: str,
    date_of_birth: dt.date | None = None,
    email: str = "",
    address_line1: str = "",
    address_line2: str = "",
    city: str = "",
    region: str = "",
    postal_code: str = "",
    customer_type: str = Customer.Type.ADULT_USE,
    home_store: Store | None = None,
    notes: str = "",
    store: Store | None = None,
) -> Customer:
    _check_home_store(organization, home_store)
    customer = Customer(
        organization=organization,
        phone=phone_normalize(phone),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        date_of_birth=date_of_birth,
        email=email.strip().lower(),
        address_line1=address_line1.strip(),
        address_line2=address_line2.strip(),
        city=city.strip(),
        region=region.strip(),
        postal_code=postal_code.strip(),
        customer_type=customer_type,
        home_store=home_store,
        notes=notes,
    )
    _validate(customer)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as error:
        existing = Customer.objects.filter(organization=organization, phone=customer.phone).first()
        if existing is None:
            raise
        raise DuplicateCustomer(customer.phone, existing.pk) from error
    audit_record(
        actor=actor,
        action="customer.created",
        instance=customer,
        after=snapshot(customer),
        organization=organization,
        store=store,
    )
    events.publish(
        CustomerCreated(
            customer_id=customer.pk,
            organization_id=organization.pk,
            customer_type=customer.customer_type,
            home_store_id=customer.home_store_id,
        )
    )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor, store: Store | None = None, **changes) -> Customer:
    unknown = set(changes) - set(CUSTOMER_EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            "These customer fields cannot be changed: " + ", ".join(sorted(unknown)),
            details={name: ["Not an editable field."] for name in sorted(unknown)},
        )
    locked = Customer.objects.select_for_update(of=("self",)).get(pk=customer.pk)
    before = snapshot(locked)
    if "phone" in changes:
        changes["phone"] = phone_normalize(changes["phone"])
    if "home_store" in changes:
        _check_home_store(locked.organization, changes["home_store"])
    for name in (
        "first_name",
        "last_name",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
    ):
        if name in changes:
            changes[name] = (changes[name] or "").strip()
    if "email" in changes:
        changes["email"] = (changes["email"] or "").strip().lower()
    for name, value in changes.items():
        setattr(locked, name, value)
    _validate(locked)
    after = snapshot(locked)
    changed = sorted(name for name in after if after[name] != before[name] and name != "updated_at")
    if not changed:
        return locked
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError as error:
        existing = Customer.objects.filter(organization_id=locked.organization_id, phone=locked.phone).first()
        if existing is None or existing.pk == locked.pk:
            raise
        raise DuplicateCustomer(locked.phone, existing.pk) from error
    after = snapshot(locked)
    audit_record(
        actor=actor,
        action="customer.updated",
        instance=locked,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
        organization=locked.organization,
        store=store,
    )
    events.publish(
        CustomerUpdated(customer_id=locked.pk, organization_id=locked.organization_id, changed_fields=changed)
    )
    return locked


# --- Marketing consent ---------------------------------------------------------------------------------

CONSENT_SOURCES = ("counter", "api", "keyword", "web", "import", "unsubscribe", "carrier", "staff")
# Where a grant of marketing texts waits for the customer's YES before any offer is sent (double opt-in): the
# number was typed by someone, not texted by its owner.
DOUBLE_OPT_IN_SOURCES = ("counter", "api", "web", "import")
PURPOSES = tuple(MarketingConsent.Purpose.values)


@transaction.atomic
def marketing_consent_record(
    *,
    customer: Customer,
    channel: str,
    granted: bool,
    disclosure_version: str,
    staff: User | None,
    store: Store | None,
    source: str = "counter",
    purpose: str = MarketingConsent.Purpose.MARKETING,
    age_affirmed: bool = False,
    awaiting_confirmation: bool | None = None,
    register_label: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    import_file: str = "",
    import_row: int | None = None,
    evidence: str = "",
    now: dt.datetime | None = None,
) -> MarketingConsent:
    """Add a grant or revocation to the customer's consent ledger (append-only), per channel and purpose, with
    the exact disclosure text of the version they were shown, who recorded it, where and how (the counter's
    register, a web form's address and browser, a reply's words and message id, an import's file and row).

    A marketing grant needs the customer's 21+ affirmation. A grant of marketing texts typed in by someone else
    (counter, API, web form, import) waits for the customer's YES (`awaiting_confirmation`) and asks for it
    with one text (messaging reacts to SmsConsentConfirmationRequested); `awaiting_confirmation=False` records a
    confirmed grant (the YES itself). Never part of a sale."""
    problems = {}
    if channel not in CHANNELS:
        problems["channel"] = [f"Unknown channel {channel!r}: use {' or '.join(CHANNELS)}."]
    disclosure = disclosure_get(channel, disclosure_version) if channel in CHANNELS else None
    if channel in CHANNELS and (disclosure is None or not disclosure_version):
        problems["disclosure_version"] = [f"Unknown disclosure version {disclosure_version!r} for {channel}."]
    if source not in CONSENT_SOURCES:
        problems["source"] = [f"Unknown source {source!r}."]
    if purpose not in PURPOSES:
        problems["purpose"] = [f"Unknown purpose {purpose!r}: use {' or '.join(PURPOSES)}."]
    if store is not None and store.organization_id != customer.organization_id:
        problems["store"] = ["The store belongs to another organization."]
    if granted and purpose == MarketingConsent.Purpose.MARKETING and not age_affirmed:
        problems["age_affirmed"] = [
            "The customer must confirm they are 21 or older before agreeing to marketing messages."
        ]
    if import_row is not None and import_row < 0:
        problems["import_row"] = ["The import row is a positive number."]
    if problems:
        first = next(iter(problems.values()))[0]
        raise ValidationFailed(f"The consent cannot be recorded: {first}", details=problems)
    if awaiting_confirmation is None:
        awaiting_confirmation = (
            bool(granted)
            and channel == MarketingConsent.Channel.SMS
            and purpose == MarketingConsent.Purpose.MARKETING
            and source in DOUBLE_OPT_IN_SOURCES
        )
    awaiting_confirmation = bool(awaiting_confirmation) and bool(granted)
    locked = (
        Customer.objects.select_for_update(of=("self",)).select_related("organization").get(pk=customer.pk)
    )
    if granted and channel == EMAIL and not locked.email:
        raise ValidationFailed(
            "Add the customer's email address before recording email consent.",
            details={"email": ["No email address on file."]},
        )
    if granted and channel == MarketingConsent.Channel.SMS and not locked.phone:
        raise ValidationFailed(
            "Add the customer's mobile number before recording consent to texts.",
            details={"phone": ["No mobile number on file."]},
        )
    ledger = MarketingConsent.objects.filter(customer=locked, channel=channel, purpose=purpose)
    previous = ledger.order_by("-recorded_at", "-id").first()
    consent = MarketingConsent.objects.create(
        customer=locked,
        channel=channel,
        purpose=purpose,
        granted=bool(granted),
        awaiting_confirmation=awaiting_confirmation,
        age_affirmed=bool(age_affirmed),
        disclosure_version=disclosure.version,
        disclosure_text=disclosure_text(disclosure, business=locked.organization.name),
        source=source,
        register_label=(register_label or "")[:100],
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:400],
        import_file=(import_file or "")[:255],
        import_row=import_row,
        evidence=(evidence or "")[:500],
        staff=staff if isinstance(staff, User) else None,
        store=store,
        recorded_at=now or timezone.now(),
    )
    audit_record(
        actor=staff,
        action="customer.marketing_consent_recorded",
        instance=locked,
        before=(
            {
                "channel": channel,
                "purpose": purpose,
                "granted": previous.granted,
                "awaiting_confirmation": previous.awaiting_confirmation,
                "disclosure_version": previous.disclosure_version,
            }
            if previous
            else None
        ),
        after={
            "channel": channel,
            "purpose": purpose,
            "granted": consent.granted,
            "awaiting_confirmation": consent.awaiting_confirmation,
            "disclosure_version": consent.disclosure_version,
            "source": source,
            "consent_id": consent.pk,
        },
        organization=locked.organization,
        store=store,
    )
    events.publish(marketing_consent_recorded_event(consent), organization_id=locked.organization_id)
    if awaiting_confirmation:
        events.publish(
            SmsConsentConfirmationRequested(
                customer_id=locked.pk,
                organization_id=locked.organization_id,
                consent_id=consent.pk,
                store_id=store.pk if store else None,
            ),
            organization_id=locked.organization_id,
        )
    return consent


def marketing_consent_recorded_event(consent: MarketingConsent) -> MarketingConsentRecorded:
    """The event every writer of the consent ledger publishes with each row it adds."""
    return MarketingConsentRecorded(
        customer_id=consent.customer_id,
        organization_id=consent.customer.organization_id,
        consent_id=consent.pk,
        channel=consent.channel,
        purpose=consent.purpose,
        granted=consent.granted,
        awaiting_confirmation=consent.awaiting_confirmation,
    )


# --- Staff and stores ---------------------------------------------------------------------------------


@transaction.atomic
def staff_create(
    *,
    organization: Organization,
    actor,
    username: str,
    password: str,
    roles: Iterable[Role],
    stores: Iterable[Store],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    user = User(
        organization=organization, username=username, first_name=first_name, last_name=last_name, email=email
    )
    user.set_password(password)
    try:
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ValidationFailed("Please correct the staff details.", details=error.message_dict) from error
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        raise ValidationFailed(
            f"The username {username!r} is taken.", details={"username": ["This username is taken."]}
        ) from error
    user.groups.set(Group.objects.filter(name__in=[Role(role).value for role in roles]))
    for store in stores:
        staff_grant_store(user=user, store=store, actor=actor)
    audit_record(
        actor=actor,
        action="staff.created",
        instance=user,
        after={"username": user.username, "roles": sorted(Role(role).value for role in roles)},
        organization=organization,
    )
    return user


@transaction.atomic
def staff_grant_store(*, user: User, store: Store, actor) -> None:
    if user.organization_id != store.organization_id:
        raise ValidationFailed("Staff can only work at stores of their own organization.")
    assign_perm(STORE_ACCESS, user, store)
    audit_record(
        actor=actor,
        action="staff.store_granted",
        instance=user,
        after={"store_id": store.pk},
        organization=store.organization,
        store=store,
    )


@transaction.atomic
def staff_revoke_store(*, user: User, store: Store, actor) -> None:
    remove_perm(STORE_ACCESS, user, store)
    audit_record(
        actor=actor,
        action="staff.store_revoked",
        instance=user,
        before={"store_id": store.pk},
        organization=store.organization,
        store=store,
    )


# --- API credentials ----------------------------------------------------------------------------------

KEY_PREFIX_LENGTH = 12


def secret_hash(secret: str) -> str:
    # Secrets are 256 random bits, so a fast hash is enough: there is nothing to guess.
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key(kind: str) -> tuple[str, str, str]:
    prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    return prefix, secret, f"dsp_{kind}_{prefix}_{secret}"


@transaction.atomic
def api_client_create(
    *, organization: Organization, actor, name: str, scopes: Iterable[str], stores: Iterable[Store]
) -> tuple[ApiClient, str]:
    """Create an API client and return it with its key, which is shown once and never stored."""
    from dispensary.scopes import SCOPES

    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValidationFailed(f"Unknown scopes: {', '.join(unknown)}", details={"scopes": unknown})
    stores = list(stores)
    if not name.strip():
        raise ValidationFailed("Give the API client a name.", details={"name": ["This field is required."]})
    if any(store.organization_id != organization.pk for store in stores):
        raise ValidationFailed("API clients can only reach stores of their own organization.")
    prefix, secret, key = _new_key("c")
    client = ApiClient.objects.create(
        organization=organization,
        name=name.strip(),
        key_prefix=prefix,
        secret_hash=secret_hash(secret),
        scopes=scopes,
        created_by=actor if isinstance(actor, User) else None,
    )
    client.stores.set(stores)
    audit_record(
        actor=actor,
        action="api_client.created",
        instance=client,
        after={"name": client.name, "scopes": scopes, "stores": [store.pk for store in stores]},
        organization=organization,
    )
    return client, key


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor) -> ApiClient:
    client = ApiClient.objects.select_for_update(of=("self",)).get(pk=client.pk)
    if client.is_active:
        client.is_active = False
        client.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="api_client.revoked",
            instance=client,
            before={"is_active": True},
            after={"is_active": False},
            organization=client.organization,
        )
    return client


def staff_token_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=settings.STAFF_TOKEN_LIFETIME_HOURS)


@transaction.atomic
def staff_token_create(
    *, user: User, name: str, expires_at: dt.datetime | None = None
) -> tuple[StaffToken, str]:
    """Issue a token that works until `expires_at` (by default STAFF_TOKEN_LIFETIME_HOURS from now); the key
    is returned once and never stored."""
    prefix, secret, key = _new_key("s")
    token = StaffToken.objects.create(
        user=user,
        name=name.strip() or "API token",
        key_prefix=prefix,
        secret_hash=secret_hash(secret),
        expires_at=expires_at or timezone.now() + staff_token_lifetime(),
    )
    audit_record(
        actor=user,
        action="staff_token.created",
        instance=token,
        after={"name": token.name, "expires_at": token.expires_at.isoformat()},
        organization=user.organization,
    )
    return token, key


@transaction.atomic
def staff_token_revoke(*, token: StaffToken, actor) -> None:
    """Delete the token, so its key stops working at once; the audit log keeps that it existed."""
    audit_record(
        actor=actor,
        action="staff_token.revoked",
        instance=token,
        before={"name": token.name, "key_prefix": token.key_prefix},
        organization=token.user.organization,
    )
    StaffToken.objects.filter(pk=token.pk).delete()


@transaction.atomic
def staff_token_rotate(*, token: StaffToken) -> tuple[StaffToken, str]:
    """Replace a token by a new one of the same name and a fresh lifetime; the old key stops working in the
    same transaction. A second rotation of the same old key (a retry) finds it gone and is refused."""
    current = (
        StaffToken.objects.select_for_update(of=("self",))
        .select_related("user__organization")
        .filter(pk=token.pk)
        .first()
    )
    if current is None:
        raise ValidationFailed("This token has already been revoked or rotated.", code="token_revoked")
    prefix, secret, key = _new_key("s")
    replacement = StaffToken.objects.create(
        user=current.user,
        name=current.name,
        key_prefix=prefix,
        secret_hash=secret_hash(secret),
        expires_at=timezone.now() + staff_token_lifetime(),
    )
    audit_record(
        actor=current.user,
        action="staff_token.rotated",
        instance=replacement,
        before={"key_prefix": current.key_prefix},
        after={"key_prefix": replacement.key_prefix, "expires_at": replacement.expires_at.isoformat()},
        organization=current.user.organization,
    )
    current.delete()
    return replacement, key


# --- Outbox -------------------------------------------------------------------------------------------


@transaction.atomic
def event_delivery_retry(*, delivery: EventDelivery, actor) -> EventDelivery:
    """Give a dead letter a fresh round of attempts; it is dispatched when this transaction commits."""
    locked = EventDelivery.objects.select_for_update(of=("self",)).select_related("event").get(pk=delivery.pk)
    if locked.status != EventDelivery.Status.DEAD:
        raise ValidationFailed("Only dead letters can be retried.", details={"status": locked.status})
    before = {"status": locked.status, "attempts": locked.attempts}
    locked.status = EventDelivery.Status.PENDING
    locked.attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.save(update_fields=["status", "attempts", "next_attempt_at"])
    audit_record(
        actor=actor,
        action="event_delivery.retried",
        instance=locked,
        before=before,
        after={"status": locked.status, "attempts": 0},
        organization=locked.event.organization,
    )
    transaction.on_commit(lambda: events.dispatch([locked.pk]), robust=True)
    return locked


def idempotency_key_purge(*, older_than: dt.timedelta | None = None) -> int:
    """Forget API write answers older than the retry window (a client retries within minutes, not days)."""
    window = older_than or dt.timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - window).delete()
    return deleted
