"""The results page for owners and managers (/messaging/results/): what flows and campaigns achieved over a
period at the stores they work at: overall, per flow step, per campaign and variant, each message (paged, with
its status and conversion), the coupon redemption rate by store and subscribers against other buyers. Each
figure is a chart (Chart.js, vendored) with its table beside it and its own CSV (`?format=csv&figure=<key>`;
without a figure, every table). The message list names customers: each page of it is a logged read."""

import csv

from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from dispensary.roles import Role
from dispensary.selectors import customer_records_listed
from dispensary.spreadsheets import spreadsheet_safe
from dispensary.views.access import staff_view, user_roles
from messaging.forms_deliverability import DeliverabilityForm
from messaging.results import Results
from messaging.results_report import (
    ResultsFilters,
    ResultsReport,
    conversion_totals,
    results_message_page,
    results_messages,
    results_report_get,
)

CHARTJS_VERSION = "4.6.2"  # static/vendor/chart.js-<version>/
RESULTS_ROLES = {Role.OWNER, Role.MANAGER}
PAGE_SIZE = 25
RESULT_COLUMNS = [
    "Recipients",
    "Sent",
    "Delivered",
    "Clicked",
    "Converted",
    "Revenue",
    "Revenue per recipient",
    "Unsubscribed",
]


def can_see_results(user) -> bool:
    """Owners and managers (the stores offered are those they work at)."""
    return user.is_superuser or bool(user_roles(user) & RESULTS_ROLES)


def _money(value) -> str:
    return "—" if value is None else f"${value:,.2f}"


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _result_cells(results: Results) -> list:
    return [
        results.recipients,
        results.sent,
        results.delivered,
        results.clicked,
        results.converted,
        _money(results.revenue),
        _money(results.revenue_per_recipient),
        results.unsubscribed,
    ]


def _table(key, title, lead, columns, rows, labels, values, unit, *, horizontal=False):
    return {
        "key": key,
        "title": title,
        "lead": lead,
        "columns": columns,
        "rows": rows,
        "numeric": set(range(1, len(columns))),
        "chart": {
            "labels": labels,
            "values": values,
            "unit": unit,
            "label": title,
            "horizontal": horizontal,
            "whole": unit in ("messages",),
        },
    }


def results_tables(report: ResultsReport) -> list[dict]:
    total = report.total
    funnel = [
        ("Sent", total.sent),
        ("Delivered", total.delivered),
        ("Clicked", total.clicked),
        ("Converted", total.converted),
    ]
    return [
        _table(
            "overall",
            "Sent, delivered, clicked, converted",
            "Every marketing message made in the period, and the sales credited to them (voided sales left out).",
            ["Step", "Messages", "Share of sent"],
            [[label, count, _percent(total.rate(count))] for label, count in funnel],
            [label for label, _ in funnel],
            [count for _, count in funnel],
            "messages",
        ),
        _table(
            "flow_steps",
            "Revenue by flow step",
            "Each message step of the flows, with what its messages achieved.",
            ["Flow step", *RESULT_COLUMNS],
            [[row.label, *_result_cells(row.results)] for row in report.flow_steps],
            [row.label for row in report.flow_steps],
            [float(row.results.revenue) for row in report.flow_steps],
            "$",
            horizontal=True,
        ),
        _table(
            "campaigns",
            "Revenue by campaign and variant",
            "A and B are the variants of an A/B test; a campaign without a letter is its rest (or has no test).",
            ["Campaign", *RESULT_COLUMNS],
            [[row.label, *_result_cells(row.results)] for row in report.campaigns],
            [row.label for row in report.campaigns],
            [float(row.results.revenue) for row in report.campaigns],
            "$",
            horizontal=True,
        ),
        _table(
            "coupons",
            "Coupon redemption rate by store",
            "Personal coupons sent by the period's messages, and those redeemed by a sale not voided.",
            ["Store", "Issued", "Redeemed", "Redemption rate"],
            [[row.store.name, row.issued, row.redeemed, _percent(row.rate)] for row in report.coupons],
            [row.store.name for row in report.coupons],
            [row.rate for row in report.coupons],
            "%",
        ),
        _table(
            "repeat",
            "Repeat-purchase rate: subscribers and the others",
            "Buyers of the period with two orders or more in it. Subscribers have marketing consent now "
            "(texts or emails); sales without a customer are not counted.",
            ["Group", "Buyers", "Bought twice or more", "Repeat-purchase rate"],
            [[g.label, g.buyers, g.repeat_buyers, _percent(g.repeat_rate)] for g in report.buyers],
            [g.label for g in report.buyers],
            [g.repeat_rate for g in report.buyers],
            "%",
        ),
        _table(
            "average_order",
            "Average order: subscribers and the others",
            "Revenue before taxes (subtotal less discounts) over the orders of the period.",
            ["Group", "Orders", "Revenue", "Average order"],
            [[g.label, g.orders, _money(g.revenue), _money(g.average_order)] for g in report.buyers],
            [g.label for g in report.buyers],
            [float(g.average_order) if g.average_order is not None else None for g in report.buyers],
            "$",
        ),
    ]


def results_summary(report: ResultsReport, kinds: dict[str, int]) -> list[tuple[str, str]]:
    total = report.total
    return [
        ("Messages sent", f"{total.sent:,}"),
        ("Delivered", f"{total.delivered:,}"),
        ("Clicked", f"{total.clicked:,}"),
        ("Converted", f"{total.converted:,}"),
        ("By code · by click", f"{kinds.get('code', 0):,} · {kinds.get('click', 0):,}"),
        ("Revenue", _money(total.revenue)),
        ("Revenue per recipient", _money(total.revenue_per_recipient)),
        ("Unsubscribed", f"{total.unsubscribed:,}"),
    ]


def _csv(report: ResultsReport, tables: list[dict], filename: str) -> HttpResponse:
    filters = report.filters
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)

    def write(row):
        writer.writerow([spreadsheet_safe(cell) for cell in row])

    write(["Message results"])
    write(["Stores", ", ".join(store.name for store in filters.stores)])
    write(["From", filters.start.isoformat()])
    write(["To", filters.end.isoformat()])
    for table in tables:
        writer.writerow([])
        write([table["title"]])
        write(table["columns"])
        for row in table["rows"]:
            write(row)
    return response


@staff_view(allow=can_see_results)
@require_GET
def results_page(request):
    stores = list(request.accessible_stores)
    form = DeliverabilityForm(request.GET, stores=stores, current=request.store)
    if not form.is_valid():
        return render(request, "messaging/results.html", {"form": form, "report": None}, status=400)
    base = form.filters()
    filters = ResultsFilters(
        stores=base.stores, start=base.start, end=base.end, channel=base.channel, store=base.store
    )
    report = results_report_get(filters)
    tables = results_tables(report)
    query = QueryDict(mutable=True)
    query.update(form.query_data())
    name = slugify(f"message-results-{filters.start.isoformat()}-{filters.end.isoformat()}")
    if request.GET.get("format") == "csv":
        wanted = request.GET.get("figure", "")
        chosen = [table for table in tables if table["key"] == wanted] if wanted else tables
        if not chosen:
            return HttpResponse("Unknown figure.", status=400, content_type="text/plain; charset=utf-8")
        return _csv(report, chosen, f"{name}{'-' + wanted if wanted else ''}.csv")
    for table in tables:
        link = query.copy()
        link.update({"format": "csv", "figure": table["key"]})
        table["csv_url"] = f"?{link.urlencode()}"
    everything = query.copy()
    everything["format"] = "csv"
    messages = results_messages(filters)
    paginator = Paginator(range(report.total.recipients), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    lines = results_message_page(
        messages, offset=page.start_index() - 1 if page.object_list else 0, limit=PAGE_SIZE
    )
    customers = {line.message.customer_id: line.message.customer for line in lines if line.message.customer}
    if customers:
        customer_records_listed(
            customers=customers.values(), actor=request.user, store=request.store, via="message_results"
        )
    shown = DeliverabilityForm(query, stores=stores, current=request.store)
    page_query = query.copy()
    page_query.pop("page", None)
    return render(
        request,
        "messaging/results.html",
        {
            "form": shown,
            "report": report,
            "filters": filters,
            "tables": tables,
            "summary": results_summary(report, conversion_totals(messages)),
            "charts": {table["key"]: table["chart"] for table in tables},
            "csv_all": f"?{everything.urlencode()}",
            "lines": lines,
            "page": page,
            "page_query": page_query.urlencode(),
            "chartjs": f"vendor/chart.js-{CHARTJS_VERSION}",
        },
    )


urlpatterns = [path("results/", results_page, name="results")]
