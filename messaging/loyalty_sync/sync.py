"""Keeping Alpine IQ and Springbig in step with the register, both ways.

Outward (register -> vendor), from the outbox handlers (messaging.loyalty_sync.handlers), each inside its
delivery's transaction, so a failure rolls back and the outbox retries with backoff: a customer becomes a member
(phone E.164 the match key, opt-ins only from confirmed consent), a sale a transaction keyed "sale-<id>", a void
"sale-<id>-void", a refund "refund-<id>", and after each of them and after points earned or spent the vendor's
balance is set to the register's (read, then adjusted by the difference: a retry after a lost answer adjusts
nothing).

Inward (vendor -> register), `loyalty_pull` on Celery beat: a page of members from the kept cursor (a full
sweep over some runs, then again from the start), each reconciled against its link's last agreed balance, then
the audiences. A member unknown here is matched to the customer with the same phone, or becomes a customer; a
balance moved only at the vendor becomes one "adjusted" ledger entry (note "Alpine IQ balance"); moved only
here, it is sent; moved on both sides, the register's ledger wins, the vendor is set to it and the conflict is
logged (LoyaltySyncLog)."""

import datetime as dt
import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from dispensary.errors import DuplicateCustomer, ValidationFailed
from dispensary.events import delivering_event_uuid, publish
from dispensary.models import Customer, MarketingConsent
from dispensary.services import customer_create
from messaging.consent import MARKETING, consent_states
from messaging.events import CustomerEnteredSegment
from messaging.loyalty_sync.alpine import AlpineProvider
from messaging.loyalty_sync.base import (
    LineIn,
    LoyaltyProvider,
    MemberIn,
    TransactionIn,
    VendorError,
    VendorMember,
)
from messaging.loyalty_sync.springbig import SpringbigProvider
from messaging.models import (
    LoyaltyAudience,
    LoyaltyMemberLink,
    LoyaltySyncLog,
    LoyaltySyncSettings,
    Segment,
    SegmentMember,
)
from pos.models import LoyaltyAccount, PointsEntry, Refund, Sale
from pos.services.loyalty import loyalty_points_adjust

logger = logging.getLogger(__name__)

Vendor = LoyaltySyncSettings.Vendor
# Tests hand the adapters a transport (the fakes run on real sockets; None: httpx's own).
TRANSPORT = None


def provider_for(settings: LoyaltySyncSettings) -> LoyaltyProvider:
    if settings.vendor == Vendor.ALPINE:
        return AlpineProvider(
            api_key=settings.api_key, uid=settings.account_id, base_url=settings.base_url, transport=TRANSPORT
        )
    return SpringbigProvider(
        api_key=settings.api_key,
        auth_token=settings.auth_token,
        pos_type=settings.account_id,
        base_url=settings.base_url,
        transport=TRANSPORT,
    )


def settings_active(organization_id: int) -> list[LoyaltySyncSettings]:
    return list(
        LoyaltySyncSettings.objects.filter(organization_id=organization_id, enabled=True).exclude(api_key="")
    )


def _log(settings: LoyaltySyncSettings, kind: str, detail: str, *, customer_id: int | None = None) -> None:
    LoyaltySyncLog.objects.create(
        settings=settings, kind=kind, customer_id=customer_id, detail=detail[:500], created_at=timezone.now()
    )


def _register_balance(customer_id: int, *, lock: bool = False) -> int:
    accounts = LoyaltyAccount.objects.filter(customer_id=customer_id)
    if lock:
        accounts = accounts.select_for_update(of=("self",))
    account = accounts.only("balance").first()
    return account.balance if account else 0


def _member_in(customer: Customer) -> MemberIn:
    sms = consent_states([customer.pk], channel=MarketingConsent.Channel.SMS)[(customer.pk, MARKETING)]
    email = consent_states([customer.pk], channel=MarketingConsent.Channel.EMAIL)[(customer.pk, MARKETING)]
    return MemberIn(
        our_id=str(customer.pk),
        phone=customer.phone,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        birthday=customer.date_of_birth,
        sms_opt_in=sms.allowed,
        email_opt_in=email.allowed and bool(customer.email),
    )


def _link_locked(settings: LoyaltySyncSettings, customer_id: int) -> LoyaltyMemberLink | None:
    return (
        LoyaltyMemberLink.objects.select_for_update(of=("self",))
        .filter(settings=settings, customer_id=customer_id)
        .first()
    )


def member_push(
    *, settings: LoyaltySyncSettings, provider: LoyaltyProvider, customer: Customer
) -> LoyaltyMemberLink:
    """Create or update the customer's member at the vendor (found by phone first, so a member the vendor
    already has is never made twice; its balance then meets the register's, `balance_reconcile`) and return
    the link, locked."""
    link = _link_locked(settings, customer.pk)
    member = _member_in(customer)
    if link is not None:
        provider.member_upsert(member, member_id=link.vendor_member_id)
        return link
    found = provider.member_find(customer.phone)
    answered = provider.member_upsert(member, member_id=found.member_id if found else "")
    try:
        with transaction.atomic():
            LoyaltyMemberLink.objects.create(
                settings=settings, customer=customer, vendor_member_id=answered.member_id
            )
    except IntegrityError:
        # The member is linked to another customer here (two customers with one vendor member): say so.
        other = LoyaltyMemberLink.objects.filter(
            settings=settings, vendor_member_id=answered.member_id
        ).first()
        if other is None or other.customer_id == customer.pk:
            raise
        raise VendorError(
            f"{settings.get_vendor_display()} member {answered.member_id} is already linked to customer "
            f"{other.customer_id}."
        ) from None
    link = _link_locked(settings, customer.pk)
    if found is not None:  # a member the vendor already had: its balance meets the register's once
        balance_reconcile(settings=settings, provider=provider, link=link, theirs=found.points)
    return link


def _link_ensure(settings, provider, customer_id: int) -> LoyaltyMemberLink:
    link = _link_locked(settings, customer_id)
    if link is not None:
        return link
    return member_push(settings=settings, provider=provider, customer=Customer.objects.get(pk=customer_id))


def balance_push(
    *, settings: LoyaltySyncSettings, provider: LoyaltyProvider, link: LoyaltyMemberLink, key: str
) -> int:
    """Set the vendor's balance to the register's; the link (locked by the caller) records it as agreed."""
    balance = _register_balance(link.customer_id)
    provider.balance_set(link.vendor_member_id, balance=balance, key=key, note="Register balance")
    link.synced_balance = balance
    link.synced_at = timezone.now()
    link.save(update_fields=["synced_balance", "synced_at"])
    return balance


def _key(kind: str, *parts) -> str:
    source = delivering_event_uuid() or timezone.now().isoformat()
    return ":".join([kind, source, *[str(part) for part in parts]])


def _sale_lines(sale: Sale, *, sign: int, quantities: dict[int, Decimal] | None = None) -> list[LineIn]:
    lines = []
    for line in sale.lines.select_related("product").order_by("pk"):
        quantity = quantities.get(line.pk) if quantities is not None else line.quantity
        if not quantity:
            continue
        lines.append(
            LineIn(
                sku=line.product.sku,
                name=line.product.name,
                category=line.product.category,
                quantity=sign * quantity,
                price=line.unit_price,
                discount=line.discount_amount if sign > 0 else Decimal("0"),
            )
        )
    return lines


def _location(settings: LoyaltySyncSettings, sale: Sale) -> str:
    return settings.location or sale.store.name


def sale_push(*, settings: LoyaltySyncSettings, provider: LoyaltyProvider, sale_id: int) -> None:
    """The sale as a transaction keyed "sale-<id>" (amount and points earned), then the balance kept equal."""
    sale = Sale.objects.select_related("store").get(pk=sale_id)
    if sale.customer_id is None:
        return
    link = _link_ensure(settings, provider, sale.customer_id)
    provider.transaction_post(
        TransactionIn(
            pos_id=f"sale-{sale.pk}",
            member_id=link.vendor_member_id,
            our_customer_id=str(sale.customer_id),
            occurred_at=sale.completed_at,
            total=sale.total,
            points=sale.points_earned,
            location=_location(settings, sale),
            lines=_sale_lines(sale, sign=1),
        )
    )
    balance_push(settings=settings, provider=provider, link=link, key=_key("sale", sale.pk))


def void_push(*, settings: LoyaltySyncSettings, provider: LoyaltyProvider, sale_id: int) -> None:
    """A voided sale: its reversal, keyed "sale-<id>-void" (negative quantities and total), then the balance."""
    sale = Sale.objects.select_related("store").get(pk=sale_id)
    if sale.customer_id is None:
        return
    link = _link_ensure(settings, provider, sale.customer_id)
    provider.transaction_post(
        TransactionIn(
            pos_id=f"sale-{sale.pk}-void",
            member_id=link.vendor_member_id,
            our_customer_id=str(sale.customer_id),
            occurred_at=sale.voided_at or timezone.now(),
            total=-(sale.total - sale.refunded_total),
            points=-(sale.points_earned),
            location=_location(settings, sale),
            lines=_sale_lines(sale, sign=-1),
        )
    )
    balance_push(settings=settings, provider=provider, link=link, key=_key("void", sale.pk))


def refund_push(*, settings: LoyaltySyncSettings, provider: LoyaltyProvider, refund_id: int) -> None:
    """A refund: a reversal keyed "refund-<id>" with the refunded quantities, then the balance."""
    refund = Refund.objects.select_related("sale__store").get(pk=refund_id)
    sale = refund.sale
    if sale.customer_id is None:
        return
    link = _link_ensure(settings, provider, sale.customer_id)
    quantities = {row.sale_line_id: row.quantity for row in refund.lines.all()}
    provider.transaction_post(
        TransactionIn(
            pos_id=f"refund-{refund.pk}",
            member_id=link.vendor_member_id,
            our_customer_id=str(sale.customer_id),
            occurred_at=refund.created_at,
            total=-refund.total,
            points=-refund.points_reversed,
            location=_location(settings, sale),
            lines=_sale_lines(sale, sign=-1, quantities=quantities),
        )
    )
    balance_push(settings=settings, provider=provider, link=link, key=_key("refund", refund.pk))


def points_push(*, settings: LoyaltySyncSettings, provider: LoyaltyProvider, customer_id: int) -> None:
    """Points earned or spent: the vendor's balance set to the register's."""
    link = _link_ensure(settings, provider, customer_id)
    balance_push(settings=settings, provider=provider, link=link, key=_key("points", customer_id))


# --- inward -------------------------------------------------------------------------------------------------


def _customer_for(settings: LoyaltySyncSettings, member: VendorMember) -> tuple[Customer | None, bool]:
    """The customer with the member's phone, or a new one; (None, False) when the member cannot be one."""
    customer = Customer.objects.filter(organization_id=settings.organization_id, phone=member.phone).first()
    if customer is not None:
        return customer, False
    try:
        with transaction.atomic():
            return (
                customer_create(
                    organization=settings.organization,
                    actor=None,
                    phone=member.phone,
                    first_name=member.first_name or "Member",
                    last_name=member.last_name or "(no last name)",
                    email=member.email,
                    date_of_birth=member.birthday,
                ),
                True,
            )
    except DuplicateCustomer as error:  # created meanwhile by someone else
        return Customer.objects.get(pk=error.details["customer_id"]), False
    except ValidationFailed as error:
        _log(settings, LoyaltySyncLog.Kind.ERROR, f"Member {member.member_id} not taken: {error}")
        return None, False


def member_reconcile(
    *, settings: LoyaltySyncSettings, provider: LoyaltyProvider, member: VendorMember
) -> None:
    """One member pulled from the vendor, against its link (one transaction, the link and account locked)."""
    vendor_name = settings.get_vendor_display()
    link = (
        LoyaltyMemberLink.objects.select_for_update(of=("self",))
        .filter(settings=settings, vendor_member_id=member.member_id)
        .first()
    )
    if link is None:
        if not member.phone:
            _log(
                settings, LoyaltySyncLog.Kind.ERROR, f"Member {member.member_id} has no valid mobile number."
            )
            return
        customer, created = _customer_for(settings, member)
        if customer is None:
            return
        try:
            with transaction.atomic():
                link = LoyaltyMemberLink.objects.create(
                    settings=settings, customer=customer, vendor_member_id=member.member_id
                )
        except IntegrityError:
            _log(
                settings,
                LoyaltySyncLog.Kind.ERROR,
                f"Member {member.member_id} has the phone of a customer already linked to another member.",
                customer_id=customer.pk,
            )
            return
        link = LoyaltyMemberLink.objects.select_for_update(of=("self",)).get(pk=link.pk)
        _log(
            settings,
            LoyaltySyncLog.Kind.CREATED if created else LoyaltySyncLog.Kind.MATCHED,
            f"{vendor_name} member {member.member_id} {'became' if created else 'matched'} customer {customer.pk}.",
            customer_id=customer.pk,
        )
    balance_reconcile(settings=settings, provider=provider, link=link, theirs=member.points)


def balance_reconcile(
    *, settings: LoyaltySyncSettings, provider: LoyaltyProvider, link: LoyaltyMemberLink, theirs: int
) -> None:
    """The member's balance at the vendor (`theirs`) against the register's and the last agreed one, the link
    locked by the caller. Never agreed yet: a ledger without history takes the vendor's balance, one with
    history keeps its own (a conflict, logged)."""
    vendor_name = settings.get_vendor_display()
    agreed = link.synced_balance
    if agreed is None and not PointsEntry.objects.filter(account__customer_id=link.customer_id).exists():
        agreed = 0  # a new ledger takes the vendor's balance
    ours = _register_balance(link.customer_id, lock=True)
    now = timezone.now()
    if ours == theirs:
        balance = ours
    elif agreed is not None and ours == agreed:
        loyalty_points_adjust(
            customer_id=link.customer_id, points=theirs - ours, note=f"{vendor_name} balance", now=now
        )
        _log(
            settings,
            LoyaltySyncLog.Kind.IMPORTED,
            f"{vendor_name} balance {theirs} (was {ours}): {theirs - ours:+d} points.",
            customer_id=link.customer_id,
        )
        balance = theirs
    else:
        key = f"pull:{settings.pk}:{link.customer_id}:{now.isoformat()}"
        provider.balance_set(link.vendor_member_id, balance=ours, key=key, note="Register balance")
        if agreed is None or theirs != agreed:
            _log(
                settings,
                LoyaltySyncLog.Kind.CONFLICT,
                f"Both sides changed the balance (register {ours}, {vendor_name} {theirs}, agreed "
                f"{'none' if agreed is None else agreed}): the register's {ours} kept and sent.",
                customer_id=link.customer_id,
            )
        balance = ours
    link.synced_balance = balance
    link.synced_at = now
    link.save(update_fields=["synced_balance", "synced_at"])


def _segment_for(settings: LoyaltySyncSettings, audience_id: str, name: str) -> Segment:
    row = (
        LoyaltyAudience.objects.select_related("segment")
        .filter(settings=settings, audience_id=audience_id)
        .first()
    )
    title = f"{settings.get_vendor_display()}: {name}"[:120]
    if row is not None:
        if row.name != name:
            row.name = name
            row.save(update_fields=["name"])
        return row.segment
    taken = Segment.objects.filter(organization_id=settings.organization_id, name=title).exists()
    segment = Segment.objects.create(
        organization_id=settings.organization_id,
        name=f"{title} ({audience_id})"[:120] if taken else title,
        description=f"Kept in step with {settings.get_vendor_display()} audience {audience_id}; "
        "its members are the vendor's list.",
        rules=[],
    )
    # Membership is the vendor's list: the only rule is "in this segment", so a recount keeps it as it is.
    segment.rules = [{"field": "in_segment", "op": "eq", "value": segment.pk}]
    segment.save(update_fields=["rules"])
    LoyaltyAudience.objects.create(settings=settings, audience_id=audience_id, name=name, segment=segment)
    return segment


def audiences_pull(*, settings: LoyaltySyncSettings, provider: LoyaltyProvider) -> int:
    """Every vendor audience as an external saved segment with exactly the vendor's members we know. Returns
    the number of audiences."""
    audiences = provider.audiences_list()
    for audience in audiences:
        member_ids, phones = provider.audience_members(audience.audience_id)
        with transaction.atomic():
            segment = _segment_for(settings, audience.audience_id, audience.name)
            wanted = set(
                LoyaltyMemberLink.objects.filter(
                    settings=settings, vendor_member_id__in=member_ids
                ).values_list("customer_id", flat=True)
            ) | set(
                Customer.objects.filter(
                    organization_id=settings.organization_id, phone__in=phones
                ).values_list("pk", flat=True)
            )
            current = set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
            now = timezone.now()
            SegmentMember.objects.filter(segment=segment, customer_id__in=current - wanted).delete()
            SegmentMember.objects.bulk_create(
                [
                    SegmentMember(segment=segment, customer_id=pk, entered_at=now)
                    for pk in sorted(wanted - current)
                ]
            )
            for customer_id in sorted(wanted - current):
                publish(
                    CustomerEnteredSegment(
                        segment_id=segment.pk,
                        customer_id=customer_id,
                        organization_id=settings.organization_id,
                        entered_at=now.astimezone(dt.UTC).isoformat(),
                    )
                )
            Segment.objects.filter(pk=segment.pk).update(member_count=len(wanted), counted_at=now)
            LoyaltyAudience.objects.filter(settings=settings, audience_id=audience.audience_id).update(
                synced_at=now
            )
    return len(audiences)


def loyalty_pull(*, settings_id: int) -> int:
    """One run of the pull for one organization's vendor: a page of members from the cursor, then the
    audiences. Returns the members reconciled. A vendor error is kept on the settings (shown on the page) and
    the cursor stays, so the next run tries the same page again."""
    settings = LoyaltySyncSettings.objects.select_related("organization").get(pk=settings_id)
    if not settings.enabled or not settings.api_key:
        return 0
    done = 0
    try:
        with provider_for(settings) as provider:
            page = provider.members_list(settings.cursor or {})
            for member in page.members:
                with transaction.atomic():
                    member_reconcile(settings=settings, provider=provider, member=member)
                done += 1
            audiences_pull(settings=settings, provider=provider)
    except VendorError as error:
        now = timezone.now()
        LoyaltySyncSettings.objects.filter(pk=settings.pk).update(
            last_error=str(error)[:500], last_error_at=now
        )
        _log(settings, LoyaltySyncLog.Kind.ERROR, str(error))
        logger.warning("Loyalty pull of %s failed: %s", settings, error)
        return done
    LoyaltySyncSettings.objects.filter(pk=settings.pk).update(
        cursor=page.cursor, last_synced_at=timezone.now(), last_error=""
    )
    return done


def loyalty_pull_all() -> int:
    """The periodic job: every enabled vendor of every organization, one after the other."""
    ids = LoyaltySyncSettings.objects.filter(enabled=True).exclude(api_key="").values_list("pk", flat=True)
    return sum(loyalty_pull(settings_id=pk) for pk in sorted(ids))
