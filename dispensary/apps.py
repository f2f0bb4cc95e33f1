from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DispensaryConfig(AppConfig):
    name = "dispensary"
    verbose_name = "Dispensary core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.urls import register_converter

        from dispensary import (
            access_cache,  # noqa: F401 - any process changing a member bumps the version
            event_types,  # noqa: F401 - registers the core's event types
        )
        from dispensary.inputs import IdConverter
        from dispensary.lookups import integer_lookups_register

        # `<id:pk>` in every URL: a row id within 64 bits; a longer number is no URL (404), not a 500.
        register_converter(IdConverter, "id")
        integer_lookups_register()

        post_migrate.connect(_sync_roles, dispatch_uid="dispensary.sync_roles")
        post_migrate.connect(_append_only_triggers, dispatch_uid="dispensary.append_only_triggers")
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


def _append_only_triggers(sender, app_config=None, using="default", **kwargs) -> None:
    # On SQLite, Django alters a table by building a new one and dropping the old, which drops its triggers:
    # after every migrate the append-only triggers are put back where missing (PostgreSQL keeps them).
    from django.db import connections

    from dispensary.append_only import TABLES, sqlite_create

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in TABLES:
            if table in existing:
                for statement in sqlite_create(table):
                    cursor.execute(statement)
