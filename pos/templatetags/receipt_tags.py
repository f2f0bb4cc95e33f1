"""Money on receipts and profiles, spelled one way: $1,234.56 and -$9.00."""

from django import template

from pos.receipts import money_text

register = template.Library()


@register.filter
def money(value) -> str:
    if value is None or value == "":
        return ""
    return money_text(value)
