"""Managers' settings of promotions, coupons and loyalty, for their own organization (the Django admin is for the
platform's superusers): promotions, codes (one by one or generated in bulk, with a CSV of the new codes), the
coupon results by code and by message, and the loyalty program with its tiers, multipliers and rewards. Another
organization's rows are 404."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dispensary.errors import ApplicationError
from dispensary.spreadsheets import csv_response
from dispensary.views.access import staff_view
from inventory.models import Product
from pos.forms_promotions import (
    AttributionFilterForm,
    CouponForm,
    CouponGenerateForm,
    LoyaltyProgramForm,
    LoyaltyTierForm,
    PointsMultiplierForm,
    PromotionForm,
    RewardForm,
    form_values,
)
from pos.models import LoyaltyProgram, Promotion
from pos.selectors.promotion_settings import (
    coupon_attribution,
    coupon_settings_get,
    coupon_settings_list,
    coupons_by_id,
    loyalty_program_get,
    loyalty_tier_list,
    points_multiplier_list,
    promotion_settings_get,
    promotion_settings_list,
    promotion_when,
    reward_list,
)
from pos.services.coupons import coupon_codes_generate
from pos.services.promotions import (
    coupon_create,
    coupon_deactivate,
    loyalty_program_save,
    loyalty_tier_save,
    points_multiplier_save,
    promotion_create,
    promotion_deactivate,
    promotion_update,
    reward_save,
)

PAGE_SIZE = 50
CATEGORY_LABELS = dict(Product.Category.choices)
GENERATED_SESSION_KEY = "pos_generated_coupons"


def _page(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _organization_promotion(request, pk: int) -> Promotion:
    promotion = promotion_settings_get(organization=request.organization, promotion_id=pk)
    if promotion is None:
        raise Http404("No such promotion in this organization.")
    return promotion


# --- Promotions ---------------------------------------------------------------------------------------------

STATUS_FILTERS = {"active": True, "inactive": False, "all": None}


@staff_view("pos.view_promotion")
def promotion_index(request):
    status = request.GET.get("status", "active")
    status = status if status in STATUS_FILTERS else "active"
    page = _page(
        request, promotion_settings_list(organization=request.organization, active=STATUS_FILTERS[status])
    )
    for promotion in page.object_list:
        promotion.when = promotion_when(promotion)
    return render(request, "pos/promotions/promotion_index.html", {"page": page, "status": status})


def _promotion_form_response(request, form: PromotionForm, promotion: Promotion | None):
    return render(
        request,
        "pos/promotions/promotion_form.html",
        {"form": form, "promotion": promotion},
        status=400 if form.is_bound and form.errors else 200,
    )


@staff_view("pos.add_promotion")
def promotion_new(request):
    form = PromotionForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            promotion = promotion_create(
                organization=request.organization,
                actor=request.user,
                values=form.values(),
                stores=form.cleaned_data["stores"],
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"Created the promotion {promotion.name}.")
            return redirect("pos:promotion_index")
    return _promotion_form_response(request, form, None)


@staff_view("pos.change_promotion")
def promotion_edit(request, pk: int):
    promotion = _organization_promotion(request, pk)
    form = PromotionForm(request.POST or None, instance=promotion, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            promotion = promotion_update(
                promotion=promotion,
                actor=request.user,
                values=form.values(),
                stores=form.cleaned_data["stores"],
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"Saved the promotion {promotion.name}.")
            return redirect("pos:promotion_index")
    return _promotion_form_response(request, form, promotion)


@require_POST
@staff_view("pos.change_promotion")
def promotion_deactivate_view(request, pk: int):
    promotion = promotion_deactivate(promotion=_organization_promotion(request, pk), actor=request.user)
    messages.success(request, f"{promotion.name} no longer applies.")
    return redirect("pos:promotion_index")


# --- Coupons ------------------------------------------------------------------------------------------------


def _coupon_index_response(request, *, coupon_form=None, generate_form=None, status: int = 200):
    organization = request.organization
    search = request.GET.get("q", "").strip()[:64]
    page = _page(request, coupon_settings_list(organization=organization, search=search))
    return render(
        request,
        "pos/promotions/coupon_index.html",
        {
            "page": page,
            "search": search,
            "coupon_form": coupon_form or CouponForm(organization=organization),
            "generate_form": generate_form or CouponGenerateForm(organization=organization),
        },
        status=status,
    )


@staff_view("pos.view_coupon")
def coupon_index(request):
    return _coupon_index_response(request)


@require_POST
@staff_view("pos.add_coupon")
def coupon_new(request):
    form = CouponForm(request.POST, organization=request.organization)
    if form.is_valid():
        try:
            coupon = coupon_create(organization=request.organization, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, f"Created the code {coupon.code}.")
            return redirect("pos:coupon_index")
    return _coupon_index_response(request, coupon_form=form, status=400)


@require_POST
@staff_view("pos.add_coupon")
def coupon_generate(request):
    form = CouponGenerateForm(request.POST, organization=request.organization)
    if form.is_valid():
        try:
            coupons = coupon_codes_generate(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            request.session[GENERATED_SESSION_KEY] = [coupon.pk for coupon in coupons]
            messages.success(request, f"Generated {len(coupons)} single-use codes.")
            return redirect("pos:coupon_generated")
    return _coupon_index_response(request, generate_form=form, status=400)


def _generated(request):
    return coupons_by_id(
        organization=request.organization, coupon_ids=request.session.get(GENERATED_SESSION_KEY, [])
    )


@staff_view("pos.view_coupon")
def coupon_generated(request):
    """The codes this member generated last, with the CSV to hand to a mailing or a printer."""
    return render(request, "pos/promotions/coupon_generated.html", {"coupons": _generated(request)})


@staff_view("pos.view_coupon")
def coupon_generated_csv(request):
    coupons = _generated(request)
    if not coupons:
        raise Http404("No generated codes to download.")
    return csv_response(
        "coupon-codes.csv",
        ["code", "promotion", "max_uses"],
        ([coupon.code, coupon.promotion.name, coupon.max_uses] for coupon in coupons),
    )


@require_POST
@staff_view("pos.change_coupon")
def coupon_deactivate_view(request, pk: int):
    coupon = coupon_settings_get(organization=request.organization, coupon_id=pk)
    if coupon is None:
        raise Http404("No such code in this organization.")
    coupon_deactivate(coupon=coupon, actor=request.user)
    messages.success(request, f"The code {coupon.code} no longer works.")
    return redirect("pos:coupon_index")


@staff_view("pos.view_couponredemption")
def coupon_results(request):
    """Redemptions by code and by message over a date range, on the page or as CSV (`?format=csv&by=...`)."""
    today = timezone.localdate()
    data = request.GET if "start" in request.GET else AttributionFilterForm.default_range(today)
    form = AttributionFilterForm(data)
    results = None
    if form.is_valid():
        results = coupon_attribution(
            organization=request.organization, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
        )
        if request.GET.get("format") == "csv":
            by_message = request.GET.get("by") == "message"
            rows = results.by_message if by_message else results.by_coupon
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            return csv_response(
                f"coupon-results-{'messages' if by_message else 'codes'}-{start}-{end}.csv",
                [
                    "message_id" if by_message else "code",
                    "redemptions",
                    "discount",
                    "sales_total",
                    "first_used",
                    "last_used",
                ],
                (
                    [
                        row.key,
                        row.redemptions,
                        str(row.discount),
                        str(row.sales_total),
                        timezone.localtime(row.first_used).isoformat(timespec="minutes"),
                        timezone.localtime(row.last_used).isoformat(timespec="minutes"),
                    ]
                    for row in rows
                ),
            )
    return render(
        request,
        "pos/promotions/coupon_results.html",
        {"form": form, "results": results, "query": request.GET.urlencode() if form.is_valid() else ""},
        status=200 if form.is_valid() else 400,
    )


# --- Loyalty ------------------------------------------------------------------------------------------------


@staff_view("pos.view_loyaltyprogram")
def loyalty_program(request):
    """The program's settings (created on first save) and links to its tiers, multipliers and rewards."""
    program = loyalty_program_get(organization=request.organization)
    needed = "pos.change_loyaltyprogram" if program is not None else "pos.add_loyaltyprogram"
    can_change = request.user.has_perm(needed)
    if request.method == "POST" and not can_change:
        raise PermissionDenied
    form = LoyaltyProgramForm(
        request.POST if request.method == "POST" else None,
        instance=program or LoyaltyProgram(organization=request.organization),
    )
    if request.method == "POST" and form.is_valid():
        try:
            loyalty_program_save(
                organization=request.organization, actor=request.user, values=form_values(form)
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(request, "Saved the loyalty program.")
            return redirect("pos:loyalty_program")
    return render(
        request,
        "pos/promotions/loyalty_program.html",
        {"form": form, "program": program, "can_change": can_change, "section": "loyalty"},
        status=400 if form.is_bound and form.errors else 200,
    )


@dataclass(frozen=True)
class LoyaltyPage:
    """Tiers, multipliers and rewards share one shape: a list with an inline add form, an edit page per row."""

    kind: str  # the model name, as in its permissions
    form: type
    rows: Callable
    save: Callable
    argument: str  # the service's keyword for the row being changed
    title: str
    lead: str


LOYALTY_PAGES = {
    page.kind: page
    for page in (
        LoyaltyPage(
            kind="loyaltytier",
            form=LoyaltyTierForm,
            rows=loyalty_tier_list,
            save=loyalty_tier_save,
            argument="tier",
            title="Loyalty tiers",
            lead="A customer reaches a tier by their spend over the program's tier window; the tier multiplies "
            "the points they earn.",
        ),
        LoyaltyPage(
            kind="pointsmultiplier",
            form=PointsMultiplierForm,
            rows=points_multiplier_list,
            save=points_multiplier_save,
            argument="multiplier",
            title="Points multipliers",
            lead="Extra points on some categories or days: double points on edibles on Wednesdays, say.",
        ),
        LoyaltyPage(
            kind="reward",
            form=RewardForm,
            rows=reward_list,
            save=reward_save,
            argument="reward",
            title="Rewards",
            lead="What customers buy with their points at the counter.",
        ),
    )
}


def _loyalty_response(request, page: LoyaltyPage, form, row=None):
    template = (
        "pos/promotions/loyalty_row_edit.html" if row is not None else "pos/promotions/loyalty_rows.html"
    )
    context = {"page": page, "form": form, "row": row, "section": page.kind}
    if row is None:
        rows = list(page.rows(organization=request.organization))
        for each in rows:
            if page.kind == "pointsmultiplier":
                each.when = promotion_when(each)
            each.category_labels = ", ".join(
                CATEGORY_LABELS.get(c, c) for c in getattr(each, "categories", [])
            )
        context.update(rows=rows, can_add=request.user.has_perm(f"pos.add_{page.kind}"))
    return render(request, template, context, status=400 if form.is_bound and form.errors else 200)


def _loyalty_save(request, page: LoyaltyPage, form, row=None):
    """Call the page's service with the form's values; None when the form now carries the service's error."""
    if not form.is_valid():
        return None
    extra = {page.argument: row} if row is not None else {}
    try:
        return page.save(
            organization=request.organization, actor=request.user, values=form_values(form), **extra
        )
    except ApplicationError as error:
        form.add_application_error(error)
        return None


def loyalty_rows(request, kind: str):
    page = LOYALTY_PAGES[kind]

    @staff_view(f"pos.view_{kind}")
    def view(request):
        form = page.form(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            if not request.user.has_perm(f"pos.add_{kind}"):
                raise PermissionDenied
            if (saved := _loyalty_save(request, page, form)) is not None:
                messages.success(request, f"Added {saved}.")
                return redirect(f"pos:loyalty_{kind}")
        return _loyalty_response(request, page, form)

    return view(request)


def loyalty_row_edit(request, kind: str, pk: int):
    page = LOYALTY_PAGES[kind]

    @staff_view(f"pos.change_{kind}")
    def view(request):
        model = page.form._meta.model
        row = model.objects.filter(organization=request.organization, pk=pk).first()
        if row is None:
            raise Http404("Not in this organization.")
        form = page.form(request.POST if request.method == "POST" else None, instance=row)
        if request.method == "POST" and (saved := _loyalty_save(request, page, form, row)) is not None:
            messages.success(request, f"Saved {saved}.")
            return redirect(f"pos:loyalty_{kind}")
        return _loyalty_response(request, page, form, row)

    return view(request)
