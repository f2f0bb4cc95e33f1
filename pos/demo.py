"""Point-of-sale demo data: a register per demo store and about 20 sales over the last days, each with its own
ID check (a typed date of birth) through the same services as the counter, so the state sync queue reports
them. Medical sales only for customers whose registry card is valid on the day; everyone else buys as adult
use. The demo manager and owner get PINs 2468 and 1357 for approvals. Idempotent: each sale by its idempotency key
("demo-sale-N"), registers by name, PINs only where none is set. Also today's check-in queue of each demo store,
so the door page and the lobby display have someone in them."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from compliance.identity import id_verify, medical_status
from dispensary.clock import age_on, store_local_date, store_local_day_bounds
from dispensary.demo import ORG_SLUG
from dispensary.models import Customer, Organization, Store, User
from inventory.models import Product
from inventory.selectors import package_sellable_list
from pos.models import (
    Coupon,
    CustomerType,
    DrawerSession,
    LoyaltyProgram,
    LoyaltyTier,
    PointsMultiplier,
    Promotion,
    QueueEntry,
    Register,
    Reward,
    Sale,
)
from pos.selectors.quote import CartInput, QuoteLineInput, quote
from pos.services import TenderInput, sale_complete
from pos.services.pins import manager_pin_set
from pos.services.queue import queue_check_in, queue_entry_call, queue_entry_finish

SALES = 20
REGISTER_NAME = "Register 1"
STAFF = {"sf-mission": "budtender", "detroit-riverside": "budtender.mi"}
CATEGORIES = ("flower", "pre_roll", "vape", "edible", "concentrate")
ID_VALID_FOR = dt.timedelta(days=900)
# Each approver's PIN is their own: the PIN alone says who approves.
DEMO_PINS = {"manager": "2468", "owner": "1357"}


def _products(store: Store) -> list[Product]:
    products = Product.objects.filter(
        organization_id=store.organization_id, category__in=CATEGORIES
    ).order_by("sku")
    return [
        product for product in products if package_sellable_list(store=store, product_id=product.pk).exists()
    ]


def _sale_time(store: Store, index: int) -> dt.datetime:
    """Sale N: 1 to 4 days ago (N % 4 + 1), between 10:00 and 19:59 local time."""
    now = timezone.now()
    day = timezone.localtime(now, store.tz).date() - dt.timedelta(days=index % 4 + 1)
    moment = dt.datetime.combine(day, dt.time(10 + index % 10, (index * 7) % 60), tzinfo=store.tz)
    return min(moment, now)


def _customer_type(customer: Customer, day: dt.date) -> str:
    if (
        customer.customer_type == Customer.Type.MEDICAL
        and medical_status(customer=customer, today=day).allowed
    ):
        return CustomerType.MEDICAL
    return CustomerType.ADULT_USE


def _demo_pins() -> None:
    """The demo's approvers get a known PIN (once: a PIN changed on the PIN page is kept)."""
    for user in User.objects.filter(username__in=DEMO_PINS, manager_pin__isnull=True):
        manager_pin_set(user=user, pin=DEMO_PINS[user.username], actor=user)


PROMOTIONS = [
    # name, kind, value, extra fields
    (
        "Happy hour pre-rolls",
        "percent",
        "10",
        {"categories": ["pre_roll"], "start_time": dt.time(16), "end_time": dt.time(18)},
    ),
    (
        "Employee discount",
        "percent",
        "20",
        {"customer_group": "employee", "automatic": False, "priority": 10},
    ),
    ("Veteran discount", "percent", "10", {"customer_group": "veteran", "automatic": False}),
    ("Senior discount", "percent", "10", {"customer_group": "senior", "senior_age": 65, "automatic": False}),
    ("Medical patients 15%", "percent", "15", {"customer_group": "medical"}),
    ("Edibles: buy 2 get 1", "bxgy", "100", {"categories": ["edible"], "buy_quantity": 2, "get_quantity": 1}),
    ("Welcome 10%", "percent", "10", {"automatic": False}),
    ("Flyer $5 off", "amount", "5", {"automatic": False, "scope": "cart"}),
]


def _loyalty_and_promotions(organization: Organization) -> None:
    """The program, tiers, multipliers, promotions, coupons and rewards, each found by its name or code."""
    LoyaltyProgram.objects.get_or_create(
        organization=organization,
        defaults={"points_per_currency_unit": Decimal("1"), "points_expire_after_days": 365},
    )
    for name, spend, multiplier in (
        ("Green", "0", "1"),
        ("Gold", "500", "1.25"),
        ("Platinum", "1500", "1.5"),
    ):
        LoyaltyTier.objects.get_or_create(
            organization=organization,
            name=name,
            defaults={"min_spend": Decimal(spend), "earn_multiplier": Decimal(multiplier)},
        )
    PointsMultiplier.objects.get_or_create(
        organization=organization,
        name="Wednesday double points on edibles",
        defaults={"categories": ["edible"], "weekdays": [2], "multiplier": Decimal("2")},
    )
    promotions = {}
    for name, kind, value, extra in PROMOTIONS:
        promotions[name], _ = Promotion.objects.get_or_create(
            organization=organization, name=name, defaults={"kind": kind, "value": Decimal(value), **extra}
        )
    Coupon.objects.get_or_create(
        organization=organization,
        code="WELCOME10",
        defaults={
            "promotion": promotions["Welcome 10%"],
            "max_uses_per_customer": 1,
            "min_spend": Decimal("30"),
        },
    )
    Coupon.objects.get_or_create(
        organization=organization,
        code="FLYER5K7M",
        defaults={"promotion": promotions["Flyer $5 off"], "max_uses": 1},
    )
    for name, cost, value in (("$5 off", 100, "5"), ("$15 off", 250, "15")):
        Reward.objects.get_or_create(
            organization=organization, name=name, defaults={"points_cost": cost, "value": Decimal(value)}
        )


def demo_load() -> dict[str, int]:
    return {**_sales_load(), **_queue_load()}


def _sales_load() -> dict[str, int]:
    organization = Organization.objects.filter(slug=ORG_SLUG).first()
    if organization is None:
        return {"sales": 0}
    _demo_pins()
    _loyalty_and_promotions(organization)
    stores = list(Store.objects.filter(organization=organization, code__in=STAFF).order_by("code"))
    done = set(Sale.objects.filter(store__in=stores).values_list("idempotency_key", flat=True))
    wanted = [index for index in range(1, SALES + 1) if f"demo-sale-{index}" not in done]
    if not wanted or not stores:
        return {"sales": 0}
    setup = {}
    for store in stores:
        register, _ = Register.objects.get_or_create(store=store, name=REGISTER_NAME)
        staff = User.objects.get(username=STAFF[store.code])
        if not DrawerSession.objects.filter(register=register, status=DrawerSession.Status.OPEN).exists():
            DrawerSession.objects.create(
                register=register,
                store=store,
                opened_by=staff,
                opened_at=timezone.now() - dt.timedelta(days=5),
                opening_amount=Decimal("200.00"),
            )
        customers = [
            customer
            for customer in Customer.objects.filter(organization=organization, home_store=store).order_by(
                "pk"
            )[:60]
            if customer.date_of_birth and age_on(customer.date_of_birth, timezone.localdate()) >= 22
        ]
        setup[store.pk] = (register, staff, customers, _products(store))
    added = 0
    for index in wanted:
        store = stores[index % len(stores)]
        register, staff, customers, products = setup[store.pk]
        if not customers or not products:
            continue
        customer = customers[index % len(customers)]
        at = _sale_time(store, index)
        day = timezone.localtime(at, store.tz).date()
        customer_type = _customer_type(customer, day)
        verification = id_verify(
            store=store,
            staff=staff,
            minimum_age=18 if customer_type == CustomerType.MEDICAL else 21,
            date_of_birth=customer.date_of_birth,
            expires_on=day + ID_VALID_FOR,
            customer=customer,
            at=at,
        ).verification
        lines = [QuoteLineInput(products[(index * 3) % len(products)].pk, Decimal("1"))]
        if index % 3 == 0:
            lines.append(QuoteLineInput(products[(index * 3 + 1) % len(products)].pk, Decimal("1")))
        priced = quote(
            CartInput(
                store=store,
                customer_type=customer_type,
                lines=tuple(lines),
                customer=customer,
                id_verification=verification,
                at=at,
            )
        )
        sale_complete(
            quote=priced,
            tenders=[TenderInput("cash", Decimal("500"))],
            register=register,
            staff=staff,
            idempotency_key=f"demo-sale-{index}",
            now=at,
        )
        added += 1
    return {"sales": added}


# --- The check-in queue: today's lobby of each demo store -----------------------------------------------------

# Minutes ago: checked in, called, finished (None: not yet). One served, one being served, three waiting.
QUEUE_VISITS = [(40, 32, 25), (25, 15, None), (12, None, None), (6, None, None), (2, None, None)]


def _queue_load() -> dict[str, int]:
    """Today's queue of each demo store, through the queue services, when the store has none yet today (so a
    second load the same day adds nothing, and a load on a later day shows a fresh lobby)."""
    organization = Organization.objects.filter(slug=ORG_SLUG).first()
    if organization is None:
        return {"queue entries": 0}
    added = 0
    now = timezone.now()

    for store in Store.objects.filter(organization=organization, code__in=STAFF).order_by("code"):
        today = store_local_date(store, at=now)
        if QueueEntry.objects.filter(store=store, local_date=today).exists():
            continue
        midnight, _ = store_local_day_bounds(store, today)

        def ago(minutes: int, midnight=midnight) -> dt.datetime:
            # Never before the local midnight: just after it, the whole queue belongs to the new day.
            return max(now - dt.timedelta(minutes=minutes), midnight)

        staff = User.objects.get(username=STAFF[store.code])
        register, _ = Register.objects.get_or_create(store=store, name=REGISTER_NAME)
        customers = list(
            Customer.objects.filter(organization=organization, home_store=store).order_by("-pk")[:5]
        )
        for (arrived, called, finished), customer in zip(QUEUE_VISITS, customers, strict=False):
            entry = queue_check_in(
                store=store,
                staff=staff,
                customer=customer,
                customer_type=customer.customer_type,
                now=ago(arrived),
            )
            if called is not None:
                queue_entry_call(entry=entry, staff=staff, register=register, now=ago(called))
            if finished is not None:
                queue_entry_finish(entry=entry, staff=staff, now=ago(finished))
            added += 1
    return {"queue entries": added}
