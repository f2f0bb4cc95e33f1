"""Every write of the point of sale, one module per use-case family; the sale's are re-exported here."""

from pos.services.sales import (
    TenderInput,
    line_event,
    sale_complete,
    sale_refund,
    sale_void,
)

__all__ = [
    "TenderInput",
    "line_event",
    "sale_complete",
    "sale_refund",
    "sale_void",
]
