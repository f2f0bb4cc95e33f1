from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from delivery.views import can_manage_zones
        from dispensary.navigation import NavLink, nav_link_register
        from dispensary.views.access import can_see_driver_home

        nav_link_register(NavLink("Delivery", "delivery:driver_home", 50, can_see_driver_home))
        nav_link_register(
            NavLink(
                "Delivery zones",
                "delivery:zones_current",
                72,
                can_manage_zones,
                group="settings",
                owns=("/delivery/stores/",),
            )
        )
        nav_link_register(
            NavLink(
                "Drivers and shifts",
                "delivery:fleet_current",
                73,
                can_manage_zones,
                group="settings",
                owns=("/delivery/fleet/",),
            )
        )
