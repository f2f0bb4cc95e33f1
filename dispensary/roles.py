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
_SALES_DESK = ["pos.view_sale", "pos.add_sale"]
_MANAGEMENT = [
    *_CUSTOMER_DESK,
    *_SALES_DESK,
    "pos.approve_refund",
    "dispensary.view_store",
    "dispensary.view_auditrecord",
    "dispensary.view_outboxevent",
    "dispensary.view_eventdelivery",
    "dispensary.retry_eventdelivery",
    "dispensary.view_apiclient",
]
_STOCK_READ = ["inventory.view_product", "inventory.view_package", "inventory.view_stockmovement"]
_STOCK_WORK = [
    *_STOCK_READ,
    "inventory.add_product",
    "inventory.change_product",
    "inventory.change_package",
    "inventory.adjust_package",
    "inventory.view_incomingtransfer",
    "inventory.add_incomingtransfer",
    "inventory.change_incomingtransfer",
    "inventory.approve_incomingtransfer",
    "inventory.view_wasterecord",
    "inventory.add_wasterecord",
    "inventory.view_inventorycount",
    "inventory.add_inventorycount",
    "inventory.change_inventorycount",
    "inventory.approve_inventorycount",
    "inventory.view_recall",
    "inventory.add_recall",
]
# Compliance: managers, owners and compliance officers oversee reports to the state and looping alerts;
# budtenders record medical cards, recommendations and caregivers at the counter (and so must see them).
_PATIENT_READ = [
    "compliance.view_patientregistration",
    "compliance.view_recommendation",
    "compliance.view_caregiverlink",
]
_PATIENT_DESK = [
    *_PATIENT_READ,
    "compliance.add_patientregistration",
    "compliance.change_patientregistration",
    "compliance.add_recommendation",
    "compliance.change_recommendation",
    "compliance.add_caregiverlink",
    "compliance.change_caregiverlink",
]
_COMPLIANCE_OVERSIGHT = [
    "compliance.view_syncrecord",
    "compliance.resolve_syncrecord",
    "compliance.view_loopingalert",
    "compliance.change_loopingalert",
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
        *_STOCK_WORK,
        *_COMPLIANCE_OVERSIGHT,
        *_PATIENT_DESK,
    ],
    Role.MANAGER: [
        *_MANAGEMENT,
        "dispensary.view_user",
        *_STOCK_WORK,
        *_COMPLIANCE_OVERSIGHT,
        *_PATIENT_DESK,
    ],
    Role.COMPLIANCE_OFFICER: [
        "dispensary.view_customer",
        "dispensary.view_store",
        "dispensary.view_auditrecord",
        "dispensary.view_outboxevent",
        "dispensary.view_eventdelivery",
        *_STOCK_READ,
        "inventory.view_incomingtransfer",
        "inventory.view_wasterecord",
        "inventory.view_inventorycount",
        "inventory.view_recall",
        "inventory.add_recall",
        *_COMPLIANCE_OVERSIGHT,
        *_PATIENT_READ,
    ],
    Role.INVENTORY_MANAGER: ["dispensary.view_store", *_STOCK_WORK],
    Role.BUDTENDER: [*_CUSTOMER_DESK, *_SALES_DESK, "dispensary.view_store", *_STOCK_READ, *_PATIENT_DESK],
    Role.DRIVER: ["dispensary.view_store"],
}

# Cash drawers (open, drops, paid in and out, blind close): budtenders and management.
for _role in (Role.OWNER, Role.MANAGER, Role.BUDTENDER):
    ROLE_PERMISSIONS[_role].append("pos.manage_drawer")
# Pickup orders: owners, managers and budtenders place, read and cancel them (the counter and staff tokens).
for _role in (Role.OWNER, Role.MANAGER, Role.BUDTENDER):
    ROLE_PERMISSIONS[_role] += ["pos.view_pickuporder", "pos.add_pickuporder", "pos.change_pickuporder"]
    # The in-store kiosk: staff sign a tablet into kiosk mode for their store, and sign it out again.
    ROLE_PERMISSIONS[_role].append("pos.use_kiosk")
# Promotions, coupons and loyalty settings: owners and managers configure their organization's; they read the
# coupon results.
for _role in (Role.OWNER, Role.MANAGER):
    for _model in ("promotion", "coupon", "loyaltyprogram", "loyaltytier", "pointsmultiplier", "reward"):
        ROLE_PERMISSIONS[_role] += [f"pos.view_{_model}", f"pos.add_{_model}", f"pos.change_{_model}"]
    ROLE_PERMISSIONS[_role].append("pos.view_couponredemption")
# Messaging (issue 14): owners and managers run it (the queue, senders, templates, deliverability, alerts);
# budtenders read and answer the store's inbox of customers' replies.
for _role in (Role.OWNER, Role.MANAGER):
    ROLE_PERMISSIONS[_role] += [
        "messaging.view_outboundmessage",
        "messaging.view_suppression",
        "messaging.view_sender",
        "messaging.add_sender",
        "messaging.change_sender",
        "messaging.view_messagetemplate",
        "messaging.add_messagetemplate",
        "messaging.change_messagetemplate",
        "messaging.view_messagingalert",
        "messaging.change_messagingalert",
        # The flow editor (issue 15).
        "messaging.view_flow",
        "messaging.add_flow",
        "messaging.change_flow",
    ]
for _role in (Role.OWNER, Role.MANAGER, Role.BUDTENDER):
    ROLE_PERMISSIONS[_role] += ["messaging.view_inboundmessage", "messaging.change_inboundmessage"]
# Integrations (issue 15): owners and managers connect their organization's Klaviyo account.
for _role in (Role.OWNER, Role.MANAGER):
    ROLE_PERMISSIONS[_role] += ["messaging.view_klaviyoaccount", "messaging.change_klaviyoaccount"]
# Alpine IQ and Springbig (issue 15): owners and managers keep the keys and run the sync.
for _role in (Role.OWNER, Role.MANAGER):
    ROLE_PERMISSIONS[_role] += ["messaging.view_loyaltysyncsettings", "messaging.change_loyaltysyncsettings"]
# Segments (issue 15): owners and managers build and read them (members are customers' personal data).
for _role in (Role.OWNER, Role.MANAGER):
    ROLE_PERMISSIONS[_role] += ["messaging.view_segment", "messaging.add_segment", "messaging.change_segment"]
# Campaigns (issue 15): owners and managers write, schedule, test-send and cancel them.
for _role in (Role.OWNER, Role.MANAGER):
    ROLE_PERMISSIONS[_role] += [
        "messaging.view_campaign",
        "messaging.add_campaign",
        "messaging.change_campaign",
    ]
