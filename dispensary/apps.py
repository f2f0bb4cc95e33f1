from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DispensaryConfig(AppConfig):
    name = "dispensary"
    verbose_name = "Dispensary core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dispensary import event_types  # noqa: F401 - registers the core's event types

        post_migrate.connect(_sync_roles, dispatch_uid="dispensary.sync_roles")


def _sync_roles(sender, app_config=None, using="default", **kwargs) -> None:
    # Runs after every migrate, so permissions of apps migrated later are added to the roles then.
    from dispensary.roles_sync import roles_sync

    roles_sync(using=using)
