"""Stock screens: the store's packages with search and filters, and one package with its lab results, its whole
ledger and the actions that change it (adjust, waste or destroy, move)."""

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view
from inventory.forms import AdjustForm, MoveForm, StockFilterForm, WasteForm
from inventory.models import LabResult, Package, quantity_text
from inventory.selectors import EXPIRING_DAYS, package_stock_list
from inventory.services import package_adjust
from inventory.services.waste import package_move, package_waste

PAGE_SIZE = 50


def mark_package(package: Package, today: dt.date) -> Package:
    """Flags the templates show as highlights and badges."""
    reorder_point = package.product.reorder_point
    available = getattr(package, "product_available", None)
    package.is_low = bool(reorder_point and available is not None and available < reorder_point)
    package.is_expired = package.expires_on is not None and package.expires_on < today
    package.expires_soon = (
        not package.is_expired
        and package.expires_on is not None
        and package.expires_on <= today + dt.timedelta(days=EXPIRING_DAYS)
    )
    return package


@staff_view("inventory.view_package")
def stock_index(request):
    today = store_local_date(request.store)
    form = StockFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    packages = package_stock_list(store=request.store, filters=filters, today=today)
    page = Paginator(packages, PAGE_SIZE).get_page(request.GET.get("page"))
    for package in page.object_list:
        mark_package(package, today)
    context = {"page": page, "form": form, "filtered": any(filters.values()), "today": today}
    if request.htmx and request.htmx.target == "stock-results":
        return render(request, "inventory/_stock_results.html", context)
    return render(request, "inventory/stock_index.html", context)


def _store_package(request, pk: int) -> Package:
    return get_object_or_404(Package.objects.select_related("product"), pk=pk, store=request.store)


def _package_context(request, package: Package, **forms) -> dict:
    """Everything the package page shows, read from the database now: after an action the quantities and the
    ledger are the ones just written."""
    package = Package.objects.select_related("product").get(pk=package.pk)
    today = store_local_date(request.store)
    mark_package(package, today)
    user = request.user
    can_adjust = user.has_perm("inventory.adjust_package")
    context = {
        "package": package,
        "lab_results": list(package.lab_results.all()),
        "movements": list(package.movements.order_by("-id")),
        "can_adjust": can_adjust,
        "can_waste": can_adjust and user.has_perm("inventory.add_wasterecord"),
        "can_move": can_adjust and user.has_perm("inventory.change_package"),
        "open_action": None,
    }
    if context["can_adjust"]:
        context["adjust_form"] = forms.get("adjust_form") or AdjustForm(auto_id="adjust_%s")
    if context["can_waste"]:
        context["waste_form"] = forms.get("waste_form") or WasteForm(
            store=request.store, actor=user, auto_id="waste_%s"
        )
    if context["can_move"]:
        context["move_form"] = forms.get("move_form") or MoveForm(
            auto_id="move_%s", initial={"location": package.location, "detail": package.location_detail}
        )
    for name in ("adjust_form", "waste_form", "move_form"):
        if name in forms:
            context["open_action"] = name.removesuffix("_form")
    return context


def _package_response(request, package: Package, *, notice: str = "", **forms):
    context = _package_context(request, package, **forms)
    context["notice"] = notice
    if request.htmx:
        return render(request, "inventory/_package_body.html", context)
    return render(request, "inventory/package_detail.html", context)


@staff_view("inventory.view_package")
def package_detail(request, pk: int):
    return _package_response(request, _store_package(request, pk))


def _after_action(request, package: Package, notice: str):
    if request.htmx:
        return _package_response(request, package, notice=notice)
    messages.success(request, notice)
    return redirect("inventory:package_detail", pk=package.pk)


@require_POST
@staff_view("inventory.view_package", "inventory.adjust_package")
def package_adjust_view(request, pk: int):
    package = _store_package(request, pk)
    form = AdjustForm(request.POST, auto_id="adjust_%s")
    if form.is_valid():
        try:
            movement = package_adjust(
                package=package,
                quantity=form.cleaned_data["quantity"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            sign = "+" if movement.quantity > 0 else "−"
            return _after_action(
                request, package, f"Adjusted {package.tag} by {sign}{quantity_text(abs(movement.quantity))}."
            )
    return _package_response(request, package, adjust_form=form)


@require_POST
@staff_view("inventory.view_package", "inventory.adjust_package", "inventory.add_wasterecord")
def package_waste_view(request, pk: int):
    package = _store_package(request, pk)
    form = WasteForm(request.POST, store=request.store, actor=request.user, auto_id="waste_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            record = package_waste(
                package=package,
                quantity=data["quantity"],
                reason=data["reason"],
                note=data["note"],
                method=data["method"],
                waste_weight_g=data["waste_weight_g"],
                witness=data["witness"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            return _after_action(
                request, package, f"Recorded {quantity_text(record.quantity)} of {package.tag} as waste."
            )
    return _package_response(request, package, waste_form=form)


@require_POST
@staff_view("inventory.view_package", "inventory.adjust_package", "inventory.change_package")
def package_move_view(request, pk: int):
    package = _store_package(request, pk)
    form = MoveForm(request.POST, auto_id="move_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = package_move(
                package=package,
                location=data["location"],
                detail=data["detail"],
                note=data["note"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            return _after_action(request, package, f"{package.tag} is now in {moved.get_location_display()}.")
    return _package_response(request, package, move_form=form)


@staff_view("inventory.view_package")
def lab_result_document(request, pk: int, result_pk: int):
    """The certificate of analysis, served only to staff of the package's store."""
    result = get_object_or_404(
        LabResult.objects.select_related("package"), pk=result_pk, package_id=pk, package__store=request.store
    )
    if not result.document:
        raise Http404("This lab result has no document.")
    try:
        handle = result.document.open("rb")
    except FileNotFoundError as error:
        raise Http404("The document file is missing.") from error
    filename = result.document.name.rsplit("/", 1)[-1]
    return FileResponse(handle, as_attachment=True, filename=filename)
