"""Template filters of the register screen."""

import functools

from django import template
from django.urls import reverse

from inventory.models import quantity_text

register = template.Library()


@register.filter
def amount(value) -> str:
    """A quantity or limit amount without trailing zeros: 3.500 -> 3.5, 28.000 -> 28."""
    if value is None or value == "":
        return ""
    return quantity_text(value)


# Placeholders no real id can be mistaken for inside a reversed address.
_MARKS = ("9081726354", "9182736455")


@functools.cache
def _pattern(name: str, arguments: int) -> str:
    """The address of the register's view `name` with `{0}`, `{1}` for its ids: reversed once per process,
    since the screen shows about twenty of them per cart and reverse() resolves the URLconf every time."""
    url = reverse(f"pos:{name}", args=_MARKS[:arguments])
    for index, mark in enumerate(_MARKS[:arguments]):
        url = url.replace(mark, "{" + str(index) + "}")
    return url


@register.filter
def cart_url(cart_id, name: str) -> str:
    """`{{ cart.pk|cart_url:"register_scan" }}`: what `{% url 'pos:register_scan' cart.pk %}` gives."""
    return _pattern(name, 1).format(int(cart_id))


@register.filter
def line_url(line, name: str) -> str:
    """`{{ row.line|line_url:"register_line_remove" }}`: the address of a cart line's own action."""
    return _pattern(name, 2).format(int(line.cart_id), int(line.pk))
