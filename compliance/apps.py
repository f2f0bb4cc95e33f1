from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from compliance import selectors  # noqa: F401 - watches the rule rows for the rules cache
        from compliance.reporting import (
            handlers,  # noqa: F401 - registers the state reporting handlers
            trip_records,  # noqa: F401 - the state's records of delivery trips
        )
        from compliance.reporting.navigation import offer_links as offer_report_links
        from dispensary.navigation import NavLink, nav_link_register

        nav_link_register(
            NavLink(
                "State sync",
                "compliance:sync_index",
                62,
                lambda user: user.has_perm("compliance.view_syncrecord"),
                group="compliance",
                owns=("/compliance/state/",),
            )
        )
        nav_link_register(
            NavLink(
                "Looping alerts",
                "compliance:alert_index",
                63,
                lambda user: user.has_perm("compliance.view_loopingalert"),
                group="compliance",
            )
        )
        offer_report_links()
