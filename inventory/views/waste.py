"""The waste log: what left the store's stock as waste or destruction, with method, witness and state flag."""

from django.core.paginator import Paginator
from django.shortcuts import render

from dispensary.views.access import staff_view
from inventory.models import WasteRecord
from inventory.services.stock import AdjustmentReason

PAGE_SIZE = 50
REASON_LABELS = dict(AdjustmentReason.CHOICES)


@staff_view("inventory.view_wasterecord")
def waste_index(request):
    records = (
        WasteRecord.objects.filter(store=request.store)
        .select_related("package__product", "witness", "actor")
        .order_by("-created_at", "-id")
    )
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    for record in page.object_list:
        record.reason_label = REASON_LABELS.get(record.reason, record.reason)
    return render(request, "inventory/waste_index.html", {"page": page})
