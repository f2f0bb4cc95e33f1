"""Compliance reports: what regulators ask a store for, as rows a page, a CSV and a PDF render alike.

- `inventory`: inventory reconciliation for a period, three-way reconciliation (counted, platform, state), the
  waste and destruction log;
- `patients`: medical program demographics;
- `sales`: daily sales by product category and customer type, with each tax.

A report is one module returning a `Document`, one view in compliance.reporting.views and one line in `REPORTS`
below."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportEntry:
    """One report on the index page: where it lives and who may open it."""

    url_name: str
    title: str
    description: str
    permissions: tuple[str, ...]


RECONCILIATION_PERMISSIONS = ("inventory.view_stockmovement", "inventory.view_inventorycount")
THREE_WAY_PERMISSIONS = ("inventory.view_package", "inventory.view_inventorycount")
WASTE_PERMISSIONS = ("inventory.view_wasterecord", "compliance.view_syncrecord")
# A management report for the state: budtenders read patients at the counter but not the programme's figures.
DEMOGRAPHICS_PERMISSIONS = ("compliance.view_patientregistration", "compliance.view_syncrecord")
SALES_PERMISSIONS = (*RECONCILIATION_PERMISSIONS, "pos.view_sale")
AUDIT_PERMISSIONS = ("dispensary.view_auditrecord", "inventory.view_stockmovement")
AUDIT_PATIENT_PERMISSIONS = (
    *AUDIT_PERMISSIONS,
    "dispensary.view_customer",
    "compliance.view_patientregistration",
)
PURCHASE_HISTORY_PERMISSIONS = (*AUDIT_PATIENT_PERMISSIONS, "pos.view_sale")

REPORTS = [
    ReportEntry(
        "reconciliation",
        "Inventory reconciliation",
        "Per package for a period: opening + received + returned − sold − delivered ± adjusted − wasted = closing.",
        RECONCILIATION_PERMISSIONS,
    ),
    ReportEntry(
        "three_way",
        "Three-way reconciliation",
        "Per package: the last approved count, the platform's on hand and the state's quantity.",
        THREE_WAY_PERMISSIONS,
    ),
    ReportEntry(
        "waste",
        "Waste and destruction log",
        "Waste for a period with method, waste weight, witness, and whether the state accepted its report.",
        WASTE_PERMISSIONS,
    ),
    ReportEntry(
        "demographics",
        "Medical program demographics",
        "Active patients by qualifying condition and by age band on a date.",
        DEMOGRAPHICS_PERMISSIONS,
    ),
    ReportEntry(
        "sales",
        "Daily sales",
        "Sales, units, net sales, discounts and each tax by product category and customer type, net of refunds.",
        SALES_PERMISSIONS,
    ),
]
