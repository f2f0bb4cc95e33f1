from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dispensary.navigation import NavLink, nav_link_register
        from dispensary.wording import words_add
        from inventory.services.stock import AdjustmentReason

        words_add(dict(AdjustmentReason.CHOICES))

        nav_link_register(
            NavLink(
                "Inventory", "inventory:stock_index", 40, lambda user: user.has_perm("inventory.view_package")
            )
        )
