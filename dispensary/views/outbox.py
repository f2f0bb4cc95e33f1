"""Dead letters: deliveries that ran out of attempts, for a manager to read and retry."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.models import EventDelivery
from dispensary.selectors import dead_letter_list
from dispensary.services import event_delivery_retry
from dispensary.views.access import staff_view

PAGE_SIZE = 50


@staff_view("dispensary.view_eventdelivery")
def dead_letter_index(request):
    deliveries = dead_letter_list(organization=request.organization).order_by(
        F("last_attempt_at").desc(nulls_last=True), "-id"
    )
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dispensary/dead_letters.html",
        {"page": page, "can_retry": request.user.has_perm("dispensary.retry_eventdelivery")},
    )


@require_POST
@staff_view("dispensary.view_eventdelivery", "dispensary.retry_eventdelivery")
def dead_letter_retry(request, pk: int):
    delivery = get_object_or_404(
        EventDelivery.objects.select_related("event"), pk=pk, event__organization=request.organization
    )
    error = None
    try:
        delivery = event_delivery_retry(delivery=delivery, actor=request.user)
    except ApplicationError as failure:
        error = failure.message
    if request.htmx:
        return render(
            request,
            "dispensary/_dead_letter_row.html",
            {"delivery": delivery, "retried": error is None, "error": error, "can_retry": True},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{delivery.event.name} → {delivery.handler} is queued for delivery again.")
    return redirect("dead_letters")
