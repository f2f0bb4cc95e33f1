"""Taxes name the product categories they are charged on: cannabis taxes (every excise, and the taxes on
cannabis alone) leave accessories out, which get the general sales tax only. The categories are part of each
dated row; the rows in place were always meant for cannabis, so they get their categories in place."""

import compliance.models
from django.db import migrations, models

ACCESSORY = "accessory"
CATEGORIES = [
    "flower",
    "pre_roll",
    "vape",
    "concentrate",
    "edible",
    "tincture",
    "topical",
    "beverage",
    "accessory",
    "seeds_clones",
]
CANNABIS = [category for category in CATEGORIES if category != ACCESSORY]

# Taxes charged on cannabis alone besides the excise taxes, by jurisdiction and name.
CANNABIS_ONLY = [
    ("US-CA", "District and local cannabis taxes"),
    ("US-CO", "Retail marijuana special sales tax"),
    ("US-MA", "Local marijuana excise (local option)"),
    ("US-IL", "Municipal and county cannabis retailers' occupation taxes"),
]


def categories_set(apps, schema_editor):
    TaxRate = apps.get_model("compliance", "TaxRate")
    TaxRate.objects.filter(level="excise").update(categories=CANNABIS)
    for code, name in CANNABIS_ONLY:
        TaxRate.objects.filter(jurisdiction__code=code, name=name).update(categories=CANNABIS)


def categories_clear(apps, schema_editor):
    apps.get_model("compliance", "TaxRate").objects.update(categories=[])


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0005_checkout"),
    ]

    operations = [
        migrations.AddField(
            model_name="taxrate",
            name="categories",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="The product categories it is charged on (cannabis taxes leave accessories out); "
                "empty: every category.",
                validators=[compliance.models.validate_categories],
            ),
        ),
        migrations.RunPython(categories_set, categories_clear),
    ]
