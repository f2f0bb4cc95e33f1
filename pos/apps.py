from django.apps import AppConfig


class PosConfig(AppConfig):
    name = "pos"
    verbose_name = "Point of sale"
    default_auto_field = "django.db.models.BigAutoField"
