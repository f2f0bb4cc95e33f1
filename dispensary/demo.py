"""Demo data for the embedded default: one organization with a California and a Michigan store, staff for
every role and 200 plausible customers. Idempotent: a second run finds everything and adds nothing."""

import datetime as dt
import random
from dataclasses import dataclass

import phonenumbers
from django.db import transaction

from dispensary.errors import DuplicateCustomer
from dispensary.models import Customer, Organization, Store, User
from dispensary.roles import Role
from dispensary.services import customer_create, staff_create, staff_grant_store

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed for the demo logins; never used in production
ORG_SLUG = "emerald-coast"
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

STORES = [
    {
        "code": "sf-mission",
        "name": "Emerald Coast Mission",
        "license_adult_use": "C10-0000123-LIC",
        "license_medical": "C10-0000123-LIC",
        "jurisdiction": "US-CA",
        "time_zone": "America/Los_Angeles",
        "address_line1": "2301 Mission St",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94110",
        "latitude": "37.760310",
        "longitude": "-122.419200",
        "phone": "+14155550100",
        "opening_hours": {day: [["08:00", "22:00"]] for day in WEEK},
    },
    {
        "code": "detroit-riverside",
        "name": "Emerald Coast Riverside",
        "license_adult_use": "AU-R-000456",
        "license_medical": "PC-000789",
        "jurisdiction": "US-MI",
        "time_zone": "America/Detroit",
        "address_line1": "1500 W Jefferson Ave",
        "city": "Detroit",
        "region": "MI",
        "postal_code": "48216",
        "latitude": "42.323500",
        "longitude": "-83.066400",
        "phone": "+13135550100",
        "opening_hours": {
            **{day: [["09:00", "21:00"]] for day in WEEK[:5]},
            "sat": [["10:00", "21:00"]],
            "sun": [["10:00", "18:00"]],
        },
    },
]


@dataclass(frozen=True)
class DemoStaff:
    username: str
    first_name: str
    last_name: str
    role: Role
    stores: tuple[str, ...]


STAFF = [
    DemoStaff("owner", "Olivia", "Owens", Role.OWNER, ("sf-mission", "detroit-riverside")),
    DemoStaff("manager", "Marcus", "Reyes", Role.MANAGER, ("sf-mission", "detroit-riverside")),
    DemoStaff("compliance", "Carla", "Nguyen", Role.COMPLIANCE_OFFICER, ("sf-mission", "detroit-riverside")),
    DemoStaff("inventory", "Ivan", "Petrov", Role.INVENTORY_MANAGER, ("sf-mission",)),
    DemoStaff("budtender", "Bella", "Torres", Role.BUDTENDER, ("sf-mission",)),
    DemoStaff("budtender.mi", "Ben", "Walker", Role.BUDTENDER, ("detroit-riverside",)),
    DemoStaff("driver", "Dante", "Brooks", Role.DRIVER, ("sf-mission",)),
    DemoStaff("driver.sf2", "Rosa", "Alvarez", Role.DRIVER, ("sf-mission",)),
    DemoStaff("driver.mi", "Jamal", "Carter", Role.DRIVER, ("detroit-riverside",)),
]

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Christopher Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Donald Ashley "
    "Steven Kimberly Andrew Emily Joshua Donna Kenneth Michelle Kevin Carol Brian Amanda Timothy Melissa Ronald "
    "Deborah Jason Stephanie George Rebecca Maria Luis Sofia Mateo Aisha Hiroshi Mei Priya Arjun Fatima Omar"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts Chen Patel Kim Okafor Kowalski Haddad Tanaka Silva Novak"
).split()
AREAS = {"US-CA": ("415", "510", "628", "650"), "US-MI": ("313", "248", "734", "586")}
STREETS = ("Valencia St", "Oak Ave", "Maple Dr", "Cedar Ln", "Lakeview Rd", "Park Blvd", "Pine St", "Elm Ct")


def _phone(rng: random.Random, jurisdiction: str) -> str:
    while True:
        candidate = f"+1{rng.choice(AREAS[jurisdiction])}{rng.randint(200, 989)}{rng.randint(0, 9999):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate, None)):
            return candidate


def _customers(stores: dict[str, Store], count: int = 200):
    rng = random.Random(420)  # fixed seed: the same 200 customers on every machine
    today = dt.date(2026, 1, 1)
    for index in range(count):
        store = stores["sf-mission"] if index % 2 == 0 else stores["detroit-riverside"]
        medical = rng.random() < 0.18
        # Adult-use customers are 21+; some medical patients are 18-20.
        age = rng.randint(18, 20) if medical and rng.random() < 0.2 else rng.randint(21, 78)
        dob = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        yield (
            store,
            {
                "phone": _phone(rng, store.jurisdiction),
                "first_name": first,
                "last_name": last,
                "date_of_birth": dob,
                "email": f"{first}.{last}{index}@example.com".lower() if rng.random() < 0.8 else "",
                "address_line1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
                "city": store.city,
                "region": store.region,
                "postal_code": store.postal_code,
                "customer_type": Customer.Type.MEDICAL if medical else Customer.Type.ADULT_USE,
                "home_store": store,
            },
        )


@transaction.atomic
def demo_load() -> dict[str, int]:
    """Create whatever of the demo is missing; returns how many rows of each kind were added."""
    from dispensary.roles_sync import roles_sync

    roles_sync()
    added = {"organizations": 0, "stores": 0, "staff": 0, "customers": 0}
    organization, created = Organization.objects.get_or_create(
        slug=ORG_SLUG, defaults={"name": "Emerald Coast Collective"}
    )
    added["organizations"] += created
    stores = {}
    for spec in STORES:
        store, created = Store.objects.get_or_create(
            organization=organization,
            code=spec["code"],
            defaults={k: v for k, v in spec.items() if k != "code"},
        )
        stores[store.code] = store
        added["stores"] += created
    for member in STAFF:
        user = User.objects.filter(username=member.username).first()
        if user is None:
            staff_create(
                organization=organization,
                actor=None,
                username=member.username,
                password=DEMO_PASSWORD,
                roles=[member.role],
                stores=[stores[code] for code in member.stores],
                first_name=member.first_name,
                last_name=member.last_name,
                email=f"{member.username}@emerald-coast.example",
            )
            added["staff"] += 1
        else:
            for code in member.stores:
                if not user.has_perm("dispensary.access_store", stores[code]):
                    staff_grant_store(user=user, store=stores[code], actor=None)
    existing = set(Customer.objects.filter(organization=organization).values_list("phone", flat=True))
    for store, fields in _customers(stores):
        if fields["phone"] in existing:
            continue
        try:
            customer_create(organization=organization, actor=None, store=store, **fields)
        except DuplicateCustomer:
            continue
        added["customers"] += 1
    return added
