"""Quantities in units of weight and count, converted exactly: the one place that knows how many grams a
pound holds. Receiving turns a manifest's pounds and ounces into the grams the ledger keeps, and state reporting
turns the ledger's grams into the unit the state holds a package in.

Factors are exact by definition (the international avoirdupois pound is 453.59237 g, the ounce 1/16 of it), so
a conversion is one Decimal multiplication or division, rounded once, half to even, to the places asked for."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

GRAMS_PER_UNIT: dict[str, Decimal] = {
    "mg": Decimal("0.001"),
    "g": Decimal("1"),
    "kg": Decimal("1000"),
    "oz": Decimal("28.349523125"),
    "lb": Decimal("453.59237"),
}
COUNT_UNITS = frozenset({"each"})

# Every spelling we meet (the platform's codes, Metrc's unit names and abbreviations) -> our code.
_ALIASES = {
    "mg": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "g": "g",
    "gram": "g",
    "grams": "g",
    "kg": "kg",
    "kilogram": "kg",
    "kilograms": "kg",
    "oz": "oz",
    "ounce": "oz",
    "ounces": "oz",
    "lb": "lb",
    "lbs": "lb",
    "pound": "lb",
    "pounds": "lb",
    "each": "each",
    "ea": "each",
}


class UnitError(ValueError):
    """An unknown unit, or units that cannot be converted into each other (a count and a weight)."""


def unit_code(unit: str) -> str:
    """Our code for a unit however it is spelled: `Pounds`, `lb` and `lbs` are all `lb`."""
    code = _ALIASES.get((unit or "").strip().lower())
    if code is None:
        raise UnitError(f"Unknown unit {unit!r}; use one of g, mg, kg, oz, lb or each.")
    return code


def units_compatible(first: str, second: str) -> bool:
    a, b = unit_code(first), unit_code(second)
    return a == b or (a in GRAMS_PER_UNIT and b in GRAMS_PER_UNIT)


def quantity_convert(quantity, from_unit: str, to_unit: str, *, places: int) -> Decimal:
    """`quantity` of `from_unit` in `to_unit`, rounded half to even to `places` decimal places.

    >>> quantity_convert("1", "lb", "g", places=3)
    Decimal('453.592')
    >>> quantity_convert("16", "oz", "lb", places=6)
    Decimal('1.000000')
    """
    try:
        value = Decimal(str(quantity))
    except InvalidOperation as error:
        raise UnitError(f"{quantity!r} is not a quantity.") from error
    if not value.is_finite():
        raise UnitError(f"{quantity!r} is not a quantity.")
    source, target = unit_code(from_unit), unit_code(to_unit)
    if source != target and (source not in GRAMS_PER_UNIT or target not in GRAMS_PER_UNIT):
        raise UnitError(f"A quantity in {from_unit} cannot be expressed in {to_unit}.")
    if source != target:
        value = value * GRAMS_PER_UNIT[source] / GRAMS_PER_UNIT[target]
    try:
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    except InvalidOperation as error:  # more digits than Decimal's context holds
        raise UnitError(f"{quantity!r} is too large a quantity.") from error
