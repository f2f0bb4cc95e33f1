"""Reads of the core: which stores a member may work at, customers and their lookup by phone, dead letters."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet, Subquery
from guardian.shortcuts import get_objects_for_user

from dispensary.audit import actor_label, audit_record
from dispensary.consent import CHANNELS
from dispensary.errors import InvalidPhoneNumber
from dispensary.models import (
    AuditRecord,
    Customer,
    EventDelivery,
    MarketingConsent,
    Organization,
    Store,
    User,
)
from dispensary.phones import phone_normalize

STORE_ACCESS = "dispensary.access_store"


def store_list_for_user(user: User) -> QuerySet[Store]:
    """The active stores a staff member may work at (superusers: every store)."""
    stores = Store.objects.filter(is_active=True).select_related("organization")
    if user.is_superuser:
        return stores
    if not user.is_authenticated or user.organization_id is None:
        return stores.none()
    return get_objects_for_user(
        user,
        STORE_ACCESS,
        klass=stores.filter(organization_id=user.organization_id),
        accept_global_perms=False,
    )


def user_can_access_store(user: User, store: Store) -> bool:
    if user.is_superuser:
        return True
    return user.organization_id == store.organization_id and user.has_perm(STORE_ACCESS, store)


def customer_list(
    *, organization: Organization, search: str = "", stores: QuerySet[Store] | None = None
) -> QuerySet[Customer]:
    """Customers of the organization; with `stores`, only those whose home store is one of them (an API client
    limited to some stores sees only their customers)."""
    customers = Customer.objects.filter(organization=organization)
    if stores is not None:
        customers = customers.filter(home_store__in=stores)
    search = search.strip()
    if search:
        query = Q(last_name__istartswith=search) | Q(first_name__istartswith=search) | Q(email__iexact=search)
        try:
            query |= Q(phone=phone_normalize(search))
        except InvalidPhoneNumber:
            pass
        customers = customers.filter(query)
    return customers


def customer_get_by_phone(
    *, organization: Organization, phone: str, stores: QuerySet[Store] | None = None
) -> Customer | None:
    """Any common spelling of the number finds the customer; InvalidPhoneNumber if it is no number. With
    `stores`, only a customer whose home store is one of them."""
    customers = Customer.objects.select_related("organization", "home_store").filter(
        organization=organization, phone=phone_normalize(phone)
    )
    if stores is not None:
        customers = customers.filter(home_store__in=stores)
    return customers.first()


def customer_record_viewed(*, customer: Customer, actor, store: Store | None = None, via: str) -> None:
    """Reads of a customer record are logged: customers may be patients, and regulators ask who looked."""
    audit_record(
        actor=actor,
        action="customer.viewed",
        instance=customer,
        after={"via": via},
        organization=customer.organization,
        store=store,
    )


def customer_records_listed(
    *, customers: Iterable[Customer], actor, store: Store | None = None, via: str, search: str = ""
) -> None:
    """A list or a search that shows customers is a read of each record shown: one `customer.viewed` row
    each (with the search that found them), written in one query."""
    label = actor_label(actor)[:200]
    after = {"via": via, **({"search": search[:200]} if search else {})}
    AuditRecord.objects.bulk_create(
        [
            AuditRecord(
                organization_id=customer.organization_id,
                store=store,
                actor=actor if isinstance(actor, User) else None,
                actor_label=label,
                action="customer.viewed",
                object_type=Customer._meta.label_lower,
                object_id=str(customer.pk),
                object_repr=str(customer)[:200],
                after=after,
            )
            for customer in customers
        ]
    )


def marketing_consent_current(customer: Customer) -> dict[str, MarketingConsent | None]:
    """The customer's current marketing choice per channel: the latest ledger row, or None where they were
    never asked. One query, however long the ledger."""
    ledger = MarketingConsent.objects.filter(customer=customer).order_by("-recorded_at", "-id").values("pk")
    latest = Q()
    for channel in CHANNELS:
        latest |= Q(pk=Subquery(ledger.filter(channel=channel)[:1]))
    rows = {
        row.channel: row for row in MarketingConsent.objects.filter(latest).select_related("staff", "store")
    }
    return {channel: rows.get(channel) for channel in CHANNELS}


def dead_letter_list(*, organization: Organization | None) -> QuerySet[EventDelivery]:
    """Dead letters a manager of the organization may see (events with no organization belong to none)."""
    deliveries = EventDelivery.objects.filter(status=EventDelivery.Status.DEAD).select_related("event")
    if organization is None:
        return deliveries
    return deliveries.filter(event__organization=organization)
