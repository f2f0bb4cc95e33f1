"""Managers' segments (/messaging/segments/): the list, the rule builder with its live count (an HTMX request
with the conditions answers the count and ten customers), a segment's members (paged) and their CSV download.
Members granted `messaging.view_segment` (owners and managers); another organization's segments are 404.
Members' names and numbers are customers' personal data: every customer shown or downloaded is a logged read."""

import csv
import re
import secrets

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dispensary.errors import ApplicationError
from dispensary.selectors import customer_records_listed
from dispensary.spreadsheets import spreadsheet_safe
from dispensary.views.access import staff_view
from messaging.models import CustomerMetrics, Segment, SegmentMember
from messaging.segment_members import segment_archive, segment_save
from messaging.segments import (
    FIELDS,
    OPERATOR_WORDS,
    WITHIN_WORDS,
    SegmentRuleError,
    field_choices,
    id_choices,
    rules_check,
    segment_customers,
)

VIEW = "messaging.view_segment"
ADD = "messaging.add_segment"
CHANGE = "messaging.change_segment"
PAGE_SIZE = 50
SAMPLE_SIZE = 10
ROW = re.compile(r"^c-(\d{1,9})-field$")
HABIT_WORDS = dict(CustomerMetrics.Habit.choices)
FIELD_GROUPS = (
    ("Who they are", ("customer_type", "store", "postal_code", "birthday_month", "delivery_zone")),
    ("Consent", ("consent_sms", "consent_email")),
    (
        "What they buy",
        (
            "days_since_last_purchase",
            "first_purchase_days_ago",
            "orders_count",
            "lifetime_value",
            "average_order",
            "favourite_category",
            "favourite_brand",
            "fulfilment_habit",
        ),
    ),
    ("RFM scores", ("rfm_recency", "rfm_frequency", "rfm_monetary")),
    ("Loyalty", ("loyalty_tier", "points_balance")),
    (
        "Messages",
        ("opened_within_days", "clicked_within_days", "purchased_from_message_within_days", "in_segment"),
    ),
)


def can_see_segments(user) -> bool:
    return user.is_superuser or user.has_perm(VIEW)


def _segment_get(request, segment_id: int) -> Segment:
    segment = Segment.objects.filter(pk=segment_id, organization=request.organization, archived=False).first()
    if segment is None:
        raise Http404("No such segment in your organization.")
    return segment


# --- The builder's conditions as form fields: c-<n>-field, c-<n>-op, c-<n>-value (several for "is one of"),
# c-<n>-low and c-<n>-high ("between"). -----------------------------------------------------------------------


def _json_value(value):
    """Decimal money as text (exact); other parsed values as they are."""
    from decimal import Decimal

    return str(value) if isinstance(value, Decimal) else value


def conditions_read(data) -> list[dict]:
    """The conditions typed in the builder, in the order of their rows (empty rows skipped)."""
    rows = sorted(int(match.group(1)) for key in data for match in [ROW.match(key)] if match)
    rules = []
    for index in rows:
        field = (data.get(f"c-{index}-field") or "").strip()
        if not field:
            continue
        spec = FIELDS.get(field)
        if spec is None:
            raise SegmentRuleError(f"Unknown field “{field}”.")
        op = (data.get(f"c-{index}-op") or spec.operators[0]).strip()
        if op == "between":
            value = [data.get(f"c-{index}-low", ""), data.get(f"c-{index}-high", "")]
        elif op == "in" and spec.kind == "text":
            value = [part.strip() for part in (data.get(f"c-{index}-value") or "").split(",") if part.strip()]
        elif op == "in":
            value = [item for item in data.getlist(f"c-{index}-value") if item.strip()]
        else:
            value = data.get(f"c-{index}-value", "")
        rules.append(_condition_normal({"field": field, "op": op, "value": value}))
    return rules


def _condition_normal(condition: dict) -> dict:
    """The condition with its value parsed (numbers as numbers, yes/no as booleans), as it is saved."""
    from messaging.segments import condition_check

    field, op, values = condition_check(condition)
    values = [_json_value(value) for value in values]
    return {"field": field, "op": op, "value": values if op in ("in", "between") else values[0]}


def _row(organization_id: int, index, condition: dict | None) -> dict:
    """What the template needs to draw one condition row."""
    condition = condition or {}
    field = condition.get("field") if condition.get("field") in FIELDS else "days_since_last_purchase"
    spec = FIELDS[field]
    op = condition.get("op") if condition.get("op") in spec.operators else spec.operators[0]
    value = condition.get("value")
    if spec.kind == "id":
        choices = list(id_choices(organization_id, field).items())
    elif spec.kind in ("choice", "month"):
        choices = list(field_choices(field))
    else:
        choices = []
    values = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    words = WITHIN_WORDS if spec.kind == "within" else OPERATOR_WORDS
    return {
        "index": index,
        "field": field,
        "spec": spec,
        "op": op,
        "operators": [(name, words[name]) for name in spec.operators],
        "choices": [(str(key), label) for key, label in choices],
        "selected": [str(item) for item in values],
        "value": ", ".join(str(item) for item in values)
        if op == "in"
        else (str(values[0]) if values else ""),
        "low": str(values[0]) if op == "between" and len(values) == 2 else "",
        "high": str(values[1]) if op == "between" and len(values) == 2 else "",
    }


def _field_groups() -> list:
    return [(title, [(name, FIELDS[name].label) for name in names]) for title, names in FIELD_GROUPS]


def _builder(request, *, segment: Segment | None, form: dict, rules: list[dict], error: str = "", status=200):
    rows = [_row(request.organization.pk, index, rule) for index, rule in enumerate(rules)]
    context = {
        "segment": segment,
        "form": form,
        "rows": rows,
        "field_groups": _field_groups(),
        "error": error,
        "count": None,
    }
    if not error:
        context["count"] = _count_context(request, rules, form.get("match", "all"))
    return render(request, "messaging/segments/form.html", context, status=status)


def _save(request, segment: Segment | None):
    data = request.POST
    form = {
        "name": (data.get("name") or "").strip()[:120],
        "description": (data.get("description") or "").strip()[:300],
        "match": data.get("match") if data.get("match") in ("all", "any") else "all",
    }
    try:
        rules = conditions_read(data)
    except SegmentRuleError as error:
        return _builder(request, segment=segment, form=form, rules=[], error=error.message, status=400)
    try:
        saved = segment_save(
            organization=request.organization,
            actor=request.user,
            name=form["name"],
            description=form["description"],
            match=form["match"],
            rules=rules,
            segment=segment,
        )
    except ApplicationError as error:
        return _builder(request, segment=segment, form=form, rules=rules, error=error.message, status=400)
    flash.success(request, f"Segment saved: {saved.name}, {saved.member_count:,} customers.")
    return redirect("messaging:segment_detail", saved.pk)


@staff_view(VIEW)
@require_GET
def segment_list(request):
    segments = list(
        Segment.objects.filter(organization=request.organization, archived=False).order_by("name")
    )
    return render(
        request, "messaging/segments/list.html", {"segments": segments, "can_add": request.user.has_perm(ADD)}
    )


@staff_view(ADD)
@require_http_methods(["GET", "POST"])
def segment_create(request):
    if request.method == "POST":
        return _save(request, None)
    starter = [{"field": "days_since_last_purchase", "op": "gt", "value": 30}]
    return _builder(
        request, segment=None, form={"name": "", "description": "", "match": "all"}, rules=starter
    )


@staff_view(CHANGE)
@require_http_methods(["GET", "POST"])
def segment_edit(request, segment_id: int):
    segment = _segment_get(request, segment_id)
    if request.method == "POST":
        return _save(request, segment)
    form = {"name": segment.name, "description": segment.description, "match": segment.match}
    return _builder(request, segment=segment, form=form, rules=list(segment.rules or []))


def _count_context(request, rules: list[dict], match: str) -> dict:
    """The count and a sample of ten customers (a logged read of each shown)."""
    customers = segment_customers(request.organization.pk, rules, match)
    count = customers.count()
    sample = list(customers.select_related("metrics").order_by("last_name", "first_name", "pk")[:SAMPLE_SIZE])
    if sample:
        customer_records_listed(
            customers=sample, actor=request.user, store=request.store or None, via="messaging:segment_count"
        )
    return {"total": count, "sample": [_member_row(customer) for customer in sample]}


@staff_view(VIEW)
@require_POST
def segment_count(request):
    """The builder's live count: the conditions as typed, answered with the count and ten customers, or the
    plain words of what is wrong with them."""
    match = request.POST.get("match") if request.POST.get("match") in ("all", "any") else "all"
    try:
        rules = conditions_read(request.POST)
        rules_check(organization_id=request.organization.pk, rules=rules, match=match)
    except SegmentRuleError as error:
        return render(request, "messaging/segments/_count.html", {"error": error.message})
    return render(request, "messaging/segments/_count.html", {"count": _count_context(request, rules, match)})


@staff_view(VIEW)
@require_GET
def segment_condition(request):
    """One condition row of the builder, drawn for the field and operator chosen (the value's widget fits)."""
    index = request.GET.get("index", "")
    if not index.isdigit() or len(index) > 9:
        index = str(secrets.randbelow(10**9))
    field = request.GET.get(f"c-{index}-field") or request.GET.get("field") or ""
    op = request.GET.get(f"c-{index}-op") or ""
    response = render(
        request,
        "messaging/segments/_condition.html",
        {
            "row": _row(request.organization.pk, index, {"field": field, "op": op}),
            "field_groups": _field_groups(),
        },
    )
    response["HX-Trigger-After-Settle"] = "segment-changed"
    return response


def _member_row(customer, entered_at=None) -> dict:
    try:
        metrics = customer.metrics
    except CustomerMetrics.DoesNotExist:
        metrics = None
    return {
        "customer": customer,
        "entered_at": entered_at,
        "orders": metrics.orders_count if metrics else 0,
        "value": metrics.lifetime_value if metrics else None,
        "last_purchase_at": metrics.last_purchase_at if metrics else None,
        "favourite": metrics.favourite_category if metrics else "",
        "habit": HABIT_WORDS.get(metrics.fulfilment_habit, "") if metrics else "",
        "rfm": (
            f"{metrics.rfm_recency}-{metrics.rfm_frequency}-{metrics.rfm_monetary}"
            if metrics and metrics.rfm_recency
            else ""
        ),
    }


def _members(segment: Segment):
    return (
        SegmentMember.objects.filter(segment=segment)
        .select_related("customer", "customer__metrics", "customer__home_store")
        .order_by("customer__last_name", "customer__first_name", "customer_id")
    )


@staff_view(VIEW)
@require_GET
def segment_detail(request, segment_id: int):
    segment = _segment_get(request, segment_id)
    page = Paginator(_members(segment), PAGE_SIZE).get_page(request.GET.get("page"))
    members = list(page.object_list)
    if members:
        customer_records_listed(
            customers=[member.customer for member in members],
            actor=request.user,
            store=request.store or None,
            via="messaging:segment_detail",
        )
    conditions = []
    for rule in segment.rules or []:
        spec = FIELDS.get(rule.get("field")) if isinstance(rule, dict) else None
        if spec is None:
            continue
        words = WITHIN_WORDS if spec.kind == "within" else OPERATOR_WORDS
        value = rule.get("value")
        if spec.kind == "id":
            names = id_choices(request.organization.pk, rule["field"])
            items = value if isinstance(value, list) else [value]
            value = [names.get(item, f"#{item}") for item in items]
        elif spec.kind in ("choice", "month"):
            labels = {str(key): label for key, label in field_choices(rule["field"])}
            items = value if isinstance(value, list) else [value]
            value = [labels.get(str(item), item) for item in items]
        shown = value if isinstance(value, list) else [value]
        joiner = " and " if rule.get("op") == "between" else ", "
        conditions.append(
            f"{spec.label} {words.get(rule.get('op'), rule.get('op'))} {joiner.join(str(item) for item in shown)}"
        )
    context = {
        "segment": segment,
        "page": page,
        "rows": [_member_row(member.customer, member.entered_at) for member in members],
        "conditions": conditions,
        "can_change": request.user.has_perm(CHANGE),
    }
    return render(request, "messaging/segments/detail.html", context)


CSV_COLUMNS = [
    "Customer id",
    "First name",
    "Last name",
    "Phone",
    "Email",
    "Customer type",
    "Home store",
    "ZIP code",
    "Orders",
    "Lifetime value",
    "Average order",
    "First purchase",
    "Last purchase",
    "Favourite category",
    "Favourite brand",
    "Usually buys",
    "Recency score",
    "Frequency score",
    "Spend score",
    "Points balance",
    "In the segment since",
]


@staff_view(VIEW)
@require_GET
def segment_export(request, segment_id: int):
    """Every member as a CSV row, each cell safe from spreadsheet formulas; each customer a logged read."""
    segment = _segment_get(request, segment_id)
    members = list(_members(segment))
    filename = slugify(f"segment-{segment.name}-{timezone.localdate():%Y-%m-%d}") or "segment"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)

    def moment(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    for member in members:
        customer = member.customer
        try:
            metrics = customer.metrics
        except CustomerMetrics.DoesNotExist:
            metrics = None
        cells = [
            customer.pk,
            customer.first_name,
            customer.last_name,
            customer.phone,
            customer.email,
            customer.get_customer_type_display(),
            customer.home_store.name if customer.home_store else "",
            customer.postal_code,
            metrics.orders_count if metrics else 0,
            metrics.lifetime_value if metrics else "0.00",
            metrics.average_order if metrics else "0.00",
            moment(metrics.first_purchase_at) if metrics else "",
            moment(metrics.last_purchase_at) if metrics else "",
            metrics.favourite_category if metrics else "",
            metrics.favourite_brand if metrics else "",
            HABIT_WORDS.get(metrics.fulfilment_habit, "") if metrics else "",
            (metrics.rfm_recency or "") if metrics else "",
            (metrics.rfm_frequency or "") if metrics else "",
            (metrics.rfm_monetary or "") if metrics else "",
            metrics.points_balance if metrics else 0,
            moment(member.entered_at),
        ]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    if members:
        customer_records_listed(
            customers=[member.customer for member in members],
            actor=request.user,
            store=request.store or None,
            via="messaging:segment_export",
        )
    return response


@staff_view(CHANGE)
@require_POST
def segment_remove(request, segment_id: int):
    segment = _segment_get(request, segment_id)
    segment_archive(segment=segment, actor=request.user)
    flash.success(request, f"Segment archived: {segment.name}.")
    return redirect("messaging:segments")
