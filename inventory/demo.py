"""Inventory demo data: about 60 products across the categories, packages with lab results in both demo stores
(one expired and one failed-lab package that are never offered for sale), and a pending incoming transfer
with one discrepancy. Idempotent: products by SKU, packages by tag, the transfer by manifest number."""

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from dispensary.demo import ORG_SLUG
from dispensary.models import Organization, Store
from inventory.models import IncomingTransfer, LabResult, Package, Product, ProductLimitAmount, TransferLine
from inventory.services.receiving import transfer_import_csv, transfer_scan
from inventory.services.stock import Reference, package_receive

D = Decimal
BRANDS = (
    "Coastal Farms",
    "Glass House",
    "Pacific Stone",
    "Sunset Valley",
    "Great Lakes Grown",
    "North Shore",
)
STRAINS = (
    "Blue Dream",
    "OG Kush",
    "Sour Diesel",
    "Gelato",
    "Wedding Cake",
    "GSC",
    "Granddaddy Purple",
    "Pineapple Express",
    "Jack Herer",
    "Zkittlez",
    "Gorilla Glue",
    "Runtz",
    "Durban Poison",
    "Harlequin",
    "ACDC",
)

# (category, name pattern, sold_by, net amount, net unit, price, buckets per unit, THC mg per unit)
TEMPLATES = [
    ("flower", "{strain} 3.5g", "each", "3.5", "g", "42.00", {"flower_g": "3.5"}, None),
    ("flower", "{strain} 7g", "each", "7", "g", "75.00", {"flower_g": "7"}, None),
    ("flower", "{strain} 14g", "each", "14", "g", "130.00", {"flower_g": "14"}, None),
    ("flower", "{strain} bulk", "g", "1", "g", "11.50", {"flower_g": "1"}, None),
    ("pre_roll", "{strain} pre-roll 1g", "each", "1", "g", "12.00", {"flower_g": "1"}, None),
    ("pre_roll", "{strain} pre-roll 5-pack", "each", "2.5", "g", "35.00", {"flower_g": "2.5"}, None),
    ("vape", "{strain} cartridge 0.5g", "each", "0.5", "g", "35.00", {"concentrate_g": "0.5"}, None),
    ("vape", "{strain} disposable 1g", "each", "1", "g", "55.00", {"concentrate_g": "1"}, None),
    ("concentrate", "{strain} live resin 1g", "each", "1", "g", "50.00", {"concentrate_g": "1"}, None),
    ("concentrate", "{strain} shatter 1g", "each", "1", "g", "38.00", {"concentrate_g": "1"}, None),
    ("edible", "{strain} gummies 10x10mg", "each", "100", "mg", "22.00", {"infused_thc_mg": "100"}, "100"),
    ("edible", "Dark chocolate bar 100mg", "each", "100", "mg", "25.00", {"infused_thc_mg": "100"}, "100"),
    ("tincture", "{strain} tincture 30ml", "each", "30", "ml", "48.00", {"infused_thc_mg": "300"}, "300"),
    ("topical", "Relief balm 2oz", "each", "56", "g", "36.00", {"infused_thc_mg": "200"}, "200"),
    ("beverage", "Sparkling lemon 10mg", "each", "355", "ml", "6.00", {"infused_thc_mg": "10"}, "10"),
    ("accessory", "Glass spoon pipe", "each", None, "", "18.00", {}, None),
    ("accessory", "Rolling papers king size", "each", None, "", "3.00", {}, None),
    ("seeds_clones", "{strain} seeds 5-pack", "each", "5", "each", "45.00", {"seeds": "5"}, None),
    ("seeds_clones", "{strain} clone", "each", "1", "each", "20.00", {"immature_plants": "1"}, None),
]


def _products(organization: Organization, rng: random.Random) -> list[Product]:
    products = []
    index = 0
    while len(products) < 60:
        template = TEMPLATES[index % len(TEMPLATES)]
        index += 1
        category, pattern, sold_by, net, unit, price, buckets, thc_mg = template
        strain = STRAINS[index % len(STRAINS)]
        sku = f"DEMO-{index:03d}"
        thc_percent = (
            None
            if category in ("accessory", "edible", "beverage", "topical", "tincture")
            else D(
                f"{rng.uniform(15, 31):.1f}"
                if category in ("flower", "pre_roll")
                else f"{rng.uniform(65, 90):.1f}"
            )
        )
        product, created = Product.objects.get_or_create(
            organization=organization,
            sku=sku,
            defaults={
                "name": pattern.format(strain=strain),
                "brand": BRANDS[index % len(BRANDS)],
                "category": category,
                "strain": strain if "{strain}" in pattern else "",
                "sold_by": sold_by,
                "net_amount": D(net) if net else None,
                "net_unit": unit,
                "thc_percent": thc_percent,
                "cbd_percent": D("0.8") if thc_percent else None,
                "thc_mg": D(thc_mg) if thc_mg else None,
                "price": D(price),
                "barcode": _ean13(f"85000{index:07d}"),
                "state_item_name": pattern.format(strain=strain),
                "state_item_category": category.replace("_", " ").title(),
                "reorder_point": D("50") if sold_by == "g" else D("5"),
            },
        )
        if created:
            ProductLimitAmount.objects.bulk_create(
                [
                    ProductLimitAmount(product=product, bucket=bucket, amount=D(amount))
                    for bucket, amount in buckets.items()
                ]
            )
        products.append(product)
    return products


def _ean13(body: str) -> str:
    digits = [int(d) for d in body]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return body + str((10 - total % 10) % 10)


def _tag(store_index: int, number: int) -> str:
    return f"1A4FF0{store_index}00000022000{number:06d}"


# The demo's stock arrived two weeks before the load; its sales (pos.demo) are of the last four days.
RECEIVED_DAYS_AGO = 14


def _received_at():
    return timezone.now() - dt.timedelta(days=RECEIVED_DAYS_AGO)


def _stock(store: Store, store_index: int, products: list[Product], rng: random.Random) -> int:
    added = 0
    today = timezone.localdate()
    for number, product in enumerate(products, start=1):
        tag = _tag(store_index, number)
        if Package.objects.filter(store=store, tag=tag).exists():
            continue
        if product.category == "accessory":
            lab = None
        else:
            lab = "passed"
        quantity = D(rng.randint(200, 900)) if product.sold_by == "g" else D(rng.randint(4, 40))
        expires = (
            today + dt.timedelta(days=rng.randint(200, 500))
            if product.category not in ("accessory",)
            else None
        )
        package_receive(
            store=store,
            product=product,
            tag=tag,
            quantity=quantity,
            actor=None,
            reference=Reference("demo", "initial-stock"),
            location=Package.Location.SALES_FLOOR,
            received_at=_received_at(),
            supplier_license="C11-0000001-LIC" if store.jurisdiction == "US-CA" else "AU-P-000111",
            supplier_name=product.brand,
            harvest_batch=f"HB-{store_index}{number % 12:02d}",
            harvest_date=today - dt.timedelta(days=rng.randint(50, 150)),
            packaged_on=today - dt.timedelta(days=rng.randint(RECEIVED_DAYS_AGO + 1, 45)),
            expires_on=expires,
            lab_status=lab or Package.LabStatus.PENDING,
        )
        added += 1
    return added


def _lab_results(store: Store) -> None:
    for package in Package.objects.filter(
        store=store, lab_status__in=["passed", "failed"], lab_results__isnull=True
    ):
        failed = package.lab_status == "failed"
        LabResult.objects.create(
            package=package,
            lab_name="SC Labs" if store.jurisdiction == "US-CA" else "Iron Labs",
            lab_license="C8-0000012-LIC",
            tested_on=package.packaged_on or timezone.localdate(),
            thc_percent=package.product.thc_percent,
            cbd_percent=package.product.cbd_percent,
            tests={
                "potency": "pass",
                "pesticides": "pass",
                "microbials": "fail" if failed else "pass",
                "heavy_metals": "pass",
                "residual_solvents": "pass",
                "moisture": "pass",
            },
            passed=not failed,
        )


def _special_packages(store: Store, store_index: int, products: list[Product]) -> int:
    """One expired and one failed-lab package per store: visible in stock, never offered for sale."""
    flower = next(p for p in products if p.category == "flower" and p.sold_by == "each")
    specials = [
        (
            _tag(store_index, 901),
            {"expires_on": timezone.localdate() - dt.timedelta(days=30), "lab_status": "passed"},
        ),
        (
            _tag(store_index, 902),
            {"expires_on": timezone.localdate() + dt.timedelta(days=300), "lab_status": "failed"},
        ),
    ]
    added = 0
    for tag, fields in specials:
        if not Package.objects.filter(store=store, tag=tag).exists():
            added += 1
            package_receive(
                store=store,
                product=flower,
                tag=tag,
                quantity=D(12),
                actor=None,
                reference=Reference("demo", "initial-stock"),
                location=Package.Location.SALES_FLOOR,
                received_at=_received_at(),
                supplier_name=flower.brand,
                harvest_batch=f"HB-{store_index}99",
                **fields,
            )
    return added


def _pending_transfer(store: Store, products: list[Product]) -> None:
    manifest = "0001234567"
    if IncomingTransfer.objects.filter(store=store, manifest_number=manifest).exists():
        return
    chosen = [p for p in products if p.sold_by == "each" and p.category != "accessory"][:3]
    today = timezone.localdate()
    dates = (
        f"{today - dt.timedelta(days=60)},{today - dt.timedelta(days=10)},{today + dt.timedelta(days=365)}"
    )
    rows = "".join(
        f"{manifest},C11-0000001-LIC,Coastal Farms,{_tag(9, 100 + i)},{p.sku},{qty},HB-77,{dates},passed\n"
        for i, (p, qty) in enumerate(zip(chosen, (24, 12, 30), strict=True))
    )
    header = "manifest_number,shipper_license,shipper_name,tag,sku,quantity,harvest_batch,harvest_date,packaged_on,expires_on,lab_status\n"
    transfer = transfer_import_csv(store=store, content=header + rows, actor=None)
    lines = list(TransferLine.objects.filter(transfer=transfer).order_by("id"))
    transfer_scan(transfer=transfer, tag=lines[0].tag, actor=None)  # as expected
    transfer_scan(
        transfer=transfer, tag=lines[1].tag, quantity="10", actor=None
    )  # two short: the discrepancy


@transaction.atomic
def demo_load() -> dict[str, int]:
    organization = Organization.objects.filter(slug=ORG_SLUG).first()
    if organization is None:
        return {}
    rng = random.Random(710)
    before_products = Product.objects.filter(organization=organization).count()
    products = _products(organization, rng)
    added_packages = 0
    for store_index, store in enumerate(
        Store.objects.filter(organization=organization).order_by("code"), start=1
    ):
        added_packages += _stock(store, store_index, products, random.Random(store_index))
        added_packages += _special_packages(store, store_index, products)
        _lab_results(store)
        if store.jurisdiction == "US-CA":
            _pending_transfer(store, products)
    return {
        "products": Product.objects.filter(organization=organization).count() - before_products,
        "packages": added_packages,
    }
