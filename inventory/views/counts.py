"""Inventory counts: open a count sheet, enter counts blind by scanning tags, and (with the approve permission)
review the platform's and the state's quantities against the count and approve it into adjustments.

The count sheet never shows a system quantity or a variance: a counter who saw them would count towards them."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view
from inventory.forms import CountEntryForm, CountOpenForm
from inventory.models import CountLine, InventoryCount, Package, Product, quantity_text
from inventory.services.counts import count_approve, count_enter, count_open

PAGE_SIZE = 25


def scope_label(count: InventoryCount) -> str:
    if count.scope == InventoryCount.Scope.CATEGORY:
        return f"Category: {Product.Category(count.scope_value).label}"
    if count.scope == InventoryCount.Scope.LOCATION:
        return f"Location: {Package.Location(count.scope_value).label}"
    return "Full count"


def _index_response(request, form=None):
    counts = (
        InventoryCount.objects.filter(store=request.store)
        .select_related("opened_by", "approved_by")
        .annotate(
            line_count=Count("lines"), counted=Count("lines", filter=Q(lines__counted_quantity__isnull=False))
        )
        .order_by("-opened_at", "-id")
    )
    page = Paginator(counts, PAGE_SIZE).get_page(request.GET.get("page"))
    for count in page.object_list:
        count.label = scope_label(count)
    return render(request, "inventory/count_index.html", {"page": page, "open_form": form or CountOpenForm()})


@staff_view("inventory.view_inventorycount")
def count_index(request):
    return _index_response(request)


@require_POST
@staff_view("inventory.view_inventorycount", "inventory.add_inventorycount")
def count_open_view(request):
    form = CountOpenForm(request.POST)
    if form.is_valid():
        try:
            count = count_open(
                store=request.store,
                scope=form.cleaned_data["scope"],
                scope_value=form.scope_value(),
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(
                request, f"{scope_label(count)} opened with {count.lines.count()} packages to count."
            )
            return redirect("inventory:count_sheet", pk=count.pk)
    return _index_response(request, form)


def _store_count(request, pk: int) -> InventoryCount:
    return get_object_or_404(InventoryCount, pk=pk, store=request.store)


def _sheet_context(request, count: InventoryCount, *, form=None, notice="", error="") -> dict:
    count = InventoryCount.objects.get(pk=count.pk)
    # Only what a counter needs: never system_quantity (deferred, so it cannot reach the template).
    lines = list(
        CountLine.objects.filter(count=count)
        .select_related("package__product", "counted_by")
        .defer("system_quantity", "state_quantity")
        .order_by("package__location", "package__product__name", "package__tag")
    )
    return {
        "count": count,
        "label": scope_label(count),
        "lines": lines,
        "counted": sum(1 for line in lines if line.counted_quantity is not None),
        "form": form or CountEntryForm(auto_id="count_%s"),
        "can_enter": count.status == InventoryCount.Status.OPEN
        and request.user.has_perm("inventory.change_inventorycount"),
        "can_review": request.user.has_perm("inventory.approve_inventorycount"),
        "notice": notice,
        "error": error,
    }


def _sheet_response(request, count, **kwargs):
    context = _sheet_context(request, count, **kwargs)
    if request.htmx:
        return render(request, "inventory/_count_work.html", context)
    return render(request, "inventory/count_sheet.html", context)


@staff_view("inventory.view_inventorycount")
def count_sheet(request, pk: int):
    return _sheet_response(request, _store_count(request, pk))


@require_POST
@staff_view("inventory.view_inventorycount", "inventory.change_inventorycount")
def count_enter_view(request, pk: int):
    count = _store_count(request, pk)
    form = CountEntryForm(request.POST, auto_id="count_%s")
    if not form.is_valid():
        return _sheet_response(request, count, form=form, error="Scan a tag and type the counted quantity.")
    try:
        line = count_enter(
            count=count,
            tag=form.cleaned_data["tag"],
            quantity=form.cleaned_data["quantity"],
            actor=request.user,
        )
    except ApplicationError as error:
        return _sheet_response(request, count, form=form, error=error.message)
    return _sheet_response(
        request, count, notice=f"{line.package.tag}: counted {quantity_text(line.counted_quantity)}."
    )


@staff_view("inventory.view_inventorycount", "inventory.approve_inventorycount")
def count_review(request, pk: int):
    count = _store_count(request, pk)
    lines = list(
        CountLine.objects.filter(count=count)
        .select_related("package__product", "counted_by")
        .order_by("package__location", "package__product__name", "package__tag")
    )
    return render(
        request,
        "inventory/count_review.html",
        {
            "count": count,
            "label": scope_label(count),
            "lines": lines,
            "uncounted": sum(1 for line in lines if line.counted_quantity is None),
            "with_variance": sum(1 for line in lines if line.variance),
        },
    )


@require_POST
@staff_view("inventory.view_inventorycount", "inventory.approve_inventorycount")
def count_approve_view(request, pk: int):
    count = _store_count(request, pk)
    try:
        count_approve(count=count, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"{scope_label(count)} approved: variances are now adjustments in the ledger."
        )
    return redirect("inventory:count_review", pk=count.pk)
