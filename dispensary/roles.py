"""Staff roles: each is a Django group with model permissions; which stores a member may work at is a
django-guardian object permission (`dispensary.access_store`), granted per store."""

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    COMPLIANCE_OFFICER = "compliance_officer"
    INVENTORY_MANAGER = "inventory_manager"
    BUDTENDER = "budtender"
    DRIVER = "driver"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def primary(cls, names) -> "Role | None":
        """The role that decides a member's landing page when they hold several."""
        held = set(names)
        for role in PRECEDENCE:
            if role.value in held:
                return role
        return None


PRECEDENCE = [
    Role.OWNER,
    Role.MANAGER,
    Role.COMPLIANCE_OFFICER,
    Role.INVENTORY_MANAGER,
    Role.BUDTENDER,
    Role.DRIVER,
]

# Model permissions per role, as "app_label.codename". Permissions of apps that do not define them yet are
# skipped by roles_sync and picked up when it runs again after their migrations (it runs after every migrate).
_CUSTOMER_DESK = ["dispensary.view_customer", "dispensary.add_customer", "dispensary.change_customer"]
_MANAGEMENT = [
    *_CUSTOMER_DESK,
    "dispensary.view_store",
    "dispensary.view_auditrecord",
    "dispensary.view_outboxevent",
    "dispensary.view_eventdelivery",
    "dispensary.retry_eventdelivery",
    "dispensary.view_apiclient",
]
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.OWNER: [
        *_MANAGEMENT,
        "dispensary.change_store",
        "dispensary.add_apiclient",
        "dispensary.change_apiclient",
        "dispensary.view_user",
        "dispensary.add_user",
        "dispensary.change_user",
    ],
    Role.MANAGER: [*_MANAGEMENT, "dispensary.view_user"],
    Role.COMPLIANCE_OFFICER: [
        "dispensary.view_customer",
        "dispensary.view_store",
        "dispensary.view_auditrecord",
        "dispensary.view_outboxevent",
        "dispensary.view_eventdelivery",
    ],
    Role.INVENTORY_MANAGER: ["dispensary.view_store"],
    Role.BUDTENDER: [*_CUSTOMER_DESK, "dispensary.view_store"],
    Role.DRIVER: ["dispensary.view_store"],
}
