from django.apps import AppConfig

# Plain words of the dispatch board's audit actions and events (dispensary.wording).
DISPATCH_WORDS = {
    "dispatch.planned": "Delivery routes planned",
    "trip.planned": "Delivery route planned",
    "trip.order_added": "Order put on a delivery route by hand",
    "trip.order_moved": "Order moved to another delivery route",
    "trip.order_removed": "Order taken off a delivery route",
    "trip.order_inserted": "Late order inserted into a delivery route",
    "trip.locked": "Delivery route locked",
    "trip.unlocked": "Delivery route unlocked",
    "trip.cancelled": "Delivery route cancelled",
    "delivery.route_planned": "Delivery route planned or changed",
}


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from delivery import events  # noqa: F401 - registers the event types
        from delivery.views import can_manage_zones
        from delivery.views_analytics import can_see_delivery_analytics
        from delivery.views_dispatch import can_dispatch
        from dispensary.navigation import NavLink, nav_link_register
        from dispensary.views.access import can_see_driver_home
        from dispensary.wording import words_add

        words_add(DISPATCH_WORDS)

        from delivery.state_records import delivered_sale_change_refusal
        from pos.services.sales import sale_change_guard_register

        # A sale reported to the state as part of a delivery record is not voided or refunded as a receipt.
        sale_change_guard_register(delivered_sale_change_refusal)

        # Many links (a manager's) put the driver view, dispatch and analytics in one Delivery menu.
        nav_link_register(
            NavLink("Delivery", "delivery:driver_home", 50, can_see_driver_home, group="delivery")
        )
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
        nav_link_register(
            NavLink(
                "Dispatch",
                "delivery:dispatch_current",
                51,
                can_dispatch,
                group="delivery",
                owns=("/delivery/dispatch/",),
            )
        )
        nav_link_register(
            NavLink(
                "Delivery analytics", "delivery:analytics", 52, can_see_delivery_analytics, group="delivery"
            )
        )
