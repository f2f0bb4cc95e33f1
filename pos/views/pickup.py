"""The store's pickup orders of the day, for the counter: what to prepare, and cancelling an order (its stock
goes back on the shelf). Orders of other stores are not found."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError
from dispensary.forms import ApplicationErrorForm
from dispensary.views.access import staff_view
from pos.selectors.pickup import OPEN_STATUSES, pickup_order_get, pickup_orders_for_day
from pos.services.pickup import pickup_order_cancel, pickup_order_ready


class PickupCancelForm(ApplicationErrorForm):
    reason = forms.CharField(max_length=500, label="Reason")


def _page(request, *, form=None, form_order_id=None, status=200):
    orders = list(pickup_orders_for_day(store=request.store, day=store_local_date(request.store)))
    return render(
        request,
        "pos/pickup_orders.html",
        {
            "orders": orders,
            "open_statuses": OPEN_STATUSES,
            "can_cancel": request.user.has_perm("pos.change_pickuporder"),
            "form": form,
            "form_order_id": form_order_id,
        },
        status=status,
    )


@staff_view("pos.view_pickuporder")
def pickup_orders(request):
    return _page(request)


@require_POST
@staff_view("pos.change_pickuporder")
def pickup_order_cancel_view(request, order_id: int):
    order = pickup_order_get(stores=[request.store], order_id=order_id)
    if order is None:
        raise Http404
    form = PickupCancelForm(request.POST)
    if form.is_valid():
        try:
            pickup_order_cancel(order=order, actor=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(
                request, f"Pickup order {order.pk} is cancelled; its stock is back on the shelf."
            )
            return redirect("pos:pickup_orders")
    return _page(request, form=form, form_order_id=order.pk, status=400)


@require_POST
@staff_view("pos.change_pickuporder")
def pickup_order_ready_view(request, order_id: int):
    """The order is prepared: the customer is told it waits at the counter."""
    order = pickup_order_get(stores=[request.store], order_id=order_id)
    if order is None:
        raise Http404
    try:
        pickup_order_ready(order=order, actor=request.user)
    except ApplicationError as error:
        messages.error(request, f"Order #{order.pk}: {error.message}")
    else:
        messages.success(request, f"Pickup order {order.pk} is ready; the customer is told.")
    return redirect("pos:pickup_orders")
