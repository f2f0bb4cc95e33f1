"""The jurisdiction rules shipped as data: CA, CO, MI, MA, NV, IL, OK.

Figures come from the statutes and regulations as known when written; `confirmed=False` rows (and every note)
say what still needs a check against the source text. Rows are edited in the admin afterwards; this migration
only seeds a fresh database and removes exactly what it added when reversed.

Ounces are 28.349523125 g (rounded to the milligram) except where a state's equivalency is written around a
28 g ounce (Colorado, Massachusetts) so that the factors stay exact."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

OUNCE = Decimal("28.349523125")


def oz(count: str) -> Decimal:
    return (Decimal(count) * OUNCE).quantize(Decimal("0.001"))


D = dt.date
U = "unconfirmed"

JURISDICTIONS = [
    # code, name, zone, adult use legal, medical legal
    ("US-CA", "California", "America/Los_Angeles", True, True),
    ("US-CO", "Colorado", "America/Denver", True, True),
    ("US-MI", "Michigan", "America/Detroit", True, True),
    ("US-MA", "Massachusetts", "America/New_York", True, True),
    ("US-NV", "Nevada", "America/Los_Angeles", True, True),
    ("US-IL", "Illinois", "America/Chicago", True, True),
    ("US-OK", "Oklahoma", "America/Chicago", False, True),
]

# Each limit: jurisdiction, customer type, label, unit, amount, window, window days, terms {bucket: factor},
# effective from, effective to, citation, confirmed, note; optional residency, age_min, age_max.
LIMITS = [
    # California: 4 CCR 15409, a "single day" is the retailer's local day.
    dict(
        j="US-CA", type="adult_use", label="non-concentrated cannabis", unit="g", amount="28.5",
        window="local_day", terms={"flower_g": 1}, since=D(2018, 1, 1),
        citation="Cal. Code Regs., tit. 4, § 15409(a)(1)", confirmed=True,
        note="28.5 grams of non-concentrated cannabis per customer per day.",
    ),
    dict(
        j="US-CA", type="adult_use", label="concentrate", unit="g", amount="8",
        window="local_day", terms={"concentrate_g": 1}, since=D(2018, 1, 1),
        citation="Cal. Code Regs., tit. 4, § 15409(a)(2)", confirmed=True,
        note="8 grams of concentrated cannabis, including concentrate contained in cannabis products. "
        "Edibles count by the weight of concentrate they contain; declare it in concentrate_g on the product.",
    ),
    dict(
        j="US-CA", type="adult_use", label="immature plants", unit="plants", amount="6",
        window="local_day", terms={"immature_plants": 1}, since=D(2018, 1, 1),
        citation="Cal. Code Regs., tit. 4, § 15409(a)(3)", confirmed=True,
        note="6 immature cannabis plants per day.",
    ),
    dict(
        j="US-CA", type="medical", label="flower", unit="g", amount=str(oz("8")),
        window="local_day", terms={"flower_g": 1}, since=D(2018, 1, 1),
        citation="Cal. Code Regs., tit. 4, § 15409(b)", confirmed=True,
        note="8 ounces of medicinal dried flower per day, unless the physician's recommendation allows more "
        "(then the patient's own limit applies; not modelled here).",
    ),
    dict(
        j="US-CA", type="medical", label="immature plants", unit="plants", amount="12",
        window="local_day", terms={"immature_plants": 1}, since=D(2018, 1, 1),
        citation="Cal. Code Regs., tit. 4, § 15409(b)", confirmed=True,
        note="12 immature plants per day for a medicinal patient.",
    ),
    # Colorado: one ounce of flower or its equivalent (8 g concentrate, 800 mg THC in products).
    dict(
        j="US-CO", type="adult_use", label="flower and equivalents", unit="g", amount="28",
        window="local_day", terms={"flower_g": 1, "concentrate_g": "3.5", "infused_thc_mg": "0.035"},
        since=D(2022, 1, 1),
        citation="1 CCR 212-3 (Colorado Marijuana Rules), retail sales limits; section number unconfirmed",
        confirmed=False,
        note="1 oz flower = 8 g concentrate = 800 mg THC in products (figures well known). The rule speaks of a "
        "single sales transaction; applied here per local day against looping (stricter) - confirm. "
        "The ounce is taken as 28 g so the factors are exact. Effective date: in force at least since.",
    ),
    dict(
        j="US-CO", type="medical", label="flower", unit="g", amount="56",
        window="local_day", terms={"flower_g": 1}, since=D(2022, 1, 1),
        citation=U, confirmed=False,
        note="Two ounces of medical marijuana flower per day unless the recommendation allows more "
        "(Colo. Const. art. XVIII, § 14 sets the 2 oz possession; the daily sales rule section is unconfirmed).",
    ),
    dict(
        j="US-CO", type="medical", label="concentrate", unit="g", amount="8", age_min=21,
        window="local_day", terms={"concentrate_g": 1}, since=D(2022, 1, 1),
        citation="Colo. HB 21-1317 (2021), medical concentrate daily limit; C.R.S. section unconfirmed",
        confirmed=True,
        note="8 g of medical concentrate per day for patients 21 and older, unless a physician exempts.",
    ),
    dict(
        j="US-CO", type="medical", label="concentrate", unit="g", amount="2", age_max=20,
        window="local_day", terms={"concentrate_g": 1}, since=D(2022, 1, 1),
        citation="Colo. HB 21-1317 (2021), medical concentrate daily limit; C.R.S. section unconfirmed",
        confirmed=True,
        note="2 g of medical concentrate per day for patients aged 18 to 20, unless a physician exempts.",
    ),
    # Michigan: 2.5 oz of which no more than 15 g concentrate.
    dict(
        j="US-MI", type="adult_use", label="marihuana", unit="g", amount=str(oz("2.5")),
        window="transaction", terms={"flower_g": 1, "concentrate_g": 1}, since=D(2019, 12, 1),
        citation="MCL 333.27955 (2.5 oz, of which no more than 15 g concentrate); the CRA sales rule section is "
        "unconfirmed",
        confirmed=False,
        note="Concentrate counts toward the 2.5 oz as well as its own 15 g. Window taken as one transaction "
        "(unconfirmed; some retailers apply it per day). How infused products count is unconfirmed.",
    ),
    dict(
        j="US-MI", type="adult_use", label="concentrate", unit="g", amount="15",
        window="transaction", terms={"concentrate_g": 1}, since=D(2019, 12, 1),
        citation="MCL 333.27955", confirmed=True,
        note="No more than 15 g of the 2.5 oz may be concentrate.",
    ),
    dict(
        j="US-MI", type="medical", label="usable marihuana (daily)", unit="g", amount=str(oz("2.5")),
        window="local_day", terms={"flower_g": 1, "concentrate_g": "4.05", "infused_weight_g": "0.0625"},
        since=D(2019, 12, 1),
        citation="Michigan Medical Marihuana Act, MCL 333.26423 (usable marihuana equivalent); provisioning "
        "center daily limit rule section unconfirmed",
        confirmed=False,
        note="2.5 oz per day. Equivalents per the MMMA: 16 oz infused solid = 1 oz (factor 0.0625), "
        "7 g in gaseous form = 1 oz (taken for concentrate: 28.35/7 = 4.05) - the mapping of concentrate to "
        "'gaseous form' is unconfirmed.",
    ),
    dict(
        j="US-MI", type="medical", label="usable marihuana (monthly)", unit="g", amount=str(oz("10")),
        window="rolling_days", window_days=30,
        terms={"flower_g": 1, "concentrate_g": "4.05", "infused_weight_g": "0.0625"}, since=D(2019, 12, 1),
        citation=U, confirmed=False,
        note="10 oz per month; taken as a rolling 30 days (calendar month or rolling: unconfirmed).",
    ),
    # Massachusetts: one ounce or its combined dry-weight equivalent per day.
    dict(
        j="US-MA", type="adult_use", label="flower and equivalents", unit="g", amount="28",
        window="local_day", terms={"flower_g": 1, "concentrate_g": "5.6", "infused_thc_mg": "0.056"},
        since=D(2018, 11, 20),
        citation="935 CMR 500.140 (limitation on sales); subsection unconfirmed", confirmed=False,
        note="1 oz flower = 5 g concentrate = 500 mg THC in edibles, per day (figures well known). The rule's "
        "5 g may be of active THC in the concentrate rather than product weight: unconfirmed. Ounce as 28 g "
        "so the factors are exact.",
    ),
    dict(
        j="US-MA", type="medical", label="flower (60-day supply)", unit="g", amount=str(oz("10")),
        window="rolling_days", window_days=60, terms={"flower_g": 1}, since=D(2018, 11, 20),
        citation="935 CMR 501.002 (definition of Sixty-day Supply)", confirmed=False,
        note="10 oz per 60 days unless the certifying clinician allows more. How concentrates and infused "
        "products count toward it is unconfirmed, so only flower is counted.",
    ),
    # Nevada: SB 277 (2023) raised the adult-use limits from 2024.
    dict(
        j="US-NV", type="adult_use", label="usable cannabis", unit="g", amount=str(oz("1")),
        window="transaction", terms={"flower_g": 1}, since=D(2017, 7, 1), until=D(2023, 12, 31),
        citation="NRS 678D (before SB 277 (2023)); section unconfirmed", confirmed=False,
        note="1 oz of usable cannabis per transaction until 2023. Whether flower and concentrate were "
        "alternatives (one or the other) is unconfirmed; counted separately.",
    ),
    dict(
        j="US-NV", type="adult_use", label="concentrate", unit="g", amount=str(oz("0.125")),
        window="transaction", terms={"concentrate_g": 1}, since=D(2017, 7, 1), until=D(2023, 12, 31),
        citation="NRS 678D (before SB 277 (2023)); section unconfirmed", confirmed=False,
        note="1/8 oz of concentrated cannabis per transaction until 2023.",
    ),
    dict(
        j="US-NV", type="adult_use", label="usable cannabis", unit="g", amount=str(oz("2.5")),
        window="transaction", terms={"flower_g": 1}, since=D(2024, 1, 1),
        citation="NRS 678D as amended by SB 277 (2023); section unconfirmed", confirmed=False,
        note="2.5 oz per transaction from 1 January 2024. Edible THC limit not loaded (unconfirmed).",
    ),
    dict(
        j="US-NV", type="adult_use", label="concentrate", unit="g", amount=str(oz("0.25")),
        window="transaction", terms={"concentrate_g": 1}, since=D(2024, 1, 1),
        citation="NRS 678D as amended by SB 277 (2023); section unconfirmed", confirmed=False,
        note="1/4 oz of concentrated cannabis per transaction from 1 January 2024.",
    ),
    dict(
        j="US-NV", type="medical", label="usable cannabis", unit="g", amount=str(oz("2.5")),
        window="rolling_days", window_days=14, terms={"flower_g": 1}, since=D(2017, 7, 1),
        citation="NRS 678C; section unconfirmed", confirmed=False,
        note="2.5 oz in any period of 14 days (figure well known; section unconfirmed).",
    ),
    # Illinois: residents 30 g / 5 g / 500 mg; non-residents half. Cumulative, per transaction.
    *[
        dict(
            j="US-IL", type="adult_use", residency=residency, label=label, unit=unit, amount=amount,
            window="transaction", terms={bucket: 1}, since=D(2020, 1, 1),
            citation="410 ILCS 705/10-10", confirmed=True,
            note=f"{'Residents' if residency == 'resident' else 'Non-residents'}: the possession limits are "
            "cumulative; a dispensary may not sell more than them in one transaction (window: transaction).",
        )
        for residency, label, unit, amount, bucket in [
            ("resident", "flower", "g", "30", "flower_g"),
            ("resident", "concentrate", "g", "5", "concentrate_g"),
            ("resident", "infused THC", "mg", "500", "infused_thc_mg"),
            ("non_resident", "flower", "g", "15", "flower_g"),
            ("non_resident", "concentrate", "g", "2.5", "concentrate_g"),
            ("non_resident", "infused THC", "mg", "250", "infused_thc_mg"),
        ]
    ],
    dict(
        j="US-IL", type="medical", label="usable cannabis", unit="g", amount=str(oz("2.5")),
        window="rolling_days", window_days=14, terms={"flower_g": 1}, since=D(2014, 1, 1),
        citation="410 ILCS 130/10 (definition of adequate supply)", confirmed=True,
        note="2.5 oz of usable cannabis in 14 days, unless a waiver allows more.",
    ),
    # Oklahoma: medical only; possession limits of a licensed patient, applied per transaction.
    *[
        dict(
            j="US-OK", type="medical", label=label, unit=unit, amount=amount, window="transaction",
            terms={bucket: 1}, since=D(2018, 7, 26), citation="63 O.S. § 420(A)", confirmed=True,
            note=f"{text}. Applying possession limits per transaction is the usual reading (unconfirmed).",
        )
        for label, unit, amount, bucket, text in [
            ("flower", "g", str(oz("3")), "flower_g", "3 oz of marijuana on the person"),
            ("concentrate", "g", str(oz("1")), "concentrate_g", "1 oz of concentrated marijuana"),
            ("edibles", "g", str(oz("72")), "infused_weight_g", "72 oz of edible marijuana"),
            ("seedlings", "plants", "6", "immature_plants", "6 seedling plants"),
        ]
    ],
]

AGES = [
    # jurisdiction, customer type, minimum age, younger through caregiver, since, citation, confirmed, note
    ("US-CA", "adult_use", 21, False, D(2018, 1, 1), "Cal. Bus. & Prof. Code § 26140(a)", True, ""),
    ("US-CA", "medical", 18, True, D(2018, 1, 1), "Cal. Bus. & Prof. Code § 26140(c)", True,
     "18 and over with a physician's recommendation; younger patients through a primary caregiver."),
    ("US-CO", "adult_use", 21, False, D(2014, 1, 1), "Colo. Const. art. XVIII, § 16(3)", True, ""),
    ("US-CO", "medical", 18, True, D(2014, 1, 1), "Colo. Const. art. XVIII, § 14", True,
     "Patients under 18 through a parent or caregiver."),
    ("US-MI", "adult_use", 21, False, D(2019, 12, 1), "MCL 333.27955", True, ""),
    ("US-MI", "medical", 18, True, D(2019, 12, 1), "Michigan Medical Marihuana Act, MCL 333.26421 et seq.", True,
     "Minor patients through a parent acting as caregiver; section unconfirmed."),
    ("US-MA", "adult_use", 21, False, D(2018, 11, 20), "M.G.L. c. 94G, § 7", True, ""),
    ("US-MA", "medical", 18, True, D(2018, 11, 20), "935 CMR 501; section unconfirmed", False,
     "Under 18 with certification by two clinicians and a personal caregiver (unconfirmed detail)."),
    ("US-NV", "adult_use", 21, False, D(2017, 7, 1), "NRS 678D; section unconfirmed", False,
     "Age 21 is certain; the section number is unconfirmed."),
    ("US-NV", "medical", 18, True, D(2017, 7, 1), "NRS 678C; section unconfirmed", False,
     "Minors with a parent or guardian as caregiver (unconfirmed detail)."),
    ("US-IL", "adult_use", 21, False, D(2020, 1, 1), "410 ILCS 705/10-5", True, ""),
    ("US-IL", "medical", 18, True, D(2014, 1, 1), "410 ILCS 130; section unconfirmed", False,
     "Minor patients through a designated caregiver (parent or guardian)."),
    ("US-OK", "medical", 18, True, D(2018, 7, 26), "63 O.S. § 420", True,
     "Under 18 with a parent or guardian's signature and two physicians' recommendations."),
]

DELIVERY = [
    # jurisdiction, start, end, vehicle value cap, since, citation, confirmed, note
    ("US-CA", dt.time(6, 0), dt.time(22, 0), None, D(2018, 1, 1),
     "Cal. Code Regs., tit. 4, § 15403", True, "Sales and deliveries only between 6 a.m. and 10 p.m. local."),
    ("US-CA", None, None, Decimal("10000.00"), D(2019, 1, 16),
     "Cal. Code Regs., tit. 4, § 15418", False,
     "Cannabis goods in a delivery vehicle may not exceed $10,000 at retail value at any time; conditions on the "
     "share already ordered by customers and the effective date are unconfirmed."),
]

TAXES = [
    # jurisdiction, name, level, customer type, products, rate, base, included, since, until, citation,
    # confirmed, note
    ("US-CA", "Cannabis excise tax", "excise", "both", "", "15", "retail_price", False, D(2023, 1, 1),
     D(2025, 6, 30), "Cal. Rev. & Tax. Code § 34011.2", True,
     "15% of gross receipts, collected by the retailer from the purchaser and stated separately."),
    ("US-CA", "Cannabis excise tax", "excise", "both", "", "19", "retail_price", False, D(2025, 7, 1),
     D(2025, 9, 30), "Cal. Rev. & Tax. Code § 34011.2", False, "Adjusted rate for July to September 2025."),
    ("US-CA", "Cannabis excise tax", "excise", "both", "", "15", "retail_price", False, D(2025, 10, 1),
     None, "Cal. Rev. & Tax. Code § 34011.2 as amended by AB 564 (2025)", False, "Rate back to 15%."),
    ("US-CA", "Sales and use tax (statewide base)", "state", "adult_use", "", "7.25", "retail_price", False,
     D(2018, 1, 1), None, "Cal. Rev. & Tax. Code § 6051 et seq.", True,
     "Medical patients with a state Medical Marijuana ID card are exempt. Whether the excise is part of the "
     "sales-tax base is unconfirmed (taken as not)."),
    ("US-CA", "District and local cannabis taxes", "local", "both", "", None, "retail_price", False,
     D(2018, 1, 1), None, U, False, "Vary by city and county; set per store."),
    ("US-CO", "Retail marijuana special sales tax", "state", "adult_use", "", "15", "retail_price", False,
     D(2017, 7, 1), None, "C.R.S. § 39-28.8-202", True, "Retail marijuana is exempt from the 2.9% sales tax."),
    ("US-CO", "Retail marijuana excise tax", "excise", "adult_use", "", "15", "wholesale", False,
     D(2017, 7, 1), None, "C.R.S. § 39-28.8-302", True,
     "15% of the average market rate on the first transfer from a cultivator; not on the receipt."),
    ("US-CO", "State sales tax", "state", "medical", "", "2.9", "retail_price", False, D(2014, 1, 1), None,
     "C.R.S. § 39-26-106", True, "Applies to medical marijuana."),
    ("US-CO", "Local sales and marijuana taxes", "local", "both", "", None, "retail_price", False,
     D(2014, 1, 1), None, U, False, "Vary by city and county; set per store."),
    ("US-MI", "Adult-use marihuana excise tax", "excise", "adult_use", "", "10", "retail_price", False,
     D(2019, 12, 1), None, "MCL 333.27963", True, ""),
    ("US-MI", "Sales tax", "state", "both", "", "6", "retail_price", False, D(2019, 12, 1), None,
     "MCL 205.52 (General Sales Tax Act)", True, "Michigan has no local sales tax."),
    ("US-MI", "Wholesale marijuana tax", "excise", "both", "", "24", "wholesale", False, D(2026, 1, 1), None,
     "Comprehensive Road Funding Tax Act (2025); citation unconfirmed", False,
     "Charged on wholesale transfers, not on the receipt."),
    ("US-MA", "Marijuana excise tax", "excise", "adult_use", "", "10.75", "retail_price", False,
     D(2018, 11, 20), None, "M.G.L. c. 64N, § 2", True, "Medical sales are exempt."),
    ("US-MA", "Sales tax", "state", "adult_use", "", "6.25", "retail_price", False, D(2018, 11, 20), None,
     "M.G.L. c. 64H, § 2", True, "Medical sales are exempt."),
    ("US-MA", "Local marijuana excise (local option)", "local", "adult_use", "", None, "retail_price", False,
     D(2018, 11, 20), None, "M.G.L. c. 64N, § 3", True, "Up to 3%, adopted per city or town; set per store."),
    ("US-NV", "Retail cannabis excise tax", "excise", "adult_use", "", "10", "retail_price", False,
     D(2017, 7, 1), None, "NRS 372A.290(2)", True, ""),
    ("US-NV", "Wholesale cannabis excise tax", "excise", "both", "", "15", "wholesale", False, D(2017, 7, 1),
     None, "NRS 372A.290(1)", True, "On the fair market value at wholesale; not on the receipt."),
    ("US-NV", "Sales tax (state rate)", "state", "both", "", "6.85", "retail_price", False, D(2017, 7, 1),
     None, "NRS 372 and 374 (state portion)", False, "Whether medical sales are exempt is unconfirmed."),
    ("US-NV", "Local sales tax", "local", "both", "", None, "retail_price", False, D(2017, 7, 1), None, U,
     False, "Varies by county; set per store."),
    ("US-IL", "Cannabis purchaser excise tax", "excise", "adult_use", "flower and products up to 35% THC",
     "10", "retail_price", False, D(2020, 1, 1), None, "410 ILCS 705/65-10", True, ""),
    ("US-IL", "Cannabis purchaser excise tax", "excise", "adult_use", "cannabis-infused products", "20",
     "retail_price", False, D(2020, 1, 1), None, "410 ILCS 705/65-10", True, ""),
    ("US-IL", "Cannabis purchaser excise tax", "excise", "adult_use", "products above 35% THC", "25",
     "retail_price", False, D(2020, 1, 1), None, "410 ILCS 705/65-10", True, ""),
    ("US-IL", "Retailers' occupation tax", "state", "adult_use", "", "6.25", "retail_price", False,
     D(2020, 1, 1), None, "35 ILCS 120/2-10", True, ""),
    ("US-IL", "Retailers' occupation tax (medical)", "state", "medical", "", "1", "retail_price", False,
     D(2014, 1, 1), None, "35 ILCS 120/2-10", True, "Reduced rate for medical cannabis."),
    ("US-IL", "Municipal and county cannabis retailers' occupation taxes", "local", "adult_use", "", None,
     "retail_price", False, D(2020, 1, 1), None, "65 ILCS 5/8-11-23; 55 ILCS 5/5-1006.8", True,
     "Municipal up to 3%, county up to 3.75% (incorporated areas) - set per store."),
    ("US-OK", "Medical marijuana excise tax", "excise", "medical", "", "7", "retail_price", False,
     D(2018, 7, 26), None, "63 O.S. § 426", True, ""),
    ("US-OK", "Sales tax", "state", "medical", "", "4.5", "retail_price", False, D(2018, 7, 26), None,
     "68 O.S. § 1354", True, ""),
    ("US-OK", "Local sales tax", "local", "medical", "", None, "retail_price", False, D(2018, 7, 26), None, U,
     False, "Varies by city and county; set per store."),
]


def rules_load(apps, schema_editor):
    Jurisdiction = apps.get_model("compliance", "Jurisdiction")
    PurchaseLimit = apps.get_model("compliance", "PurchaseLimit")
    PurchaseLimitTerm = apps.get_model("compliance", "PurchaseLimitTerm")
    AgeRule = apps.get_model("compliance", "AgeRule")
    DeliveryRule = apps.get_model("compliance", "DeliveryRule")
    TaxRate = apps.get_model("compliance", "TaxRate")

    jurisdictions = {}
    for code, name, zone, adult_use, medical in JURISDICTIONS:
        jurisdictions[code], _ = Jurisdiction.objects.get_or_create(
            code=code,
            defaults={"name": name, "time_zone": zone, "adult_use_legal": adult_use, "medical_legal": medical},
        )
    for row in LIMITS:
        limit = PurchaseLimit.objects.create(
            jurisdiction=jurisdictions[row["j"]],
            customer_type=row["type"],
            residency=row.get("residency", "any"),
            age_min=row.get("age_min"),
            age_max=row.get("age_max"),
            label=row["label"],
            unit=row["unit"],
            amount=Decimal(row["amount"]),
            window=row["window"],
            window_days=row.get("window_days"),
            effective_from=row["since"],
            effective_to=row.get("until"),
            citation=row["citation"],
            confirmed=row["confirmed"],
            note=row["note"],
        )
        for bucket, factor in row["terms"].items():
            PurchaseLimitTerm.objects.create(limit=limit, bucket=bucket, factor=Decimal(str(factor)))
    for code, customer_type, age, caregiver, since, citation, confirmed, note in AGES:
        AgeRule.objects.create(
            jurisdiction=jurisdictions[code], customer_type=customer_type, minimum_age=age,
            younger_through_caregiver=caregiver, effective_from=since, citation=citation,
            confirmed=confirmed, note=note,
        )
    for code, start, end, cap, since, citation, confirmed, note in DELIVERY:
        DeliveryRule.objects.create(
            jurisdiction=jurisdictions[code], hours_start=start, hours_end=end, vehicle_value_cap=cap,
            effective_from=since, citation=citation, confirmed=confirmed, note=note,
        )
    for (code, name, level, customer_type, products, rate, base, included, since, until, citation, confirmed,
         note) in TAXES:
        TaxRate.objects.create(
            jurisdiction=jurisdictions[code], name=name, level=level, customer_type=customer_type,
            products=products, rate=None if rate is None else Decimal(rate), base=base,
            included_in_price=included, effective_from=since, effective_to=until, citation=citation,
            confirmed=confirmed, note=note,
        )


def rules_unload(apps, schema_editor):
    codes = [code for code, *_ in JURISDICTIONS]
    apps.get_model("compliance", "Jurisdiction").objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("compliance", "0002_identity"),
    ]

    operations = [
        migrations.RunPython(rules_load, rules_unload),
    ]
