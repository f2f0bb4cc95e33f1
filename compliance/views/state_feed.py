"""Actions that read from the state into inventory pages: fetch incoming manifests for receiving, and fill
the state column of a count sheet. Inventory's pages link here; inventory never imports compliance."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from compliance.state_feed import (
    StateUnavailable,
    count_state_quantities_fill,
    state_transfers_import,
    transfer_state_check,
)
from dispensary.views.access import staff_view
from inventory.models import IncomingTransfer, InventoryCount


@require_POST
@staff_view("inventory.add_incomingtransfer")
def state_transfers_fetch(request):
    try:
        created = state_transfers_import(store=request.store, actor=request.user)
    except StateUnavailable as error:
        messages.error(request, error.message)
    else:
        if created:
            numbers = ", ".join(transfer.manifest_number for transfer in created)
            messages.success(request, f"{len(created)} incoming manifest(s) from the state: {numbers}.")
        else:
            messages.info(request, "The state lists no new incoming manifests for this store.")
    return redirect("inventory:transfer_index")


@require_POST
@staff_view("inventory.view_inventorycount", "inventory.approve_inventorycount")
def count_state_fill(request, pk: int):
    count = get_object_or_404(InventoryCount, pk=pk, store=request.store)
    try:
        filled = count_state_quantities_fill(count=count, actor=request.user)
    except StateUnavailable as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"State quantities filled for {filled} package(s).")
    return redirect("inventory:count_review", pk=count.pk)


@require_POST
@staff_view("inventory.view_incomingtransfer")
def transfer_state_check_view(request, pk: int):
    """Compare a manifest being received with the state's incoming transfer of the same number."""
    transfer = get_object_or_404(IncomingTransfer, pk=pk, store=request.store)
    try:
        check = transfer_state_check(transfer=transfer, actor=request.user)
    except StateUnavailable as error:
        messages.error(request, error.message)
        return redirect("inventory:transfer_detail", pk=transfer.pk)
    return render(request, "compliance/transfer_state_check.html", {"transfer": transfer, "check": check})
