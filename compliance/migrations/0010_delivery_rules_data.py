"""Delivery rules of the seeded states as dated rows: hours (or that the state's rules set none), when the
driver must be back, whether retail delivery is allowed at all, and the vehicle value caps.

California's cap row of 0003 is replaced by the two dated rows it stood for: $5,000 with at most $3,000 of
goods not yet ordered (4 CCR 15418(a) as adopted), then $10,000 of any mix (Bus. & Prof. Code 26090.1, to be
in the regulations by 1 January 2023). `confirmed=False` rows say in their note what still needs a check
against the source text. Reversing removes exactly what this migration added and puts the old row back."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

D = dt.date
T = dt.time
U = "unconfirmed"
OLD_CA_CAP_CITATION = "Cal. Code Regs., tit. 4, § 15418"

# jurisdiction, permitted, hours kind, start, end, return by, cap, unordered cap, since, until, citation,
# confirmed, note
ROWS = [
    ("US-CA", True, "", None, None, None, Decimal("5000.00"), Decimal("3000.00"), D(2019, 1, 16),
     D(2022, 12, 31), "Cal. Code Regs., tit. 4, § 15418(a) (formerly tit. 16, § 5418(a))", True,
     "At most $5,000 of cannabis goods at retail value in the vehicle at any time, of which at most $3,000 "
     "for which no delivery order was received and processed before the driver left the premises."),
    ("US-CA", True, "", None, None, None, Decimal("10000.00"), None, D(2023, 1, 1), None,
     "Cal. Bus. & Prof. Code § 26090.1 (AB 1014); Cal. Code Regs., tit. 4, § 15418", False,
     "At most $10,000 of cannabis goods at retail value in the vehicle at any time; the statute allows any mix "
     "of ordered and not-yet-ordered goods (no sub-cap). The statute required the rule by 1 January 2023; the "
     "date the amended regulation took effect is unconfirmed."),
    ("US-MI", True, "none_stated", None, None, None, None, None, D(2019, 12, 1), None,
     "Mich. Admin. Code R 420.207", False,
     "Delivery by an approved sales location to a residential address; the delivery rule states no delivery "
     "hours (local ordinances may). The rule limits a driver's load by weight (15 oz), not by value: not "
     "modelled as a value cap. Whether a later rule sets hours is unconfirmed."),
    ("US-CO", True, "none_stated", None, None, None, None, None, D(2021, 1, 2), None,
     "1 CCR 212-3, Rule 3-615 (delivery permits)", False,
     "Delivery to private residences under a delivery permit (HB19-1234) where the local jurisdiction allows "
     "it. Delivery hours and any vehicle value limit in Rule 3-615 are unconfirmed: none is applied until "
     "checked, so only the store's own hours limit a window."),
    ("US-MA", True, "window", T(8, 0), T(21, 0), None, Decimal("10000.00"), None, D(2020, 11, 1), None,
     "935 CMR 500.145 (delivery of marijuana to consumers)", False,
     "Deliveries between 8 a.m. and 9 p.m. unless the municipality sets other hours, and at most $10,000 of "
     "marijuana at retail value in a vehicle: figures as commonly reported, subsection and date unconfirmed."),
    ("US-NV", True, "none_stated", None, None, None, None, None, D(2017, 7, 1), None, U, False,
     "Retail stores may deliver under the Cannabis Compliance Board's regulations; no statewide delivery hours "
     "are loaded (whether the regulations set any is unconfirmed)."),
    ("US-IL", False, "", None, None, None, None, None, D(2020, 1, 1), None,
     "410 ILCS 705 (Cannabis Regulation and Tax Act)", False,
     "The Act licenses no delivery of cannabis by dispensing organizations to customers: every delivery is "
     "refused. Unconfirmed for later amendments."),
    ("US-OK", True, "none_stated", None, None, None, None, None, D(2018, 7, 26), None,
     "Okla. Admin. Code 442:10 (medical marijuana dispensaries)", False,
     "Medical dispensaries may deliver to patients where the rules allow; no delivery hours are stated as "
     "loaded here (unconfirmed)."),
]


def rows_load(apps, schema_editor):
    Jurisdiction = apps.get_model("compliance", "Jurisdiction")
    DeliveryRule = apps.get_model("compliance", "DeliveryRule")
    jurisdictions = {j.code: j for j in Jurisdiction.objects.all()}
    DeliveryRule.objects.filter(
        jurisdiction__code="US-CA", citation=OLD_CA_CAP_CITATION, hours="", vehicle_value_cap__isnull=False
    ).delete()
    DeliveryRule.objects.filter(jurisdiction__code="US-CA", hours="window").update(
        return_by=T(22, 0),
        citation="Cal. Code Regs., tit. 4, §§ 15403, 15415",
        note="Sales and deliveries only between 6 a.m. and 10 p.m. local time (§ 15403); the process of delivery "
        "ends when the driver is back at the premises (§ 15415), so the driver is back by 10 p.m.",
    )
    for (code, permitted, hours, start, end, back, cap, unordered, since, until, citation, confirmed,
         note) in ROWS:
        if code not in jurisdictions:
            continue
        DeliveryRule.objects.create(
            jurisdiction=jurisdictions[code], delivery_permitted=permitted, hours=hours, hours_start=start,
            hours_end=end, return_by=back, vehicle_value_cap=cap, unordered_value_cap=unordered,
            effective_from=since, effective_to=until, citation=citation, confirmed=confirmed, note=note,
        )


def rows_unload(apps, schema_editor):
    Jurisdiction = apps.get_model("compliance", "Jurisdiction")
    DeliveryRule = apps.get_model("compliance", "DeliveryRule")
    for code, _p, _h, _s, _e, _b, _c, _u, since, _until, citation, *_ in ROWS:
        DeliveryRule.objects.filter(jurisdiction__code=code, effective_from=since, citation=citation).delete()
    DeliveryRule.objects.filter(jurisdiction__code="US-CA", hours="window").update(
        return_by=None,
        citation="Cal. Code Regs., tit. 4, § 15403",
        note="Sales and deliveries only between 6 a.m. and 10 p.m. local.",
    )
    california = Jurisdiction.objects.filter(code="US-CA").first()
    if california is not None:
        DeliveryRule.objects.create(
            jurisdiction=california, vehicle_value_cap=Decimal("10000.00"), effective_from=D(2019, 1, 16),
            citation=OLD_CA_CAP_CITATION, confirmed=False,
            note="Cannabis goods in a delivery vehicle may not exceed $10,000 at retail value at any time; "
            "conditions on the share already ordered by customers and the effective date are unconfirmed.",
        )


class Migration(migrations.Migration):

    dependencies = [
        ("compliance", "0009_delivery_rule_hours_caps"),
    ]

    operations = [
        migrations.RunPython(rows_load, rows_unload),
    ]
