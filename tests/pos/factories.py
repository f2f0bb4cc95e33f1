"""Point-of-sale test helpers."""

from decimal import Decimal

from django.utils import timezone

from pos.models import DrawerSession, Register


def register_with_drawer(
    store, staff, name: str = "Register 1", opening: Decimal = Decimal("200.00")
) -> Register:
    """A register whose drawer is open (cash sales need one)."""
    register = Register.objects.create(store=store, name=name)
    DrawerSession.objects.create(
        register=register, store=store, opened_by=staff, opened_at=timezone.now(), opening_amount=opening
    )
    return register
