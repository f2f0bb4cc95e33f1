"""Sales screens: the store's sales of a day or found by receipt number, and one sale with its lines, taxes,
tenders and refunds, where a sale of today is voided and lines are refunded, each with a manager's PIN."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError
from dispensary.selectors import customer_record_viewed
from dispensary.views.access import staff_view
from inventory.models import quantity_text
from pos.forms import SaleFilterForm, SaleRefundForm, SaleVoidForm
from pos.models import Sale, Tender
from pos.selectors.returns import sale_detail_get, store_sale_list
from pos.services import sale_refund, sale_void
from pos.services.sales import sale_change_refusal

VIEW = "pos.view_sale"
SELL = "pos.add_sale"
PAGE_SIZE = 50


@staff_view(VIEW)
def sale_index(request):
    today = store_local_date(request.store)
    form = SaleFilterForm(request.GET or None)
    day, receipt = None, ""
    if form.is_valid():
        day, receipt = form.cleaned_data["day"], form.cleaned_data["q"].strip()
    if receipt:
        # A scanned receipt opens its sale straight away.
        exact = store_sale_list(store=request.store, day=day).filter(receipt_number__iexact=receipt)
        matches = list(exact.values_list("pk", flat=True)[:2])
        if len(matches) == 1:
            return redirect("pos:sale_detail", pk=matches[0])
    elif day is None:
        day = today
    sales = store_sale_list(store=request.store, day=day, receipt=receipt)
    page = Paginator(sales, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "pos/sales/index.html",
        {"page": page, "form": form, "day": day, "receipt": receipt, "today": today},
    )


def _store_sale(request, pk: int) -> Sale:
    sale = sale_detail_get(store=request.store, sale_id=pk)
    if sale is None:
        raise Http404("No such sale at this store.")
    return sale


def _detail_response(request, sale: Sale, *, void_form=None, refund_form=None):
    if sale.customer is not None:
        customer_record_viewed(
            customer=sale.customer, actor=request.user, store=request.store, via="pos.sale"
        )
    lines = list(sale.lines.all())
    completed = sale.status == Sale.Status.COMPLETED
    can_act = completed and request.user.has_perm(SELL)
    # A sale the state's records cannot take back (reported as part of a delivery) offers neither, and says why.
    state_refusal = sale_change_refusal(sale, "void") if completed else None
    voidable = completed and not state_refusal and sale.local_date == store_local_date(request.store)
    refundable = not state_refusal and any(line.remaining_quantity > 0 for line in lines)
    context = {
        "sale": sale,
        "lines": lines,
        "tenders": list(sale.tenders.all()),
        "refunds": list(sale.refunds.all()),
        "voidable": voidable,
        "state_refusal": state_refusal,
        "refundable": completed and refundable,
        "void_form": None,
        "refund_form": None,
        "open_panel": "void" if void_form is not None else "refund" if refund_form is not None else None,
    }
    # A refused form is shown with its message even when the action is no longer offered.
    if void_form is not None or (can_act and voidable):
        context["void_form"] = void_form or SaleVoidForm(
            store=request.store, user=request.user, prefix="void"
        )
    if refund_form is not None or (can_act and refundable):
        context["refund_form"] = refund_form or SaleRefundForm(
            store=request.store, user=request.user, sale=sale, lines=lines, prefix="refund"
        )
    return render(request, "pos/sales/detail.html", context)


@staff_view(VIEW)
def sale_detail(request, pk: int):
    return _detail_response(request, _store_sale(request, pk))


@require_POST
@staff_view(VIEW, SELL)
def sale_void_view(request, pk: int):
    sale = _store_sale(request, pk)
    form = SaleVoidForm(request.POST, store=request.store, user=request.user, prefix="void")
    if form.is_valid():
        try:
            sale_void(sale=sale, actor=request.user, approver=form.approver)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            notice = (
                f"Sale {sale.receipt_number} is voided and its stock is back on the shelf. "
                f"Give back ${sale.total - sale.refunded_total} the way it was paid."
            )
            messages.success(request, notice)
            return redirect("pos:sale_detail", pk=sale.pk)
    return _detail_response(request, _store_sale(request, pk), void_form=form)


@require_POST
@staff_view(VIEW, SELL)
def sale_refund_view(request, pk: int):
    sale = _store_sale(request, pk)
    form = SaleRefundForm(
        request.POST,
        store=request.store,
        user=request.user,
        sale=sale,
        lines=list(sale.lines.all()),
        prefix="refund",
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            refund = sale_refund(
                sale=sale,
                lines=form.refund_lines,
                reason=data["reason"],
                actor=request.user,
                approver=form.approver,
                waste_reason=data["waste_reason"],
                tender_kind=data["tender_kind"],
                register=data["register"] if data["tender_kind"] == Tender.Kind.CASH else None,
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            pieces = ", ".join(
                f"{quantity_text(quantity)} × {line.product.name}" for line, quantity, _ in form.refund_lines
            )
            if refund.tender_kind == Tender.Kind.CASH:
                back = f"hand back ${refund.total} in cash from the drawer of {data['register'].name}"
            else:
                back = f"refund ${refund.total} to the customer's card"
            messages.success(request, f"Refunded {pieces}: {back}.")
            return redirect("pos:sale_detail", pk=sale.pk)
    return _detail_response(request, _store_sale(request, pk), refund_form=form)
