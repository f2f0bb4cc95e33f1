"""Template helpers of the drawer and sales screens: money the way a cashier reads it."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None


@register.filter
def dollars(value) -> str:
    """1234.5 -> "$1,234.50"; -5 -> "−$5.00" (a true minus sign); nothing -> "—"."""
    number = _decimal(value)
    if number is None:
        return "—"
    text = f"${abs(number):,.2f}"
    return f"\u2212{text}" if number < 0 else text


@register.filter
def over_short(value) -> str:
    """Counted minus expected: "$3.00 over", "$5.00 short", "Even"."""
    number = _decimal(value)
    if number is None:
        return "—"
    if number > 0:
        return f"{dollars(number)} over"
    if number < 0:
        return f"{dollars(-number)} short"
    return "Even"
