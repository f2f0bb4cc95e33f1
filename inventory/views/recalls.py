"""Recalls: open one by tag, harvest batch, product or supplier; see the affected stock in every store of the
organization and the units already sold, put all of it on hold in one action, and export both lists as CSV."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.spreadsheets import csv_response
from dispensary.views.access import staff_view
from inventory.forms import RecallOpenForm
from inventory.models import Recall, quantity_text
from inventory.selectors import recall_sold_unit_list, recall_sold_unit_page, recall_stock_list
from inventory.services.recalls import recall_hold, recall_open

PAGE_SIZE = 25


def _index_response(request, form=None):
    recalls = (
        Recall.objects.filter(organization=request.organization)
        .select_related("opened_by")
        .annotate(package_count=Count("packages"))
        .order_by("-opened_at", "-id")
    )
    page = Paginator(recalls, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "inventory/recall_index.html", {"page": page, "open_form": form or RecallOpenForm()}
    )


@staff_view("inventory.view_recall")
def recall_index(request):
    return _index_response(request)


@require_POST
@staff_view("inventory.view_recall", "inventory.add_recall")
def recall_open_view(request):
    form = RecallOpenForm(request.POST)
    if form.is_valid():
        try:
            recall = recall_open(organization=request.organization, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(
                request, f"Recall {recall.pk} opened: {recall.packages.count()} packages affected."
            )
            return redirect("inventory:recall_detail", pk=recall.pk)
    return _index_response(request, form)


def _org_recall(request, pk: int) -> Recall:
    return get_object_or_404(
        Recall.objects.select_related("opened_by"), pk=pk, organization=request.organization
    )


@staff_view("inventory.view_recall")
def recall_detail(request, pk: int):
    recall = _org_recall(request, pk)
    stock = recall_stock_list(recall=recall)
    # A batch sold for weeks in every store has thousands of sold units: the page shows them a page at a time
    # (the CSV export holds them all).
    sold_page, sold = recall_sold_unit_page(recall=recall, page_number=request.GET.get("page"))
    return render(
        request,
        "inventory/recall_detail.html",
        {
            "recall": recall,
            "stock": stock,
            "sold": sold,
            "page": sold_page,
            "on_hand_total": sum(row.on_hand for row in stock),
        },
    )


@require_POST
@staff_view("inventory.view_recall", "inventory.add_recall")
def recall_hold_view(request, pk: int):
    recall = _org_recall(request, pk)
    try:
        changed = recall_hold(recall=recall, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{changed} package{'s' if changed != 1 else ''} put on hold as recalled.")
    return redirect("inventory:recall_detail", pk=recall.pk)


@staff_view("inventory.view_recall")
def recall_stock_csv(request, pk: int):
    recall = _org_recall(request, pk)
    return csv_response(
        f"recall-{recall.pk}-stock.csv",
        ["tag", "store", "product", "location", "status", "on_hand"],
        (
            [row.tag, row.store, row.product, row.location, row.status, quantity_text(row.on_hand)]
            for row in recall_stock_list(recall=recall)
        ),
    )


@staff_view("inventory.view_recall")
def recall_sold_csv(request, pk: int):
    recall = _org_recall(request, pk)
    return csv_response(
        f"recall-{recall.pk}-sold.csv",
        ["tag", "store", "quantity", "at", "reference", "customer", "phone", "delivery"],
        (
            [
                unit.tag,
                unit.store,
                quantity_text(unit.quantity),
                unit.at.isoformat(),
                f"{unit.reference_type} {unit.reference_id}".strip(),
                unit.customer_name,
                unit.customer_phone,
                unit.delivery_id or "",
            ]
            for unit in recall_sold_unit_list(recall=recall)
        ),
    )
