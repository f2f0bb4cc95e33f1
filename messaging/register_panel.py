"""What the budtender sees of messaging on the register's customer panel (loaded when opened, read only): the
customer's last messages (when, what, status), their last clicks, and their open personal coupons (code,
promotion, valid until) with a button that applies one to the current cart through the register's own coupon
form. Four queries and the logged read, as on the rest of the panel."""

from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dispensary.inputs import id_parse
from dispensary.models import Customer
from dispensary.selectors import customer_record_viewed
from dispensary.views.access import staff_view
from messaging.models import MessageStatusEvent, OutboundMessage
from pos.models import Coupon

RECENT = 5
REGISTER_PERMISSIONS = ("dispensary.view_customer", "pos.add_sale")


@dataclass
class CustomerMessaging:
    messages: list[OutboundMessage]
    clicks: list[MessageStatusEvent]
    coupons: list[Coupon]


def customer_messaging_get(*, customer: Customer) -> CustomerMessaging:
    clicked = MessageStatusEvent.objects.filter(
        message_id=OuterRef("pk"), status=MessageStatusEvent.Engagement.CLICKED
    )
    messages = list(
        OutboundMessage.objects.filter(organization_id=customer.organization_id, customer=customer)
        .annotate(was_clicked=Exists(clicked))
        .order_by("-created_at", "-id")[:RECENT]
    )
    clicks = list(
        MessageStatusEvent.objects.filter(
            message__customer=customer,
            message__organization_id=customer.organization_id,
            status=MessageStatusEvent.Engagement.CLICKED,
        )
        .select_related("message")
        .order_by("-occurred_at", "-id")[:RECENT]
    )
    now = timezone.now()
    coupons = list(
        Coupon.objects.filter(organization_id=customer.organization_id, customer=customer, active=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=now))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .select_related("promotion")
        .order_by(F("valid_until").asc(nulls_last=True), "code")[:20]
    )
    return CustomerMessaging(messages, clicks, coupons)


@require_GET
@staff_view(*REGISTER_PERMISSIONS)
def register_customer_messaging(request, pk: int):
    """The panel's fragment for one customer of the member's organization (404 otherwise). `?cart=<id>` is the
    register's open cart, for the apply buttons."""
    customer = get_object_or_404(Customer, pk=pk, organization=request.organization)
    found = customer_messaging_get(customer=customer)
    customer_record_viewed(
        customer=customer, actor=request.user, store=request.store or None, via="pos_messages"
    )
    return render(
        request,
        "messaging/_register_customer.html",
        {"customer": customer, "found": found, "cart_id": id_parse(request.GET.get("cart", ""))},
    )
