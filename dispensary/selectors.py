"""Reads of the core: which stores a member may work at, customers and their lookup by phone, dead letters."""

import functools
from collections.abc import Iterable

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from guardian.models import GroupObjectPermission, UserObjectPermission

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
    # What guardian's get_objects_for_user(user, STORE_ACCESS, accept_global_perms=False) answers, as one
    # subquery written once: it runs on every request (the current store), where building guardian's query
    # took about half of a small page's time (tests/dispensary/test_store_access.py holds them equal).
    app_label, codename = STORE_ACCESS.split(".", 1)
    granted = (app_label, Store._meta.model_name, codename)
    return stores.filter(organization_id=user.organization_id).filter(
        # Values as parameters; only the models' own table names are written into the text.
        pk__in=RawSQL(_stores_granted_sql(), (*granted, user.pk, *granted, user.pk))  # noqa: S611
    )


@functools.cache
def _stores_granted_sql() -> str:
    """The ids of the stores a member holds a permission on (app label, model, codename, member's id: twice),
    themselves or through one of their groups."""
    granted = (
        "SELECT CAST(grant_row.object_pk AS BIGINT) FROM {table} grant_row "  # noqa: S608 - table names only
        f"JOIN {Permission._meta.db_table} permission ON permission.id = grant_row.permission_id "
        f"JOIN {ContentType._meta.db_table} kind ON kind.id = grant_row.content_type_id "
        "AND kind.id = permission.content_type_id "
        "WHERE kind.app_label = %s AND kind.model = %s AND permission.codename = %s AND {who}"
    )
    memberships = User.groups.through._meta.db_table
    return (
        granted.format(table=UserObjectPermission._meta.db_table, who="grant_row.user_id = %s")  # noqa: S608
        + " UNION "
        + granted.format(
            table=GroupObjectPermission._meta.db_table,
            who=f"grant_row.group_id IN (SELECT group_id FROM {memberships} WHERE user_id = %s)",  # noqa: S608
        )
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
    """The customer's current marketing choice per channel: the latest marketing row of the ledger (a grant may
    still await the customer's YES), or None where they were never asked. One query, however long the ledger."""
    ledger = (
        MarketingConsent.objects.filter(customer=customer, purpose=MarketingConsent.Purpose.MARKETING)
        .order_by("-recorded_at", "-id")
        .values("pk")
    )
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
