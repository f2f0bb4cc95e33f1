"""Point of sale: registers and drawers, the check-in queue, carts, sales, refunds, discounts, loyalty."""

from django.apps import AppConfig


class PosConfig(AppConfig):
    name = "pos"
    verbose_name = "Point of sale"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from inventory.recall_parties import register_party_resolver
        from pos.selectors import loyalty, promotions, quote, sale_parties  # noqa: F401 - watch their rows (caches)

        register_party_resolver("sale", sale_parties)
        _offer_links()


def _offer_links() -> None:
    from dispensary.navigation import NavLink, nav_link_register

    def has(*perms):
        return lambda user: user.has_perms(perms)

    sell = has("pos.add_sale", "dispensary.view_customer")
    for link in [
        # The counter's customer lookup (/pos/) is part of selling.
        NavLink("Register", "pos:register", 20, sell, group="counter", owns=("=/pos/",)),
        NavLink("Queue", "pos:queue", 21, has("dispensary.view_customer"), group="counter"),
        NavLink("Pickups", "pos:pickup_orders", 22, has("pos.view_pickuporder"), group="counter"),
        NavLink("Sales", "pos:sale_index", 23, has("pos.view_sale"), group="counter"),
        NavLink(
            "Drawers", "pos:drawer_index", 24, has("pos.manage_drawer"), group="counter", owns=("/pos/pin/",)
        ),
    ]:
        nav_link_register(link)
    nav_link_register(
        NavLink(
            "Promotions",
            "pos:promotion_index",
            70,
            has("pos.view_promotion"),
            group="settings",
            owns=("/pos/settings/",),
        )
    )
