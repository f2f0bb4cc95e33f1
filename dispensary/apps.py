from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DispensaryConfig(AppConfig):
    name = "dispensary"
    verbose_name = "Dispensary core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dispensary import event_types  # noqa: F401 - registers the core's event types

        post_migrate.connect(_sync_roles, dispatch_uid="dispensary.sync_roles")
        _offer_links()


def _offer_links() -> None:
    from dispensary.navigation import NavLink, nav_link_register
    from dispensary.views.access import can_see_dashboard

    nav_link_register(NavLink("Dashboard", "dashboard", 10, can_see_dashboard))
    nav_link_register(
        NavLink(
            "Customers",
            "customer_index",
            30,
            lambda user: user.has_perm("dispensary.view_customer"),
            owns=("/pos/customers/", "/compliance/patients/"),
        )
    )
    nav_link_register(
        NavLink(
            "Event outbox",
            "dead_letters",
            71,
            lambda user: user.has_perm("dispensary.view_eventdelivery"),
            group="settings",
        )
    )


def _sync_roles(sender, app_config=None, using="default", **kwargs) -> None:
    # Runs after every migrate, so permissions of apps migrated later are added to the roles then.
    from dispensary.roles_sync import roles_sync

    roles_sync(using=using)
