"""Pages of the compliance reports and the audit center. Each page takes its filters from the query string and
renders the same `Document` as HTML, or as CSV or PDF with `?format=csv` / `?format=pdf`."""

import datetime as dt

from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify

from compliance.reporting import audit_center
from compliance.reporting.forms import (
    AuditSearchForm,
    DemographicsForm,
    ReconciliationForm,
    SalesForm,
    ThreeWayForm,
    WasteForm,
)
from compliance.reporting.reports import (
    AUDIT_PATIENT_PERMISSIONS,
    AUDIT_PERMISSIONS,
    DEMOGRAPHICS_PERMISSIONS,
    PURCHASE_HISTORY_PERMISSIONS,
    RECONCILIATION_PERMISSIONS,
    REPORTS,
    SALES_PERMISSIONS,
    THREE_WAY_PERMISSIONS,
    WASTE_PERMISSIONS,
)
from compliance.reporting.reports.document import Document, csv_response, pdf_response
from compliance.reporting.reports.inventory import (
    Period,
    inventory_reconciliation,
    reconciliation_document,
    three_way_document,
    three_way_reconciliation,
    waste_document,
    waste_log,
)
from compliance.reporting.reports.patients import demographics_document, medical_demographics
from compliance.reporting.reports.sales import (
    daily_sales,
    daily_sales_document,
    purchase_history_document,
)
from dispensary.clock import store_local_date
from dispensary.models import Customer
from dispensary.selectors import customer_record_viewed, customer_records_listed
from dispensary.views.access import staff_view
from inventory.models import IncomingTransfer, Package

FORMATS = ("csv", "pdf")


def _may_see_a_report(user) -> bool:
    return (
        user.is_superuser
        or any(user.has_perms(entry.permissions) for entry in REPORTS)
        or user.has_perms(AUDIT_PERMISSIONS)
    )


def _bound(form_class, request, initial: dict):
    """A filter form bound to the query string, the defaults filling what it leaves out."""
    data = QueryDict(mutable=True)
    for key, value in initial.items():
        data[key] = value
    for key in request.GET:
        if key in form_class.base_fields:
            data.setlist(key, request.GET.getlist(key))
    return form_class(data)


def _this_month(request) -> dict:
    today = store_local_date(request.store)
    return {"start": today.replace(day=1).isoformat(), "end": today.isoformat()}


def _export_links(request) -> dict:
    query = request.GET.copy()
    query.pop("format", None)
    links = {}
    for name in FORMATS:
        query["format"] = name
        links[name] = f"?{query.urlencode()}"
    return links


def _respond(request, template: str, document: Document | None, filename: str, context: dict, *, pdf=True):
    wanted = request.GET.get("format", "")
    if document is not None and wanted == "csv":
        return csv_response(document, f"{filename}.csv")
    if document is not None and wanted == "pdf" and pdf:
        return pdf_response(document, f"{filename}.pdf")
    exports = _export_links(request)
    if not pdf:
        exports.pop("pdf")
    return render(request, template, {"document": document, "exports": exports, **context})


@staff_view(allow=_may_see_a_report)
def report_index(request):
    entries = [entry for entry in REPORTS if request.user.has_perms(entry.permissions)]
    return render(
        request,
        "compliance/reports/index.html",
        {"entries": entries, "audit": request.user.has_perms(AUDIT_PERMISSIONS)},
    )


@staff_view(*RECONCILIATION_PERMISSIONS)
def reconciliation(request):
    form = _bound(ReconciliationForm, request, _this_month(request))
    document = report = None
    if form.is_valid():
        data = form.cleaned_data
        report = inventory_reconciliation(
            store=request.store,
            period=Period(data["start"], data["end"]),
            category=data["category"],
            search=data["q"].strip(),
            discrepancies_only=data["discrepancies"],
        )
        document = reconciliation_document(report)
    filename = slugify(f"reconciliation-{request.store.code}-{form.data['start']}-{form.data['end']}")
    return _respond(
        request,
        "compliance/reports/report.html",
        document,
        filename,
        {"form": form, "section": "reconciliation", "report": report},
    )


@staff_view(*THREE_WAY_PERMISSIONS)
def three_way(request):
    form = _bound(ThreeWayForm, request, {})
    document = None
    if form.is_valid():
        report = three_way_reconciliation(
            store=request.store,
            category=form.cleaned_data["category"],
            mismatches_only=form.cleaned_data["mismatches"],
        )
        document = three_way_document(report)
    filename = f"three-way-{request.store.code}-{store_local_date(request.store).isoformat()}"
    return _respond(
        request, "compliance/reports/report.html", document, filename, {"form": form, "section": "three_way"}
    )


@staff_view(*WASTE_PERMISSIONS)
def waste(request):
    form = _bound(WasteForm, request, _this_month(request))
    document = None
    if form.is_valid():
        data = form.cleaned_data
        log = waste_log(
            store=request.store,
            period=Period(data["start"], data["end"]),
            reason=data["reason"],
            flagged_only=data["flagged"],
        )
        document = waste_document(log)
    filename = slugify(f"waste-{request.store.code}-{form.data['start']}-{form.data['end']}")
    return _respond(
        request, "compliance/reports/report.html", document, filename, {"form": form, "section": "waste"}
    )


@staff_view(*DEMOGRAPHICS_PERMISSIONS)
def demographics(request):
    form = _bound(DemographicsForm, request, {"on": store_local_date(request.store).isoformat()})
    document = None
    if form.is_valid():
        report = medical_demographics(
            organization=request.organization, on=form.cleaned_data["on"], state=form.cleaned_data["state"]
        )
        document = demographics_document(report)
    filename = slugify(f"medical-demographics-{form.data['on']}")
    return _respond(
        request,
        "compliance/reports/report.html",
        document,
        filename,
        {"form": form, "section": "demographics"},
    )


@staff_view(*SALES_PERMISSIONS)
def sales(request):
    today = store_local_date(request.store).isoformat()
    form = _bound(SalesForm, request, {"start": today, "end": today})
    document = None
    if form.is_valid():
        report = daily_sales(
            store=request.store, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
        )
        document = daily_sales_document(report)
    filename = slugify(f"sales-{request.store.code}-{form.data['start']}-{form.data['end']}")
    return _respond(
        request, "compliance/reports/report.html", document, filename, {"form": form, "section": "sales"}
    )


# --- Audit center ---------------------------------------------------------------------------------------------


@staff_view(*AUDIT_PERMISSIONS)
def audit_search(request):
    form = AuditSearchForm(request.GET or None)
    results = None
    if form.is_valid() and form.cleaned_data["q"].strip():
        results = audit_center.audit_search(
            organization=request.organization,
            store=request.store,
            query=form.cleaned_data["q"],
            kind=form.cleaned_data["kind"] or audit_center.SearchKind.AUTO,
        )
        if not request.user.has_perms(AUDIT_PATIENT_PERMISSIONS):
            results.patients = []
        # The list shows each patient found (name, phone, type): each is a record read, logged with the search.
        customer_records_listed(
            customers=results.patients,
            actor=request.user,
            store=request.store,
            via="audit_center:search",
            search=results.query,
        )
        target = _single_target(results)
        if target:
            return redirect(target)
    return render(request, "compliance/audit/search.html", {"form": form, "results": results})


def _single_target(results) -> str:
    """Where to go when the search found exactly one record (a patient's is opened, and so logged, only when
    the officer chose it from the list)."""
    if results.total != 1 or results.patients:
        return ""
    if results.day:
        return _day_url(results.day)
    if results.packages:
        return audit_center._url("audit_package", results.packages[0].pk)
    if results.manifests:
        return audit_center._url("audit_manifest", results.manifests[0].pk)
    batch = results.batches[0][0]
    return audit_center._url("audit_batch", query=QueryDict.fromkeys(["value"], batch).urlencode())


def _day_url(day: dt.date) -> str:
    return audit_center._url("audit_day", day.isoformat())


@staff_view(*AUDIT_PERMISSIONS)
def audit_package(request, pk: int):
    package = get_object_or_404(Package.objects.select_related("product"), pk=pk, store=request.store)
    document = audit_center.package_record(store=request.store, package=package)
    return _respond(request, "compliance/audit/record.html", document, f"package-{package.tag}", {})


@staff_view(*AUDIT_PERMISSIONS)
def audit_batch(request):
    batch = request.GET.get("value", "").strip()
    document = audit_center.batch_record(store=request.store, batch=batch) if batch else None
    if document is None:
        raise Http404("No package of this store is from that harvest batch.")
    return _respond(request, "compliance/audit/record.html", document, "harvest-batch", {})


@staff_view(*AUDIT_PERMISSIONS)
def audit_manifest(request, pk: int):
    transfer = get_object_or_404(
        IncomingTransfer.objects.select_related("created_by", "completed_by"), pk=pk, store=request.store
    )
    document = audit_center.manifest_record(store=request.store, transfer=transfer)
    return _respond(request, "compliance/audit/record.html", document, f"manifest-{transfer.pk}", {})


@staff_view(*AUDIT_PERMISSIONS)
def audit_day(request, day: str):
    parsed = audit_center.parse_day(day)
    if parsed is None:
        raise Http404("Not a date.")
    document = audit_center.day_record(store=request.store, day=parsed)
    return _respond(request, "compliance/audit/record.html", document, f"{request.store.code}-{parsed}", {})


@staff_view(*AUDIT_PATIENT_PERMISSIONS)
def audit_patient(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk, organization=request.organization)
    document = audit_center.patient_record(customer=customer, actor=request.user, store=request.store)
    return _respond(request, "compliance/audit/record.html", document, f"customer-{customer.pk}", {})


@staff_view(*PURCHASE_HISTORY_PERMISSIONS)
def purchase_history(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk, organization=request.organization)
    customer_record_viewed(customer=customer, actor=request.user, store=request.store, via="audit_center")
    document = purchase_history_document(customer)
    return _respond(request, "compliance/audit/record.html", document, f"purchases-{customer.pk}", {})
