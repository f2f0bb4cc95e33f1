"""Attribution's reactions to the register's sales: credit a completed sale to a message, take the credit back
when it is voided, lower its revenue when it is refunded. Each is idempotent (one conversion per sale; the void
keeps its first time; the refund computes the revenue again from the sale)."""

from django.utils.dateparse import parse_datetime

from dispensary.events import handles
from messaging.attribution import conversion_record, conversion_revenue_update, conversion_reverse
from pos.events import SaleCompleted, SaleRefunded, SaleVoided


@handles(SaleCompleted)
def on_sale_completed_attribute(event: SaleCompleted) -> None:
    conversion_record(sale_id=event.sale_id)


@handles(SaleVoided)
def on_sale_voided_attribute(event: SaleVoided) -> None:
    conversion_reverse(sale_id=event.sale_id, at=parse_datetime(event.voided_at) if event.voided_at else None)


@handles(SaleRefunded)
def on_sale_refunded_attribute(event: SaleRefunded) -> None:
    conversion_revenue_update(sale_id=event.sale_id)
