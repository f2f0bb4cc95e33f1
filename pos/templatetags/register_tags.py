"""Template filters of the register screen."""

from django import template

from inventory.models import quantity_text

register = template.Library()


@register.filter
def amount(value) -> str:
    """A quantity or limit amount without trailing zeros: 3.500 -> 3.5, 28.000 -> 28."""
    if value is None or value == "":
        return ""
    return quantity_text(value)
