"""The reports' and the audit center's links in the top bar, shown to those their pages let in."""

from compliance.reporting.reports import AUDIT_PERMISSIONS, REPORTS
from dispensary.navigation import NavLink, nav_link_register


def _may_see_a_report(user) -> bool:
    return user.is_superuser or any(user.has_perms(entry.permissions) for entry in REPORTS)


def offer_links() -> None:
    nav_link_register(
        NavLink("Reports", "compliance:reports:index", 60, _may_see_a_report, group="compliance")
    )
    nav_link_register(
        NavLink(
            "Audit center",
            "compliance:reports:audit_search",
            61,
            lambda user: user.has_perms(AUDIT_PERMISSIONS),
            group="compliance",
        )
    )
