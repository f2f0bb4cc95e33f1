"""A realistic history for an organization, for the report bench and for trying the platform at scale:
stores in three states, a catalog with limit amounts, customers (adult use and medical patients with their
cards), and a year of sales shaped like a busy shop's (weekdays, hours, basket sizes, regulars), with voids,
refunds, tenders, taxes, discounts, drawers, stock received and sold through the ledger, ID checks, the audit
log, the outbox and the reports to the state marked accepted.

The rows are the ones the services write (`pos.services.sales`, `inventory.services`, the state-report
handlers), with the times they happened; they are written straight into the tables in batches (COPY on
PostgreSQL), one transaction per batch, because going through the services would take hours and stamp every
row "now". The simulation runs day by day, store by store, in time order, so every package's on hand is the
sum of its movements after each batch, a package that reaches zero is finished (and reported finished), and
ids grow with time as they do in real use. Same seed and same last day: the same history."""

import dataclasses
import datetime as dt
import hashlib
import heapq
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django.utils import timezone

from compliance.models import IdVerification, PatientRegistration, SyncRecord
from compliance.traceability.base import Operation
from compliance.traceability.metrc import (
    package_finish_object,
    package_unfinish_object,
    receipt_object,
    state_quantity,
    transaction_object,
)
from dispensary.clock import age_on
from dispensary.events import handlers_for
from dispensary.models import AuditRecord, Customer, EventDelivery, Organization, OutboxEvent, Store, User
from dispensary.roles import Role
from inventory.models import (
    IncomingTransfer,
    Package,
    Product,
    ProductLimitAmount,
    StockMovement,
    TransferLine,
    WasteRecord,
    quantity_text,
)
from pos.events import SaleCompleted, SaleRefunded, SaleVoided
from pos.models import (
    DrawerSession,
    Promotion,
    Refund,
    RefundLine,
    Register,
    Sale,
    SaleLine,
    SaleLineDiscount,
    SaleLineTax,
    Tender,
)
from pos.pricing import ZERO, Discount, PriceLine, TaxSpec, line_price, money
from pos.selectors import tax_specs_in_force

ONE = Decimal("1")
HUNDRED = Decimal("100")
BATCH_LINES = 25_000  # sale lines per transaction

# The stores, in order: a state each, with its zone and a city. More stores than these repeat the list.
STORE_PLACES = [
    ("US-CA", "America/Los_Angeles", "Los Angeles", "CA", "90012", "C10-00{n:05d}-LIC", "M10-00{n:05d}-LIC"),
    ("US-MI", "America/Detroit", "Detroit", "MI", "48226", "AU-R-00{n:04d}", "PC-000{n:04d}"),
    ("US-CO", "America/Denver", "Denver", "CO", "80202", "402R-00{n:04d}", "402-00{n:04d}"),
]
HOURS = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
# Sales per hour from 8:00 to 21:00 (the after-work peak), and per weekday from Monday.
HOUR_WEIGHTS = [2, 3, 4, 5, 6, 6, 6, 7, 9, 11, 11, 9, 6, 4]
WEEKDAY_WEIGHTS = [0.85, 0.85, 0.9, 0.95, 1.2, 1.3, 0.95]
# Lines per basket: 1 to 8, most baskets small.
BASKET_SIZES = [1, 2, 3, 4, 5, 6, 7, 8]
BASKET_WEIGHTS = [34, 26, 17, 10, 6, 4, 2, 1]
FIRST_NAMES = (
    "Avery Blake Casey Dana Eli Frankie Gray Harper Indy Jesse Kai Logan Morgan Noel Oakley Parker Quinn Reese "
    "Rowan Sage Taylor Val Wren Alex Jamie Robin Sam Drew Jordan Riley Cameron Emerson Hayden Micah Sawyer"
).split()
LAST_NAMES = (
    "Adams Baker Chen Diaz Evans Flores Garcia Hughes Ito Jones Kim Lopez Martin Nguyen Ortiz Patel Quinn "
    "Rivera Smith Turner Umar Vega Walker Xu Young Zimmer Brooks Carter Foster Hayes Kelly Morris Price Reed"
).split()
CONDITIONS = ["chronic pain", "cancer", "PTSD", "epilepsy", "glaucoma", "multiple sclerosis"]

# The catalog: (category, name, sold by, net amount, net unit, price, limit amounts per unit, thc mg, share).
CATALOG = [
    ("flower", "House Flower 3.5g", "each", "3.5", "g", "35.00", {"flower_g": "3.5"}, None, 9),
    ("flower", "Reserve Flower 3.5g", "each", "3.5", "g", "55.00", {"flower_g": "3.5"}, None, 7),
    ("flower", "Smalls 7g", "each", "7", "g", "45.00", {"flower_g": "7"}, None, 5),
    ("flower", "Bulk Flower (per gram)", "g", None, "", "9.00", {"flower_g": "1"}, None, 5),
    ("flower", "Ounce Special 28g", "each", "28", "g", "120.00", {"flower_g": "28"}, None, 1),
    ("pre_roll", "Pre-roll 1g", "each", "1", "g", "12.00", {"flower_g": "1"}, None, 8),
    ("pre_roll", "Pre-roll 5-pack", "each", "3.5", "g", "30.00", {"flower_g": "3.5"}, None, 5),
    ("pre_roll", "Infused Pre-roll", "each", "1", "g", "18.00", {"concentrate_g": "1"}, None, 3),
    ("vape", "Vape Cartridge 0.5g", "each", "0.5", "g", "30.00", {"concentrate_g": "0.5"}, None, 8),
    ("vape", "Vape Cartridge 1g", "each", "1", "g", "50.00", {"concentrate_g": "1"}, None, 6),
    ("vape", "Disposable Vape 1g", "each", "1", "g", "45.00", {"concentrate_g": "1"}, None, 5),
    ("concentrate", "Live Resin 1g", "each", "1", "g", "40.00", {"concentrate_g": "1"}, None, 4),
    ("concentrate", "Shatter 1g", "each", "1", "g", "25.00", {"concentrate_g": "1"}, None, 3),
    ("edible", "Gummies 100mg", "each", "10", "each", "20.00", {"infused_thc_mg": "100"}, "100", 9),
    ("edible", "Chocolate Bar 100mg", "each", "40", "g", "22.00", {"infused_thc_mg": "100"}, "100", 4),
    ("edible", "Mints 50mg", "each", "20", "each", "15.00", {"infused_thc_mg": "50"}, "50", 3),
    ("beverage", "Seltzer 10mg", "each", "355", "ml", "8.00", {"infused_thc_mg": "10"}, "10", 3),
    ("tincture", "Tincture 300mg", "each", "30", "ml", "45.00", {"infused_thc_mg": "300"}, "300", 2),
    ("topical", "Balm 500mg", "each", "60", "g", "40.00", {"infused_thc_mg": "500"}, "500", 2),
    ("accessory", "Rolling Papers", "each", None, "", "3.00", {}, None, 3),
    ("accessory", "Lighter", "each", None, "", "2.50", {}, None, 2),
    ("accessory", "Glass Pipe", "each", None, "", "25.00", {}, None, 1),
]
BRANDS = ["Golden Coast", "Lake Effect", "Front Range", "Sunset Farms"]
MEAN_QUANTITY = {"each": 1.25, "g": 5.8}  # units (or grams) per line
# Per sale, a conservative cap that every state's limits allow (flower-equivalent grams, edible THC mg).
FLOWER_EQUIVALENT_CAP = Decimal("28")
CONCENTRATE_FACTOR = Decimal("3.5")
THC_MG_CAP = Decimal("800")


def _columns(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


class TableWriter:
    """Rows of one table, buffered and written in bulk: COPY on PostgreSQL, executemany elsewhere, with values
    adapted as Django stores them (JSON as text, times in UTC, decimals exactly)."""

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.table = model._meta.db_table
        fields = _columns(model)
        self.names = [field.column for field in fields]
        self.defaults = {field.attname: self._default(field) for field in fields}
        self.attnames = [field.attname for field in fields]
        self.positions = {name: index for index, name in enumerate(self.attnames)}
        self.template = [self.defaults[name] for name in self.attnames]
        postgres = connection.vendor == "postgresql"
        self.converters: list[tuple[int, Callable]] = []
        operations = connection.ops
        for index, field in enumerate(fields):
            if isinstance(field, models.JSONField):
                self.converters.append((index, _json))
            elif postgres:
                continue
            elif isinstance(field, models.DateTimeField):
                self.converters.append((index, operations.adapt_datetimefield_value))
            elif isinstance(field, models.DateField):
                self.converters.append((index, _isodate))
            elif isinstance(field, models.DecimalField):
                self.converters.append((index, _decimal_text))
            elif isinstance(field, models.UUIDField):
                self.converters.append((index, _uuid_hex))
        self.rows: list[list] = []
        self.written = 0

    @staticmethod
    def _default(field: models.Field):
        if field.primary_key:
            return None
        if field.has_default():
            return field.get_default()
        if field.db_default is not models.NOT_PROVIDED:
            return field.db_default
        if field.null:
            return None
        if isinstance(field, models.CharField | models.TextField):
            return ""
        return None

    def add(self, **values) -> None:
        """A row from its fields by attribute name (`store_id`); the others take their defaults. An unknown
        name is an error, not a value silently dropped."""
        row = self.template.copy()
        positions = self.positions
        for name, value in values.items():
            row[positions[name]] = value
        self.rows.append(row)

    def flush(self) -> None:
        if not self.rows:
            return
        rows = self.rows
        for row in rows:
            for index, convert in self.converters:
                if row[index] is not None:
                    row[index] = convert(row[index])
        columns = ", ".join(connection.ops.quote_name(name) for name in self.names)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.names))
                cursor.executemany(f"INSERT INTO {self.table} ({columns}) VALUES ({marks})", rows)  # noqa: S608
        self.written += len(self.rows)
        self.rows = []


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _isodate(value: dt.date) -> str:
    return value.isoformat()


def _decimal_text(value) -> str:
    return str(value)


def _uuid_hex(value: uuid.UUID) -> str:
    return value.hex


@dataclasses.dataclass(eq=False)  # a package is itself: queues find it by identity
class _Package:
    id: int
    store: "_Store"
    product: "_Product"
    tag: str
    on_hand: Decimal
    status: str = Package.Status.ACTIVE
    new: bool = True


@dataclasses.dataclass
class _Product:
    id: int
    category: str
    sold_by: str
    price: Decimal
    limits: dict[str, Decimal]
    sku: str
    name: str


@dataclasses.dataclass
class _Store:
    index: int
    store: Store
    jurisdiction: str
    registers: list[int]
    staff: list[User]
    manager: User
    customers: list[tuple]  # (id, type, date of birth, card, veteran, phone)
    taxes: list[TaxSpec]
    queues: dict[int, list[_Package]]  # per product: packages with stock, oldest first
    next_tag: int
    events: list = dataclasses.field(
        default_factory=list
    )  # (time, order, kind, data): voids and refunds to come
    drawers: dict[int, int] = dataclasses.field(default_factory=dict)  # register -> drawer of the day
    cash: dict[int, Decimal] = dataclasses.field(default_factory=dict)  # drawer -> cash in (out) of the day
    transfer_id: int | None = None


@dataclasses.dataclass
class HistorySummary:
    organization: Organization
    stores: list[Store]
    sales: int
    lines: int
    voids: int
    refunds: int
    packages: int
    movements: int
    customers: int
    seconds: float

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


class HistoryRefused(Exception):
    pass


class _Ids:
    """Primary keys handed out here (bulk rows are written with their ids, so rows can refer to each other
    before they are written); the sequences are moved past them at the end on PostgreSQL."""

    def __init__(self, models_: list[type[models.Model]]):
        self.next = {
            model: (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
            for model in models_
        }

    def __call__(self, model: type[models.Model]) -> int:
        self.next[model] += 1
        return self.next[model]

    def sync_sequences(self) -> None:
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in self.next:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))"  # noqa: S608
                )


BULK_MODELS = [
    Customer,
    PatientRegistration,
    IncomingTransfer,
    TransferLine,
    Package,
    StockMovement,
    WasteRecord,
    DrawerSession,
    Sale,
    SaleLine,
    SaleLineTax,
    SaleLineDiscount,
    Tender,
    Refund,
    RefundLine,
    IdVerification,
    SyncRecord,
    OutboxEvent,
    EventDelivery,
    AuditRecord,
]


class HistoryGenerator:
    def __init__(
        self,
        *,
        organization: Organization,
        stores: int,
        days: int,
        lines: int,
        seed: int,
        end: dt.date,
        progress: Callable[[str], None] | None = None,
    ):
        self.organization = organization
        self.store_count = stores
        self.days = days
        self.target_lines = lines
        self.seed = seed
        self.end = end
        self.rng = random.Random(seed)
        self.progress = progress
        self.ids = _Ids(BULK_MODELS)
        self.writers = {model: TableWriter(model) for model in BULK_MODELS}
        self.new_packages: list[tuple[_Package, dict]] = []
        self.event_order = 0
        self.price_cache: dict[tuple, object] = {}
        self.dirty: dict[int, _Package] = {}
        self.handlers = {
            name: list(handlers_for(name))
            for name in (SaleCompleted.name, SaleVoided.name, SaleRefunded.name)
        }
        self.counts = {"sales": 0, "lines": 0, "voids": 0, "refunds": 0, "packages": 0, "movements": 0}
        self.state_ids = 0
        self.batch_lines = 0

    # --- Set-up: stores, staff, registers, catalog, promotions, customers (small, through the ORM) ---------

    def _stores(self) -> list[_Store]:
        from guardian.shortcuts import assign_perm

        from dispensary.roles_sync import roles_sync
        from dispensary.services import STORE_ACCESS

        roles_sync()
        groups = {
            group.name: group
            for group in Group.objects.filter(name__in=[Role.MANAGER.value, Role.BUDTENDER.value])
        }
        result = []
        slug = self.organization.slug[:20]
        for index in range(self.store_count):
            jurisdiction, zone, city, region, postal, adult, medical = STORE_PLACES[index % len(STORE_PLACES)]
            number = index + 1
            code = f"{region.lower()}-{number}"
            store, _ = Store.objects.get_or_create(
                organization=self.organization,
                code=code,
                defaults={
                    "name": f"{city} {number}",
                    "license_adult_use": adult.format(n=number),
                    "license_medical": medical.format(n=number),
                    "jurisdiction": jurisdiction,
                    "time_zone": zone,
                    "address_line1": f"{100 + number} Main St",
                    "city": city,
                    "region": region,
                    "postal_code": postal,
                    "opening_hours": HOURS,
                },
            )
            registers = []
            for register_number in range(1, 5):
                register, _ = Register.objects.get_or_create(store=store, name=f"Register {register_number}")
                registers.append(register.pk)
            staff = []
            for role, count in ((Role.MANAGER, 1), (Role.BUDTENDER, 6)):
                for person in range(1, count + 1):
                    user, created = User.objects.get_or_create(
                        username=f"{slug}-{code}-{role.value.lower().replace(' ', '-')}-{person}",
                        defaults={
                            "organization": self.organization,
                            "first_name": FIRST_NAMES[(index * 7 + person) % len(FIRST_NAMES)],
                            "last_name": LAST_NAMES[(index * 5 + person) % len(LAST_NAMES)],
                        },
                    )
                    if created:
                        user.set_unusable_password()
                        user.save(update_fields=["password"])
                        user.groups.add(groups[role.value])
                        assign_perm(STORE_ACCESS, user, store)
                    staff.append((role, user))
            taxes = tax_specs_in_force(jurisdiction=jurisdiction, on=self.end)
            next_tag = Package.objects.filter(store=store).count()
            result.append(
                _Store(
                    index=index,
                    store=store,
                    jurisdiction=jurisdiction,
                    registers=registers,
                    staff=[user for role, user in staff if role == Role.BUDTENDER],
                    manager=next(user for role, user in staff if role == Role.MANAGER),
                    customers=[],
                    taxes=taxes,
                    queues={},
                    next_tag=next_tag,
                )
            )
        return result

    def _catalog(self) -> list[_Product]:
        products = []
        for number, (category, name, sold_by, net, net_unit, price, limits, thc, _) in enumerate(CATALOG):
            brand = BRANDS[number % len(BRANDS)]
            sku = f"HIST-{number:03d}"
            product, created = Product.objects.get_or_create(
                organization=self.organization,
                sku=sku,
                defaults={
                    "name": f"{brand} {name}",
                    "brand": brand,
                    "category": category,
                    "sold_by": sold_by,
                    "net_amount": Decimal(net) if net else None,
                    "net_unit": net_unit,
                    "thc_mg": Decimal(thc) if thc else None,
                    "price": Decimal(price),
                    "reorder_point": Decimal("20") if sold_by == "each" else Decimal("200"),
                },
            )
            if created:
                ProductLimitAmount.objects.bulk_create(
                    ProductLimitAmount(product=product, bucket=bucket, amount=Decimal(amount))
                    for bucket, amount in limits.items()
                )
            products.append(
                _Product(
                    product.pk,
                    product.category,
                    product.sold_by,
                    product.price,
                    {row.bucket: row.amount for row in product.limit_amounts.all()},
                    product.sku,
                    product.name,
                )
            )
        return products

    def _promotions(self) -> dict[str, Promotion]:
        promotions = {}
        for key, name, group, value in (
            ("senior", "Seniors 10% off", Promotion.Group.SENIOR, Decimal("10")),
            ("veteran", "Veterans 15% off", Promotion.Group.VETERAN, Decimal("15")),
        ):
            promotion, _ = Promotion.objects.get_or_create(
                organization=self.organization,
                name=name,
                defaults={"kind": Promotion.Kind.PERCENT, "value": value, "customer_group": group},
            )
            promotions[key] = promotion
        return promotions

    def _customers(self, stores: list[_Store], sales_estimate: int) -> None:
        """About one customer for every eight sales, each with a home store; one in eight a medical patient
        with a card of the store's state, some seniors and veterans."""
        per_store = max(30, sales_estimate // (8 * len(stores)))
        offset = Customer.objects.filter(organization=self.organization).count()
        customers, registrations = self.writers[Customer], self.writers[PatientRegistration]
        joined = dt.datetime.combine(self.end - dt.timedelta(days=self.days + 30), dt.time(12), tzinfo=dt.UTC)
        for store in stores:
            region = store.store.region
            for _ in range(per_store):
                offset += 1
                pk = self.ids(Customer)
                rng = self.rng
                medical = rng.random() < 0.12
                age = rng.choice(
                    (rng.randint(21, 35), rng.randint(21, 45), rng.randint(30, 64), rng.randint(60, 85))
                )
                born = self.end - dt.timedelta(days=age * 365 + rng.randint(0, 364))
                veteran = rng.random() < 0.05
                phone = f"+1{3105550000 + offset}"
                customers.add(
                    id=pk,
                    organization_id=self.organization.pk,
                    phone=phone,
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=rng.choice(LAST_NAMES),
                    date_of_birth=born,
                    city=store.store.city,
                    region=region,
                    postal_code=store.store.postal_code,
                    customer_type=Customer.Type.MEDICAL if medical else Customer.Type.ADULT_USE,
                    home_store_id=store.store.pk,
                    is_veteran=veteran,
                    created_at=joined,
                    updated_at=joined,
                )
                card = ""
                if medical:
                    card = f"{region}-{self.organization.pk:05d}-{offset:07d}"  # unique per state
                    registrations.add(
                        id=self.ids(PatientRegistration),
                        customer_id=pk,
                        card_number=card,
                        state=region,
                        issued_on=self.end - dt.timedelta(days=self.days + rng.randint(1, 300)),
                        expires_on=self.end + dt.timedelta(days=rng.randint(60, 700)),
                        qualifying_conditions=[rng.choice(CONDITIONS)],
                        created_at=joined,
                        updated_at=joined,
                    )
                store.customers.append((pk, medical, born, card, veteran, phone))

    # --- The simulation ------------------------------------------------------------------------------------

    def run(self) -> HistorySummary:
        started = time.perf_counter()
        with transaction.atomic():
            stores = self._stores()
            self.products = self._catalog()
            self.promotions = self._promotions()
        self.product_weights = [entry[-1] for entry in CATALOG]
        # A package holds about one to three weeks of what its product sells at a store: busy stores get
        # bigger deliveries, a small history still sees packages sold out and finished.
        per_day = self.target_lines / (self.store_count * self.days) / sum(self.product_weights)
        self.package_sizes = {}
        for product, weight in zip(self.products, self.product_weights, strict=True):
            daily = per_day * weight * MEAN_QUANTITY[product.sold_by]
            self.package_sizes[product.id] = (max(4, round(7 * daily)), max(8, round(21 * daily)))
        self.stores = stores
        mean_lines = sum(s * w for s, w in zip(BASKET_SIZES, BASKET_WEIGHTS, strict=True)) / sum(
            BASKET_WEIGHTS
        )
        first = self.end - dt.timedelta(days=self.days - 1)
        days = [first + dt.timedelta(days=offset) for offset in range(self.days)]
        weights = [self._day_weight(day, offset) for offset, day in enumerate(days)]
        whole = sum(weights) * len(stores)
        self._customers(stores, int(self.target_lines / mean_lines))
        with transaction.atomic():
            for model in (Customer, PatientRegistration):
                self.writers[model].flush()
        self.actor_labels = {
            user.pk: user.get_username() for store in stores for user in [*store.staff, store.manager]
        }
        expected = 0.0
        for offset, day in enumerate(days):
            for store in stores:
                expected += self.target_lines * weights[offset] / whole
                self._day(store, day, max(0, round(expected) - self.counts["lines"]), mean_lines)
            if self.batch_lines >= BATCH_LINES or offset == len(days) - 1:
                self._flush()
                self._report(started)
        self.ids.sync_sequences()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in BULK_MODELS:
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
        return HistorySummary(
            organization=self.organization,
            stores=[store.store for store in stores],
            sales=self.counts["sales"],
            lines=self.counts["lines"],
            voids=self.counts["voids"],
            refunds=self.counts["refunds"],
            packages=self.counts["packages"],
            movements=self.counts["movements"],
            customers=sum(len(store.customers) for store in stores),
            seconds=time.perf_counter() - started,
        )

    def _report(self, started: float) -> None:
        if self.progress is None:
            return
        elapsed = time.perf_counter() - started
        done = self.counts["lines"]
        percent = 100 * done / self.target_lines if self.target_lines else 100
        self.progress(
            f"{min(percent, 100):5.1f}%  {done:,} sale lines, {self.counts['sales']:,} sales  "
            f"{done / elapsed if elapsed else 0:,.0f} lines/s  {elapsed:.0f} s"
        )

    @staticmethod
    def _day_weight(day: dt.date, offset: int) -> float:
        weight = WEEKDAY_WEIGHTS[day.weekday()] * (1 + 0.15 * offset / 365)  # a growing business
        if (day.month, day.day) == (4, 20):
            weight *= 2.5
        elif day.month == 12 and day.day >= 15:
            weight *= 1.15
        return weight

    def _flush(self) -> None:
        with transaction.atomic():
            for model in BULK_MODELS:
                if model is Package:
                    self._write_packages()
                else:
                    self.writers[model].flush()
        self.batch_lines = 0

    def _write_packages(self) -> None:
        """New packages are inserted as they stand; packages of earlier batches that moved since are updated."""
        writer = self.writers[Package]
        for package, row in self.new_packages:
            writer.add(**row, quantity_on_hand=package.on_hand, status=package.status)
            package.new = False
        self.new_packages = []
        changed = [
            (package.on_hand, package.status, package.id)
            for package in self.dirty.values()
            if not package.new
        ]
        writer.flush()
        self.dirty = {}
        if changed:
            table = Package._meta.db_table
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    values = ", ".join(["(%s::numeric, %s, %s::bigint)"] * len(changed))
                    cursor.execute(
                        f"UPDATE {table} AS p SET quantity_on_hand = v.q, status = v.s "  # noqa: S608
                        f"FROM (VALUES {values}) AS v(q, s, id) WHERE p.id = v.id",
                        [value for row in changed for value in row],
                    )
                else:
                    cursor.executemany(
                        f"UPDATE {table} SET quantity_on_hand = %s, status = %s WHERE id = %s",  # noqa: S608
                        [(str(q), s, pk) for q, s, pk in changed],
                    )

    def _at(self, store: _Store, day: dt.date, seconds: int) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(0), tzinfo=store.store.tz) + dt.timedelta(seconds=seconds)
        return local.astimezone(dt.UTC)

    def _day(self, store: _Store, day: dt.date, quota: int, mean_lines: float) -> None:
        rng = self.rng
        store.transfer_id = None
        store.drawers = {}
        store.cash = {}
        opened = self._at(store, day, 7 * 3600 + 55 * 60)
        for register in store.registers:
            drawer = self.ids(DrawerSession)
            store.drawers[register] = drawer
            store.cash[drawer] = ZERO
        sales = max(0, round(quota / mean_lines))
        hours = rng.choices(range(len(HOUR_WEIGHTS)), weights=HOUR_WEIGHTS, k=sales)
        moments = sorted((8 + hour) * 3600 + rng.randrange(3600) for hour in hours)
        day_end = self._at(store, day, 24 * 3600)
        for seconds in moments:
            at = self._at(store, day, seconds)
            self._due_events(store, at)
            self._sale(store, day, at, day_end)
        self._due_events(store, day_end)
        closed = self._at(store, day, 22 * 3600 + 10 * 60)
        opening = Decimal("200.00")
        for register, drawer in store.drawers.items():
            expected = opening + store.cash[drawer]
            self.writers[DrawerSession].add(
                id=drawer,
                register_id=register,
                store_id=store.store.pk,
                status=DrawerSession.Status.CLOSED,
                opened_by_id=store.manager.pk,
                opened_at=opened,
                opening_amount=opening,
                closed_by_id=store.manager.pk,
                closed_at=closed,
                counted_amount=expected,
                expected_amount=expected,
                over_short=ZERO,
            )

    def _due_events(self, store: _Store, until: dt.datetime) -> None:
        while store.events and store.events[0][0] <= until:
            at, _, kind, data = heapq.heappop(store.events)
            if kind == "void":
                self._void(at, data)
            else:
                self._refund(at, data)

    def _schedule(self, store: _Store, at: dt.datetime, kind: str, data: dict) -> None:
        self.event_order += 1
        heapq.heappush(store.events, (at, self.event_order, kind, data))

    # --- Stock ---------------------------------------------------------------------------------------------

    def _receive(self, store: _Store, product: _Product, day: dt.date) -> _Package:
        rng = self.rng
        if store.transfer_id is None:
            store.transfer_id = self.ids(IncomingTransfer)
            created = self._at(store, day, 7 * 3600)
            self.writers[IncomingTransfer].add(
                id=store.transfer_id,
                store_id=store.store.pk,
                manifest_number=f"{day:%Y%m%d}{store.index:02d}{store.transfer_id % 100000:05d}",
                shipper_license="C11-0000123-LIC",
                shipper_name="Golden State Distribution",
                status=IncomingTransfer.Status.COMPLETED,
                created_by_id=store.manager.pk,
                created_at=created,
                completed_by_id=store.manager.pk,
                completed_at=created + dt.timedelta(minutes=40),
            )
        low, high = self.package_sizes[product.id]
        quantity = Decimal(rng.randint(low, high))
        store.next_tag += 1
        tag = f"1A4{store.index:02d}{self.seed % 1000:03d}{int(product.sku[-3:]):03d}{store.next_tag:013d}"[
            :24
        ]
        package_id = self.ids(Package)
        received = self._at(store, day, 7 * 3600 + 30 * 60 + rng.randrange(600))
        # Harvest batches are shared across the stores: a supplier's lot of a product each fortnight.
        batch = f"HB-{product.sku}-{day.isocalendar().year}{(day.isocalendar().week + 1) // 2:02d}"
        package = _Package(package_id, store, product, tag, ZERO)
        row = dict(
            id=package_id,
            store_id=store.store.pk,
            product_id=product.id,
            tag=tag,
            unit=product.sold_by,
            supplier_license="C11-0000123-LIC",
            supplier_name="Golden State Distribution",
            harvest_batch=batch,
            harvest_date=day - dt.timedelta(days=60),
            packaged_on=day - dt.timedelta(days=20),
            expires_on=day + dt.timedelta(days=365),
            location=Package.Location.SALES_FLOOR,
            lab_status=Package.LabStatus.PASSED,
            quantity_allocated=ZERO,
            received_at=received,
            created_at=received,
        )
        self.new_packages.append((package, row))
        self.writers[TransferLine].add(
            id=self.ids(TransferLine),
            transfer_id=store.transfer_id,
            tag=tag,
            product_id=product.id,
            on_manifest=True,
            expected_quantity=quantity,
            received_quantity=quantity,
            scanned_at=received,
            scanned_by_id=store.manager.pk,
            harvest_batch=batch,
            expires_on=day + dt.timedelta(days=365),
            lab_status=Package.LabStatus.PASSED,
            decision=TransferLine.Decision.ACCEPTED,
            decided_by_id=store.manager.pk,
            package_id=package_id,
        )
        self._move(
            package,
            StockMovement.Kind.RECEIVED,
            quantity,
            received,
            store.manager,
            ("transfer", str(store.transfer_id)),
        )
        store.queues.setdefault(product.id, []).append(package)
        self.counts["packages"] += 1
        return package

    def _move(
        self,
        package: _Package,
        kind: str,
        quantity: Decimal,
        at: dt.datetime,
        actor: User,
        reference,
        reason="",
        note="",
    ) -> int:
        """A movement, and the package's on hand and status as `_movement` keeps them."""
        package.on_hand += quantity
        if package.on_hand == ZERO and package.status == Package.Status.ACTIVE:
            package.status = Package.Status.FINISHED
        elif package.on_hand > ZERO and package.status == Package.Status.FINISHED:
            package.status = Package.Status.ACTIVE
        self.dirty[package.id] = package
        movement = self.ids(StockMovement)
        self.writers[StockMovement].add(
            id=movement,
            package_id=package.id,
            store_id=package.store.store.pk,
            kind=kind,
            quantity=quantity,
            allocated_delta=ZERO,
            actor_id=actor.pk,
            actor_label=self.actor_labels[actor.pk],
            reason=reason,
            note=note,
            reference_type=reference[0],
            reference_id=reference[1],
            created_at=at,
        )
        self.counts["movements"] += 1
        return movement

    def _take(
        self, store: _Store, product: _Product, quantity: Decimal, day: dt.date
    ) -> list[tuple[_Package, Decimal]]:
        """First received, first out (every package of a product expires a year after it arrives)."""
        queue = store.queues.setdefault(product.id, [])
        takes = []
        wanted = quantity
        while wanted > ZERO:
            while queue and queue[0].on_hand <= ZERO:
                queue.pop(0)
            package = queue[0] if queue else self._receive(store, product, day)
            take = min(wanted, package.on_hand)
            takes.append((package, take))
            wanted -= take
            if take == package.on_hand:
                queue.pop(0)
        return takes

    # --- A sale --------------------------------------------------------------------------------------------

    def _price(
        self, store: _Store, product: _Product, quantity: Decimal, percent: Decimal | None, customer_type: str
    ):
        key = (store.jurisdiction, product.id, quantity, percent, customer_type)
        priced = self.price_cache.get(key)
        if priced is None:
            list_amount = money(product.price * quantity)
            off = money(list_amount * percent / HUNDRED) if percent else ZERO
            priced = line_price(
                PriceLine(product.price, quantity, Discount(amount=off), category=product.category),
                store.taxes,
                customer_type,
            )
            self.price_cache[key] = priced
        return priced

    def _basket(self, store: _Store) -> list[tuple[_Product, Decimal]]:
        rng = self.rng
        size = rng.choices(BASKET_SIZES, weights=BASKET_WEIGHTS)[0]
        lines, flower, thc = [], ZERO, ZERO
        for product in rng.choices(self.products, weights=self.product_weights, k=size):
            if product.sold_by == "g":
                quantity = rng.choice(
                    (Decimal("1"), Decimal("3.5"), Decimal("3.5"), Decimal("7"), Decimal("14"))
                )
            else:
                quantity = Decimal(rng.choices((1, 2, 3), weights=(80, 15, 5))[0])
            added_flower = quantity * (
                product.limits.get("flower_g", ZERO)
                + CONCENTRATE_FACTOR * product.limits.get("concentrate_g", ZERO)
            )
            added_thc = quantity * product.limits.get("infused_thc_mg", ZERO)
            if flower + added_flower > FLOWER_EQUIVALENT_CAP or thc + added_thc > THC_MG_CAP:
                continue  # the budtender would have said no
            flower += added_flower
            thc += added_thc
            lines.append((product, quantity))
        return lines

    def _customer(self, store: _Store):
        rng = self.rng
        if rng.random() < 0.18:
            return None  # an anonymous adult-use sale
        customers = store.customers
        # Regulars: a few customers make many of the visits.
        return customers[int(len(customers) * rng.random() ** 2.2)]

    def _sale(self, store: _Store, day: dt.date, at: dt.datetime, day_end: dt.datetime) -> int:
        rng = self.rng
        basket = self._basket(store)
        if not basket:
            return 0
        customer = self._customer(store)
        customer_type = "medical" if customer and customer[1] else "adult_use"
        staff = store.staff[rng.randrange(len(store.staff))]
        register = store.registers[rng.randrange(len(store.registers))]
        sale_id = self.ids(Sale)
        receipt = f"{store.store.code}-{sale_id}"
        age = age_on(customer[2], day) if customer else rng.randint(21, 70)
        promotion, percent, veteran_proof = None, None, ""
        if customer and customer[4]:
            promotion, percent, veteran_proof = self.promotions["veteran"], Decimal("15"), "record"
        elif age >= 65 and rng.random() < 0.8:
            promotion, percent = self.promotions["senior"], Decimal("10")
        lines, event_lines, labels = [], [], []
        totals = {
            "subtotal": ZERO,
            "discount": ZERO,
            "excise": ZERO,
            "state": ZERO,
            "local": ZERO,
            "tax": ZERO,
            "total": ZERO,
        }
        transactions = []
        finished = []
        actor = staff
        for product, quantity in basket:
            priced = self._price(store, product, quantity, percent, customer_type)
            takes = self._take(store, product, quantity, day)
            shares = [take for _, take in takes]
            parts = zip(
                takes,
                _split(priced.list_amount, shares, quantity),
                _split(priced.discount_amount, shares, quantity),
                _split(priced.net_amount, shares, quantity),
                _split(priced.tax_amount, shares, quantity),
                _split(priced.total, shares, quantity),
                zip(*[_split(tax.amount, shares, quantity) for tax in priced.taxes], strict=True)
                if priced.taxes
                else [()] * len(takes),
                strict=True,
            )
            for (package, take), list_amount, discount, net, tax, total, tax_parts in parts:
                line_id = self.ids(SaleLine)
                self.writers[SaleLine].add(
                    id=line_id,
                    sale_id=sale_id,
                    product_id=product.id,
                    package_id=package.id,
                    quantity=take,
                    unit=product.sold_by,
                    unit_price=product.price,
                    list_amount=list_amount,
                    discount_amount=discount,
                    net_amount=net,
                    tax_amount=tax,
                    total=total,
                    limit_amounts={
                        bucket: quantity_text(amount * take) for bucket, amount in product.limits.items()
                    },
                    refunded_quantity=ZERO,
                )
                if discount > ZERO:
                    self.writers[SaleLineDiscount].add(
                        id=self.ids(SaleLineDiscount),
                        line_id=line_id,
                        source=SaleLineDiscount.Source.PROMOTION,
                        name=promotion.name,
                        amount=discount,
                        promotion_id=promotion.pk,
                    )
                by_field: dict[str, Decimal] = {}
                for spec, amount in zip(priced.taxes, tax_parts, strict=True):
                    spec = spec.tax
                    self.writers[SaleLineTax].add(
                        id=self.ids(SaleLineTax),
                        line_id=line_id,
                        tax_rate_id=spec.id,
                        name=spec.name,
                        field=spec.field,
                        level=spec.level,
                        rate=spec.rate,
                        included_in_price=spec.included_in_price,
                        amount=amount,
                    )
                    by_field[spec.field] = by_field.get(spec.field, ZERO) + amount
                    totals[spec.level] += amount
                totals["subtotal"] += list_amount
                totals["discount"] += discount
                totals["tax"] += tax
                totals["total"] += total
                self._move(package, StockMovement.Kind.SOLD, -take, at, actor, ("sale", str(sale_id)))
                if package.on_hand == ZERO:
                    finished.append(package)
                event_line = {
                    "package_id": package.id,
                    "package_label": package.tag,
                    "quantity": quantity_text(take),
                    "unit": product.sold_by,
                    "total_amount": str(net),
                    "discount_amount": str(discount),
                    **{name: str(amount) for name, amount in by_field.items()},
                }
                event_lines.append(event_line)
                lines.append((line_id, package, product, take, net, tax, total, by_field))
                labels.append(package.tag)
                state_amount, state_unit = state_quantity(take, product.sold_by, "")
                transactions.append(
                    transaction_object(
                        package.tag, state_amount, state_unit, net, discount_amount=discount, **by_field
                    )
                )
        drawer = store.drawers[register]
        tender_kind = self._tenders(sale_id, totals["total"], store, drawer)
        verification = self.ids(IdVerification)
        customer_id = customer[0] if customer else None
        self.writers[IdVerification].add(
            id=verification,
            store_id=store.store.pk,
            customer_id=customer_id,
            staff_id=staff.pk,
            method=IdVerification.Method.SCAN,
            id_hash=hashlib.sha256(f"{self.seed}:{customer_id or sale_id}".encode()).hexdigest(),
            issuing_state=store.store.region,
            date_of_birth=customer[2] if customer else day - dt.timedelta(days=age * 365 + 100),
            expires_on=day + dt.timedelta(days=900),
            age=age,
            passed=True,
            problems=[],
            local_date=day,
            created_at=at - dt.timedelta(minutes=3),
        )
        void = rng.random() < 0.004
        refund = None
        if not void and rng.random() < 0.012:
            refund = self._plan_refund(store, lines, at, tender_kind)
        sale_row = {
            "id": sale_id,
            "store_id": store.store.pk,
            "register_id": register,
            "customer_id": customer_id,
            "customer_type": customer_type,
            "staff_id": staff.pk,
            "id_verification_id": verification,
            "status": Sale.Status.COMPLETED,
            "local_date": day,
            "completed_at": at,
            "receipt_number": receipt,
            "idempotency_key": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "subtotal": totals["subtotal"],
            "discount_total": totals["discount"],
            "excise_tax_total": totals["excise"],
            "sales_tax_total": totals["state"],
            "local_tax_total": totals["local"],
            "tax_total": totals["tax"],
            "total": totals["total"],
            "refunded_total": refund["total"] if refund else ZERO,
            "drawer_session_id": drawer,
            "veteran_proof": veteran_proof,
        }
        void_at = None
        if void:
            void_at = min(at + dt.timedelta(minutes=rng.randint(2, 20)), day_end - dt.timedelta(seconds=1))
            sale_row.update(
                status=Sale.Status.VOIDED,
                voided_at=void_at,
                voided_by_id=staff.pk,
                void_approved_by_id=store.manager.pk,
            )
        self.writers[Sale].add(**sale_row)
        license_number = _sale_license(store.store, customer_type)
        event_uuid = self._event(
            SaleCompleted(
                sale_id=sale_id,
                organization_id=self.organization.pk,
                store_id=store.store.pk,
                completed_at=at.isoformat(),
                customer_type=customer_type,
                lines=event_lines,
                customer_id=customer_id,
                patient_license_number=customer[3] if customer and customer_type == "medical" else "",
                receipt_number=receipt,
            ),
            at,
        )
        self._sync(
            store,
            Operation.SALES_RECEIPT_CREATE,
            [
                receipt_object(
                    at,
                    store.store.tz,
                    customer_type,
                    customer[3] if customer and customer_type == "medical" else None,
                    transactions=transactions,
                    external_receipt_number=receipt,
                )
            ],
            [*labels, f"sale:{sale_id}"],
            event_uuid,
            ("sale", str(sale_id)),
            at,
            license_number=license_number,
            external_number=receipt,
        )
        if finished:
            self._sync(
                store,
                Operation.PACKAGE_FINISH,
                [package_finish_object(package.tag, day) for package in finished],
                [package.tag for package in finished],
                event_uuid,
                ("sale", str(sale_id)),
                at,
            )
        self._audit(
            staff,
            "sale.completed",
            "pos.sale",
            sale_id,
            f"Sale {receipt}",
            {
                "receipt_number": receipt,
                "total": str(totals["total"]),
                "customer_type": customer_type,
                "caregiver": None,
                "employee": None,
                "veteran_proof": veteran_proof,
                "lines": len(lines),
                "change_due": "0.00",
            },
            store,
            at,
        )
        self.counts["sales"] += 1
        self.counts["lines"] += len(lines)
        self.batch_lines += len(lines)
        if void:
            self.counts["voids"] += 1
            self._schedule(
                store,
                void_at,
                "void",
                {
                    "store": store,
                    "sale_id": sale_id,
                    "receipt": receipt,
                    "lines": lines,
                    "staff": staff,
                    "license": license_number,
                    "labels": labels,
                },
            )
        if refund:
            refund.update(
                store=store,
                sale_id=sale_id,
                receipt=receipt,
                staff=staff,
                register=register,
                license=license_number,
                labels=labels,
                event_lines=event_lines,
            )
            self._schedule(store, refund["at"], "refund", refund)
        return len(lines)

    def _tenders(self, sale_id: int, total: Decimal, store: _Store, drawer: int) -> str:
        rng = self.rng
        writer = self.writers[Tender]
        if rng.random() < 0.55:
            writer.add(
                id=self.ids(Tender),
                sale_id=sale_id,
                kind="card",
                amount=total,
                applied=total,
                reference=f"AUTH{rng.randrange(10**6):06d}",
            )
            return "card"
        if rng.random() < 0.06 and total > Decimal("20"):
            card = money(total / 2)
            writer.add(
                id=self.ids(Tender),
                sale_id=sale_id,
                kind="card",
                amount=card,
                applied=card,
                reference=f"AUTH{rng.randrange(10**6):06d}",
            )
            total -= card
        handed = total if rng.random() < 0.2 else Decimal(int((total + 19) // 20 * 20))
        writer.add(
            id=self.ids(Tender),
            sale_id=sale_id,
            kind="cash",
            amount=handed,
            applied=total,
            change_due=handed - total,
        )
        store.cash[drawer] += total
        return "cash"

    def _plan_refund(self, store: _Store, lines, at: dt.datetime, tender_kind: str) -> dict | None:
        """A line brought back within two weeks: the whole line or one unit of it, to stock or to waste."""
        rng = self.rng
        at = at + dt.timedelta(days=rng.randint(1, 14), minutes=rng.randint(0, 50))
        if timezone.localtime(at, store.store.tz).date() > self.end:
            return None
        line_id, package, product, take, net, tax, total, by_field = lines[rng.randrange(len(lines))]
        quantity = take if (take <= 1 or rng.random() < 0.6) else ONE
        if product.sold_by == "each":
            quantity = quantity.to_integral_value()
        after = take - quantity
        refund = {
            "at": at,
            "line": lines[[line[0] for line in lines].index(line_id)],
            "quantity": quantity,
            "restock": rng.random() < 0.6,
            "tender_kind": tender_kind,
            "net": net - _share(net, after, take),
            "tax": tax - _share(tax, after, take),
            "total": total - _share(total, after, take),
            "remaining": after,
            "other_lines": [line for line in lines if line[0] != line_id],
        }
        # The sale row is written now with the refund it will have: set the line's refunded quantity too.
        writer = self.writers[SaleLine]
        row = next(row for row in reversed(writer.rows) if row[writer.positions["id"]] == line_id)
        row[writer.positions["refunded_quantity"]] = quantity
        return refund

    def _event(self, event, at: dt.datetime) -> uuid.UUID:
        event_id = self.ids(OutboxEvent)
        # Unique across organizations made with the same seed: the organization is mixed in.
        event_uuid = uuid.UUID(int=self.rng.getrandbits(128) ^ self.organization.pk, version=4)
        self.writers[OutboxEvent].add(
            id=event_id,
            uuid=event_uuid,
            name=event.name,
            version=event.version,
            organization_id=self.organization.pk,
            payload=dict(vars(event)),  # shallow: the lines are plain dicts already
            created_at=at,
        )
        done = at + dt.timedelta(seconds=2)
        for handler in self.handlers[event.name]:
            self.writers[EventDelivery].add(
                id=self.ids(EventDelivery),
                event_id=event_id,
                handler=handler,
                status=EventDelivery.Status.SUCCEEDED,
                attempts=1,
                next_attempt_at=at,
                last_attempt_at=done,
                succeeded_at=done,
                created_at=at,
            )
        return event_uuid

    def _sync(
        self,
        store: _Store,
        kind: Operation,
        payload,
        order_keys,
        event_uuid,
        reference,
        at,
        *,
        license_number="",
        external_number="",
    ) -> None:
        self.state_ids += 1
        sent = at + dt.timedelta(seconds=3)
        self.writers[SyncRecord].add(
            id=self.ids(SyncRecord),
            store_id=store.store.pk,
            license_number=license_number or store.store.license_adult_use or store.store.license_medical,
            kind=kind.value,
            payload=payload,
            order_keys=order_keys,
            status=SyncRecord.Status.ACCEPTED,
            attempts=1,
            state_answer={
                "ids": [self.state_ids] if kind == Operation.SALES_RECEIPT_CREATE else [],
                "warnings": [],
            },
            source_event=event_uuid,
            reference_type=reference[0],
            reference_id=reference[1],
            external_number=external_number,
            created_at=at + dt.timedelta(seconds=2),
            sent_at=sent,
            accepted_at=sent,
        )

    def _audit(
        self,
        actor: User,
        action: str,
        object_type: str,
        object_id: int,
        text: str,
        after: dict,
        store: _Store,
        at: dt.datetime,
        before=None,
    ) -> None:
        self.writers[AuditRecord].add(
            id=self.ids(AuditRecord),
            organization_id=self.organization.pk,
            store_id=store.store.pk,
            actor_id=actor.pk,
            actor_label=self.actor_labels[actor.pk],
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=text,
            before=before,
            after=after,
            created_at=at,
        )

    # --- Voids and refunds (later the same day, or days later) ---------------------------------------------

    def _put_back(self, store: _Store, package: _Package, quantity: Decimal, at, actor, reference) -> bool:
        """Returned stock goes back on its package; a finished package is active again and sells first."""
        was_empty = package.on_hand == ZERO
        self._move(package, StockMovement.Kind.RETURNED, quantity, at, actor, reference)
        queue = store.queues.setdefault(package.product.id, [])
        if package not in queue:
            queue.insert(0, package)
        return was_empty

    def _void(self, at: dt.datetime, data: dict) -> None:
        store, sale_id = data["store"], data["sale_id"]
        refilled = []
        for _, package, _, take, *_ in data["lines"]:
            if self._put_back(store, package, take, at, data["staff"], ("sale", str(sale_id))):
                refilled.append(package.tag)
        event_uuid = self._event(
            SaleVoided(
                sale_id=sale_id,
                organization_id=self.organization.pk,
                store_id=store.store.pk,
                voided_at=at.isoformat(),
            ),
            at,
        )
        if refilled:
            self._sync(
                store,
                Operation.PACKAGE_UNFINISH,
                [package_unfinish_object(tag) for tag in refilled],
                refilled,
                event_uuid,
                ("sale", str(sale_id)),
                at,
            )
        self._sync(
            store,
            Operation.SALES_RECEIPT_VOID,
            [{"Id": self.state_ids}],
            [*data["labels"], f"sale:{sale_id}"],
            event_uuid,
            ("sale", str(sale_id)),
            at,
            license_number=data["license"],
        )
        self._audit(
            data["staff"],
            "sale.voided",
            "pos.sale",
            sale_id,
            f"Sale {data['receipt']}",
            {"status": Sale.Status.VOIDED, "approved_by": store.manager.get_username()},
            store,
            at,
            before={"status": Sale.Status.COMPLETED},
        )

    def _refund(self, at: dt.datetime, data: dict) -> None:
        store, sale_id = data["store"], data["sale_id"]
        line_id, package, product, take, *_ = data["line"]
        quantity = data["quantity"]
        refund_id = self.ids(Refund)
        reference = ("refund", str(refund_id))
        reason = "Customer return"
        cash = data["tender_kind"] == "cash"
        drawer = store.drawers.get(data["register"]) if cash else None
        if drawer is not None and drawer in store.cash:
            store.cash[drawer] -= data["total"]
        self.writers[Refund].add(
            id=refund_id,
            sale_id=sale_id,
            tender_kind=data["tender_kind"],
            drawer_session_id=drawer,
            reason=reason,
            actor_id=data["staff"].pk,
            approved_by_id=store.manager.pk,
            net_amount=data["net"],
            tax_amount=data["tax"],
            total=data["total"],
            created_at=at,
        )
        refilled = self._put_back(store, package, quantity, at, data["staff"], reference)
        waste = None
        if not data["restock"]:
            note = f"Refund {refund_id} of sale {data['receipt']}: {reason}"
            movement = self._move(
                package,
                StockMovement.Kind.WASTED,
                -quantity,
                at,
                data["staff"],
                reference,
                reason="damaged",
                note=note,
            )
            waste = self.ids(WasteRecord)
            self.writers[WasteRecord].add(
                id=waste,
                package_id=package.id,
                store_id=store.store.pk,
                movement_id=movement,
                quantity=quantity,
                reason="damaged",
                actor_id=data["staff"].pk,
                note=note,
                created_at=at,
            )
            if package.on_hand == ZERO:
                queue = store.queues.get(product.id, [])
                if package in queue:
                    queue.remove(package)
        self.writers[RefundLine].add(
            id=self.ids(RefundLine),
            refund_id=refund_id,
            sale_line_id=line_id,
            quantity=quantity,
            restock=data["restock"],
            net_amount=data["net"],
            tax_amount=data["tax"],
            total=data["total"],
            waste_record_id=waste,
        )
        remaining = [
            line
            for line in data["event_lines"]
            if line["package_id"] != package.id or data["remaining"] > ZERO
        ]
        event_uuid = self._event(
            SaleRefunded(
                sale_id=sale_id,
                organization_id=self.organization.pk,
                store_id=store.store.pk,
                refund_id=refund_id,
                refunded_at=at.isoformat(),
                remaining_lines=remaining,
            ),
            at,
        )
        if refilled and not waste:
            self._sync(
                store,
                Operation.PACKAGE_UNFINISH,
                [package_unfinish_object(package.tag)],
                [package.tag],
                event_uuid,
                reference,
                at,
            )
        keys = [*data["labels"], f"sale:{sale_id}"]
        if remaining:
            self._sync(
                store,
                Operation.SALES_RECEIPT_UPDATE,
                [{"Transactions": len(remaining)}],
                keys,
                event_uuid,
                ("sale", str(sale_id)),
                at,
                license_number=data["license"],
            )
        else:
            self._sync(
                store,
                Operation.SALES_RECEIPT_VOID,
                [{"Id": self.state_ids}],
                keys,
                event_uuid,
                ("sale", str(sale_id)),
                at,
                license_number=data["license"],
            )
        self._audit(
            data["staff"],
            "sale.refunded",
            "pos.sale",
            sale_id,
            f"Sale {data['receipt']}",
            {
                "refund_id": refund_id,
                "total": str(data["total"]),
                "reason": reason,
                "approved_by": store.manager.get_username(),
            },
            store,
            at,
        )
        self.counts["refunds"] += 1


def _split(amount: Decimal, shares: list[Decimal], whole: Decimal) -> list[Decimal]:
    """`amount` in parts proportional to `shares` (which sum to `whole`); the last part takes the rounding, as
    the sale service splits a line served by two packages."""
    if len(shares) == 1:
        return [amount]
    parts, left = [], amount
    for share in shares[:-1]:
        part = money(amount * share / whole)
        parts.append(part)
        left -= part
    return [*parts, left]


def _share(amount: Decimal, quantity: Decimal, of: Decimal) -> Decimal:
    return amount if quantity == of else money(amount * quantity / of)


def _sale_license(store: Store, customer_type: str) -> str:
    if customer_type == "medical":
        return store.license_medical or store.license_adult_use
    return store.license_adult_use or store.license_medical


def history_generate(
    *,
    organization_slug: str,
    stores: int,
    days: int,
    lines: int,
    seed: int,
    end: dt.date,
    allow_existing_sales: bool = False,
    progress: Callable[[str], None] | None = None,
) -> HistorySummary:
    """Make the history in the organization `organization_slug` (created when missing). Refuses an
    organization that already has sales unless `allow_existing_sales`."""
    if stores < 1 or days < 1 or lines < 1:
        raise HistoryRefused("Ask for at least one store, one day and one sale line.")
    organization, _ = Organization.objects.get_or_create(
        slug=organization_slug, defaults={"name": organization_slug.replace("-", " ").title()}
    )
    if not allow_existing_sales and Sale.objects.filter(store__organization=organization).exists():
        raise HistoryRefused(
            f"The organization {organization.slug!r} already has sales; choose another or say --allow-existing-sales."
        )
    generator = HistoryGenerator(
        organization=organization,
        stores=stores,
        days=days,
        lines=lines,
        seed=seed,
        end=end,
        progress=progress,
    )
    summary = generator.run()
    _analyze_written()
    return summary


# The tables a history fills in bulk. Autovacuum analyzes a million new rows when it gets to them; until then the
# planner may choose a report's plan from statistics of nearly empty tables (the year's sales report took 1.8 s
# in one bench run and 6.9 s in another), so the generator gathers them itself.
HISTORY_MODELS = (
    Sale,
    SaleLine,
    SaleLineTax,
    SaleLineDiscount,
    Tender,
    Refund,
    RefundLine,
    StockMovement,
    Package,
    IncomingTransfer,
    TransferLine,
    WasteRecord,
    Customer,
    IdVerification,
    PatientRegistration,
    SyncRecord,
    AuditRecord,
    OutboxEvent,
    EventDelivery,
)


def _analyze_written() -> None:
    """Fresh planner statistics of the tables the history filled (PostgreSQL; SQLite plans without them)."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in HISTORY_MODELS)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")  # noqa: S608 - table names from the models


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
