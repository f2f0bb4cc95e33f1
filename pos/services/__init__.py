"""Every write of the point of sale, one module per use-case family; the sale's are re-exported here."""

from pos.services.sales import (
    SaleLineInput,
    TenderInput,
    line_event,
    sale_complete,
    sale_refund,
    sale_void,
)

__all__ = [
    "SaleLineInput",
    "TenderInput",
    "line_event",
    "sale_complete",
    "sale_refund",
    "sale_void",
]
