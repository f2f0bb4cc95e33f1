"""Every non-trivial read of the point of sale, one module per topic; the sales' are re-exported here."""

from pos.selectors.sales import (
    customer_limit_history,
    customer_purchase_list,
    sale_get,
    sale_list,
    sale_parties,
    tax_specs_in_force,
)

__all__ = [
    "customer_limit_history",
    "customer_purchase_list",
    "sale_get",
    "sale_list",
    "sale_parties",
    "tax_specs_in_force",
]
