"""A sale's receipt: the 80 mm print page, and sending it by text or email (through ReceiptRequested). Only
staff of the sale's store may see or send it; anyone else gets a 404."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.forms import ApplicationErrorForm
from dispensary.phones import phone_display
from dispensary.views.access import staff_view
from pos.models import Sale
from pos.receipts import receipt_get
from pos.services.receipts import receipt_request


class ReceiptSendForm(ApplicationErrorForm):
    channel = forms.ChoiceField(
        choices=[("sms", "Text message"), ("email", "Email")], widget=forms.HiddenInput
    )
    destination = forms.CharField(max_length=254)


def _send_forms(receipt, bound: ReceiptSendForm | None = None) -> dict:
    """The two send forms, each with its destination defaulting to the customer's own; `bound` replaces
    the one that was posted (with its errors)."""
    defaults = {
        "sms": phone_display(receipt.customer_phone) if receipt.customer_phone else "",
        "email": receipt.customer_email,
    }
    posted = bound.data.get("channel") if bound is not None else None
    if posted not in defaults:
        posted = "sms"  # an unknown channel: its error shows on the first form
    result = {}
    for channel, destination in defaults.items():
        if bound is not None and posted == channel:
            result[f"{channel}_form"] = bound
        else:
            result[f"{channel}_form"] = ReceiptSendForm(
                initial={"channel": channel, "destination": destination}
            )
    return result


def _render(request, receipt, *, bound=None, notice: str = ""):
    context = {"receipt": receipt, "notice": notice, **_send_forms(receipt, bound)}
    if request.htmx:
        # htmx swaps only 2xx answers: the errors come back as a 200 partial.
        return render(request, "pos/_receipt_send.html", context)
    context["auto_print"] = request.GET.get("print") == "1"
    # At a register (chosen in this session), the next sale starts from here: one request, not two.
    context["at_register"] = bool(request.session.get("pos.register_id"))
    return render(request, "pos/receipt.html", context, status=400 if bound is not None else 200)


def _receipt_or_404(request, pk: int):
    receipt = receipt_get(sale_id=pk, stores=list(request.accessible_stores))
    if receipt is None:
        raise Http404("No such sale at your stores.")
    return receipt


@staff_view("pos.view_sale")
def receipt(request, pk: int):
    return _render(request, _receipt_or_404(request, pk))


@require_POST
@staff_view("pos.view_sale")
def receipt_send(request, pk: int):
    receipt = _receipt_or_404(request, pk)
    form = ReceiptSendForm(request.POST)
    if form.is_valid():
        sale = Sale.objects.select_related("store", "store__organization").get(pk=receipt.sale_id)
        try:
            destination = receipt_request(
                sale=sale,
                channel=form.cleaned_data["channel"],
                destination=form.cleaned_data["destination"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            channel = form.cleaned_data["channel"]
            shown = phone_display(destination) if channel == "sms" else destination
            notice = f"Receipt {receipt.receipt_number} is on its way to {shown}."
            if request.htmx:
                return _render(request, receipt, notice=notice)
            messages.success(request, notice)
            return redirect("pos:receipt", pk=receipt.sale_id)
    return _render(request, receipt, bound=form)
