import datetime as dt
import importlib
from decimal import Decimal as D

import pytest

from inventory.models import Product
from pos.pricing import Discount, PriceLine, TaxSpec, sale_price
from pos.selectors import tax_specs_in_force

ON = dt.date(2026, 3, 2)


def taxes(jurisdiction):
    return tax_specs_in_force(jurisdiction=jurisdiction, on=ON)


@pytest.mark.django_db
def test_california_adult_use_excise_and_sales_tax_rounded_per_line():
    priced = sale_price(
        [
            PriceLine(D("45.00"), D("2"), category="flower"),
            PriceLine(D("19.99"), D("1"), Discount(percent=D("10")), category="flower"),
        ],
        taxes("US-CA"),
        "adult_use",
    )
    first, second = priced.lines
    assert (first.list_amount, first.net_amount, first.tax_by_field()) == (
        D("90.00"),
        D("90.00"),
        {"excise_tax": D("13.50"), "sales_tax": D("6.53")},
    )
    assert first.total == D("110.03")
    # 19.99 - 2.00 = 17.99; excise 2.6985 -> 2.70; sales 1.304275 -> 1.30
    assert (second.discount_amount, second.net_amount) == (D("2.00"), D("17.99"))
    assert second.tax_by_field() == {"excise_tax": D("2.70"), "sales_tax": D("1.30")}
    assert second.total == D("21.99")
    assert (priced.subtotal, priced.discount_total, priced.tax_total, priced.total) == (
        D("109.99"),
        D("2.00"),
        D("24.03"),
        D("132.02"),
    )
    assert priced.tax_totals == {"excise": D("16.20"), "state": D("7.83"), "local": D("0")}


@pytest.mark.django_db
def test_california_medical_is_exempt_from_sales_tax_by_its_row():
    priced = sale_price([PriceLine(D("45.00"), D("2"), category="flower")], taxes("US-CA"), "medical")
    assert priced.lines[0].tax_by_field() == {"excise_tax": D("13.50")}
    assert priced.total == D("103.50")


@pytest.mark.django_db
def test_colorado_special_sales_tax_for_adult_use_and_state_sales_tax_for_medical():
    adult = sale_price(
        [PriceLine(D("45.00"), D("1"), Discount(amount=D("5")), category="flower")],
        taxes("US-CO"),
        "adult_use",
    )
    # wholesale excise is not on the receipt; 15% of 40.00
    assert adult.lines[0].tax_by_field() == {"sales_tax": D("6.00")}
    assert adult.total == D("46.00")
    medical = sale_price([PriceLine(D("45.00"), D("1"), category="flower")], taxes("US-CO"), "medical")
    assert medical.lines[0].tax_by_field() == {"sales_tax": D("1.31")}  # 2.9% of 45 = 1.305
    assert medical.total == D("46.31")


@pytest.mark.django_db
def test_michigan_excise_for_adult_use_and_sales_tax_for_both():
    adult = sale_price([PriceLine(D("12.345"), D("3.5"), category="flower")], taxes("US-MI"), "adult_use")
    line = adult.lines[0]
    assert line.list_amount == D("43.21")  # 43.2075
    assert line.tax_by_field() == {"excise_tax": D("4.32"), "sales_tax": D("2.59")}
    assert adult.total == D("50.12")
    medical = sale_price([PriceLine(D("45.00"), D("1"), category="flower")], taxes("US-MI"), "medical")
    assert medical.lines[0].tax_by_field() == {"sales_tax": D("2.70")}
    assert medical.total == D("47.70")


def test_tax_included_in_shelf_price_is_taken_out_and_the_total_stays_the_shelf_price():
    included = [
        TaxSpec("Excise", "excise", "both", D("10"), included_in_price=True),
        TaxSpec("Sales", "state", "both", D("5"), "retail_price_with_excise", included_in_price=True),
    ]
    line = sale_price([PriceLine(D("50.00"), D("1"), category="flower")], included, "adult_use").lines[0]
    # base x (1 + 0.10 + 0.05 x 1.10) = 50 -> base 43.29; excise 4.33; sales gets the rest, 2.38
    assert (line.net_amount, line.tax_by_field(), line.total) == (
        D("43.29"),
        {"excise_tax": D("4.33"), "sales_tax": D("2.38")},
        D("50.00"),
    )


def test_fixed_discount_never_goes_below_zero_and_local_taxes_without_rate_are_skipped():
    local = [TaxSpec("City cannabis tax", "local", "both", D("4")), TaxSpec("County", "local", "both", None)]
    line = sale_price(
        [PriceLine(D("10.00"), D("1"), Discount(amount=D("15")), category="flower")], local, "adult_use"
    ).lines[0]
    assert (line.discount_amount, line.net_amount, line.total) == (D("10.00"), D("0.00"), D("0.00"))
    line = sale_price([PriceLine(D("10.00"), D("1"), category="flower")], local, "adult_use").lines[0]
    assert line.tax_by_field() == {"city_tax": D("0.40")}


@pytest.mark.django_db
def test_california_accessories_pay_sales_tax_but_no_cannabis_excise():
    """Rolling papers and a pipe bought with an eighth: excise on the flower only, sales tax on all three."""
    priced = sale_price(
        [
            PriceLine(D("45.00"), D("1"), category="flower"),
            PriceLine(D("3.00"), D("2"), category="accessory"),
            PriceLine(D("24.00"), D("1"), category="accessory"),
        ],
        taxes("US-CA"),
        "adult_use",
    )
    flower, papers, pipe = priced.lines
    assert flower.tax_by_field() == {"excise_tax": D("6.75"), "sales_tax": D("3.26")}
    assert papers.tax_by_field() == {"sales_tax": D("0.44")}  # 7.25% of 6.00 = 0.435
    assert pipe.tax_by_field() == {"sales_tax": D("1.74")}
    assert priced.tax_totals == {"excise": D("6.75"), "state": D("5.44"), "local": D("0")}
    assert priced.total == D("87.19")


@pytest.mark.django_db
def test_california_medical_accessory_is_charged_no_cannabis_tax():
    priced = sale_price([PriceLine(D("24.00"), D("1"), category="accessory")], taxes("US-CA"), "medical")
    assert priced.lines[0].taxes == ()
    assert priced.total == D("24.00")


@pytest.mark.django_db
def test_colorado_special_sales_tax_is_on_marijuana_only():
    priced = sale_price([PriceLine(D("20.00"), D("1"), category="accessory")], taxes("US-CO"), "adult_use")
    assert priced.lines[0].taxes == ()


@pytest.mark.django_db
def test_the_categories_are_part_of_each_dated_row():
    """The excise rows of every period name the cannabis categories; the general sales tax names none."""
    from compliance.models import TaxRate

    california = TaxRate.objects.filter(jurisdiction__code="US-CA").order_by("effective_from", "id")
    excise = [row for row in california if row.level == "excise"]
    assert len(excise) == 3  # 2023-2025, July-September 2025, from October 2025
    cannabis = [value for value in Product.Category.values if value != "accessory"]
    assert all(sorted(row.categories) == sorted(cannabis) for row in excise)
    sales = california.get(name="Sales and use tax (statewide base)")
    assert sales.categories == []


def test_the_migrations_categories_are_the_product_categories():
    migration = importlib.import_module("compliance.migrations.0006_tax_categories")
    assert sorted(migration.CATEGORIES) == sorted(Product.Category.values)


def test_a_tax_without_categories_applies_to_every_category_and_unknown_categories_are_refused():
    from django.core.exceptions import ValidationError

    from compliance.models import validate_categories

    every = TaxSpec("Sales", "state", "both", D("5"))
    cannabis = TaxSpec("Excise", "excise", "both", D("10"), categories=("flower",))
    assert every.applies("adult_use", "accessory") and every.applies("adult_use", None)
    assert cannabis.applies("adult_use", "flower")
    assert not cannabis.applies("adult_use", "accessory")
    assert not cannabis.applies("adult_use", None)
    with pytest.raises(ValidationError, match="Unknown product categories: pipes"):
        validate_categories(["flower", "pipes"])
    with pytest.raises(ValidationError):
        validate_categories("flower")
