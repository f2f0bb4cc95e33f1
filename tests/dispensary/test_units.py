"""The one conversion helper: exact factors, Decimal arithmetic, one rounding."""

from decimal import Decimal

import pytest

from dispensary.units import UnitError, quantity_convert, unit_code


@pytest.mark.parametrize(
    ("quantity", "source", "target", "places", "expected"),
    [
        ("1", "lb", "g", 3, "453.592"),
        ("1", "Pounds", "g", 3, "453.592"),
        ("16", "oz", "g", 3, "453.592"),
        ("16", "Ounces", "lb", 6, "1.000000"),
        ("1", "oz", "g", 6, "28.349523"),
        ("2.5", "kg", "g", 3, "2500.000"),
        ("1500", "mg", "g", 3, "1.500"),
        ("3.5", "g", "lb", 6, "0.007716"),
        ("28.349523125", "g", "oz", 9, "1.000000000"),
        ("7", "each", "Each", 0, "7"),
        ("-2", "g", "oz", 6, "-0.070548"),
    ],
)
def test_conversions_are_exact_to_the_places_asked(quantity, source, target, places, expected):
    assert quantity_convert(quantity, source, target, places=places) == Decimal(expected)
    assert str(quantity_convert(quantity, source, target, places=places)) == expected


def test_sixteen_ounces_are_not_sixteen_grams():
    assert quantity_convert("16", "oz", "g", places=3) != Decimal("16")


@pytest.mark.parametrize("unit", ["", "litres", "bags"])
def test_an_unknown_unit_is_refused(unit):
    with pytest.raises(UnitError):
        unit_code(unit)


def test_a_count_cannot_become_a_weight():
    with pytest.raises(UnitError, match="cannot be expressed"):
        quantity_convert("3", "each", "g", places=3)


@pytest.mark.parametrize("quantity", ["NaN", "Infinity", "abc", "1e40"])
def test_bad_quantities_are_refused(quantity):
    with pytest.raises(UnitError):
        quantity_convert(quantity, "lb", "g", places=3)
