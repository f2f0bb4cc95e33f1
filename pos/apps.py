"""Point of sale: registers and drawers, the check-in queue, carts, sales, refunds, discounts, loyalty."""

from django.apps import AppConfig


class PosConfig(AppConfig):
    name = "pos"
    verbose_name = "Point of sale"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from inventory.recall_parties import register_party_resolver
        from pos.selectors import sale_parties

        register_party_resolver("sale", sale_parties)
