"""Receiving: the store's incoming transfers, manifest upload, and one transfer's scanning screen where tags
are scanned off the truck, lines are accepted or rejected, and the transfer is completed into stock."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view
from inventory.forms import ManifestUploadForm, ScanForm
from inventory.models import IncomingTransfer, TransferLine, quantity_text
from inventory.services.receiving import (
    CSV_COLUMNS,
    REQUIRED_COLUMNS,
    transfer_complete,
    transfer_import_csv,
    transfer_line_decide,
    transfer_scan,
)

PAGE_SIZE = 25


def _transfer_index_response(request, upload_form=None, *, status: int = 200):
    transfers = (
        IncomingTransfer.objects.filter(store=request.store)
        .annotate(
            pending_first=Case(
                When(status=IncomingTransfer.Status.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            line_count=Count("lines", filter=Q(lines__on_manifest=True)),
            scanned_count=Count("lines", filter=Q(lines__scanned_at__isnull=False)),
        )
        .order_by("pending_first", "-created_at", "-id")
    )
    page = Paginator(transfers, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "upload_form": upload_form or ManifestUploadForm(),
        "columns": CSV_COLUMNS,
        "required_columns": REQUIRED_COLUMNS,
    }
    return render(request, "inventory/transfer_index.html", context, status=status)


@staff_view("inventory.view_incomingtransfer")
def transfer_index(request):
    return _transfer_index_response(request)


@require_POST
@staff_view("inventory.view_incomingtransfer", "inventory.add_incomingtransfer")
def transfer_upload(request):
    form = ManifestUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            transfer = transfer_import_csv(
                store=request.store, content=form.cleaned_data["manifest"].read(), actor=request.user
            )
        except ApplicationError as error:
            form.add_error("manifest", error.message)
            for row, problems in (error.details or {}).get("rows", {}).items():
                label = "Manifest" if row == "manifest" else f"Line {row}"
                for problem in problems:
                    form.add_error(None, f"{label}: {problem}")
        else:
            messages.success(
                request, f"Manifest {transfer.manifest_number} is ready to receive: scan each package."
            )
            return redirect("inventory:transfer_detail", pk=transfer.pk)
    return _transfer_index_response(request, form)


def _store_transfer(request, pk: int) -> IncomingTransfer:
    return get_object_or_404(IncomingTransfer, pk=pk, store=request.store)


def _line_hint(line: TransferLine) -> str:
    """What the discrepancy will be if the transfer completes as it stands."""
    if not line.on_manifest:
        return "Not on the manifest"
    if line.scanned_at is None:
        return "Not scanned yet" if line.transfer.status == IncomingTransfer.Status.PENDING else "Missing"
    difference = line.received_quantity - line.expected_quantity
    if difference < 0:
        return f"Short by {quantity_text(-difference)}"
    if difference > 0:
        return f"Over by {quantity_text(difference)}"
    return ""


def _work_context(request, transfer: IncomingTransfer, *, scan_form=None, notice="", error="") -> dict:
    transfer = IncomingTransfer.objects.get(pk=transfer.pk)
    lines = list(
        TransferLine.objects.filter(transfer=transfer)
        .select_related("product", "transfer")
        .order_by("scanned_at", "id")
    )
    # Lines still to scan first, in manifest order; then what was scanned, the latest on top.
    to_scan = [line for line in lines if line.scanned_at is None]
    scanned = sorted(
        (line for line in lines if line.scanned_at), key=lambda line: line.scanned_at, reverse=True
    )
    for line in lines:
        line.hint = _line_hint(line)
    pending = transfer.status == IncomingTransfer.Status.PENDING
    user = request.user
    return {
        "transfer": transfer,
        "lines": to_scan + scanned,
        "scanned_count": len(scanned),
        "manifest_count": sum(1 for line in lines if line.on_manifest),
        "scan_form": scan_form or ScanForm(auto_id="scan_%s"),
        "can_scan": pending and user.has_perm("inventory.change_incomingtransfer"),
        "can_decide": pending and user.has_perm("inventory.approve_incomingtransfer"),
        "undecided": sum(1 for line in scanned if line.decision == TransferLine.Decision.PENDING),
        "notice": notice,
        "error": error,
        "discrepancies": list(transfer.discrepancies.select_related("line")) if not pending else [],
    }


def _work_response(request, transfer, **kwargs):
    context = _work_context(request, transfer, **kwargs)
    if request.htmx:
        return render(request, "inventory/_transfer_work.html", context)
    return render(request, "inventory/transfer_detail.html", context)


@staff_view("inventory.view_incomingtransfer")
def transfer_detail(request, pk: int):
    return _work_response(request, _store_transfer(request, pk))


@require_POST
@staff_view("inventory.view_incomingtransfer", "inventory.change_incomingtransfer")
def transfer_scan_view(request, pk: int):
    transfer = _store_transfer(request, pk)
    form = ScanForm(request.POST, auto_id="scan_%s")
    if not form.is_valid():
        return _work_response(request, transfer, scan_form=form, error="Scan or type a package tag.")
    try:
        line = transfer_scan(
            transfer=transfer,
            tag=form.cleaned_data["tag"],
            quantity=form.cleaned_data["quantity"] or None,
            actor=request.user,
        )
    except ApplicationError as error:
        # Keep what was typed so a mistyped tag can be corrected; a scanner overwrites it anyway.
        return _work_response(request, transfer, scan_form=form, error=error.message)
    notice = f"{line.tag}: {quantity_text(line.received_quantity)} received."
    if not line.on_manifest:
        notice = f"{line.tag} is not on the manifest; recorded {quantity_text(line.received_quantity)}."
    return _work_response(request, transfer, notice=notice)


@require_POST
@staff_view("inventory.view_incomingtransfer", "inventory.approve_incomingtransfer")
def transfer_line_decide_view(request, pk: int, line_pk: int):
    transfer = _store_transfer(request, pk)
    line = get_object_or_404(TransferLine.objects.select_related("transfer"), pk=line_pk, transfer=transfer)
    accept = request.POST.get("decision") == "accept"
    try:
        line = transfer_line_decide(line=line, accept=accept, actor=request.user)
    except ApplicationError as error:
        return _work_response(request, transfer, error=error.message)
    return _work_response(request, transfer, notice=f"{line.tag} {'accepted' if accept else 'rejected'}.")


@require_POST
@staff_view("inventory.view_incomingtransfer", "inventory.approve_incomingtransfer")
def transfer_complete_view(request, pk: int):
    transfer = _store_transfer(request, pk)
    try:
        transfer = transfer_complete(transfer=transfer, actor=request.user)
    except ApplicationError as error:
        return _work_response(request, transfer, error=error.message)
    flagged = transfer.discrepancies.filter(report_to_state=True).count()
    text = f"Manifest {transfer.manifest_number} is received into stock."
    if flagged:
        text += f" {flagged} discrepanc{'y is' if flagged == 1 else 'ies are'} flagged for the state."
    messages.success(request, text)
    return redirect("inventory:transfer_detail", pk=transfer.pk)
