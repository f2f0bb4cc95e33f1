"""Template helpers of the inventory screens: quantities spelled the way the services spell them."""

from decimal import Decimal, InvalidOperation

from django import template

from inventory.models import quantity_text

register = template.Library()


@register.filter
def qty(value) -> str:
    """3.500 -> "3.5", 4.000 -> "4"; nothing -> "—"."""
    if value is None or value == "":
        return "—"
    try:
        return quantity_text(Decimal(value))
    except (InvalidOperation, TypeError, ValueError):
        return str(value)


@register.filter
def signed_qty(value) -> str:
    """+2, −1.5 (a true minus sign), 0."""
    if value is None or value == "":
        return "—"
    number = Decimal(value)
    if number > 0:
        return f"+{quantity_text(number)}"
    if number < 0:
        return f"\u2212{quantity_text(-number)}"
    return "0"


@register.filter
def staff_name(user) -> str:
    """A staff member as people call them: full name, else username; nobody -> "—"."""
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()
