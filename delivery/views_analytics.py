"""The delivery analytics page (`/delivery/analytics/`): owners and managers, and members granted
`delivery.view_trip`, at the stores they work at. Each figure is a chart (Chart.js, vendored) with its numbers
in a table beside it; `?format=orders` downloads one row per order, `?format=figures` the tables of the page."""

import csv

from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from delivery.forms_analytics import AnalyticsForm
from delivery.models import DriverProfile
from delivery.selectors_analytics import (
    LATE,
    ORDER_COLUMNS,
    DeliveryAnalytics,
    delivery_analytics_get,
    delivery_analytics_order_rows,
)
from dispensary.roles import Role
from dispensary.spreadsheets import csv_response, spreadsheet_safe
from dispensary.views.access import staff_view, user_roles

CHARTJS_VERSION = "4.6.2"  # static/vendor/chart.js-<version>/, refreshed by scripts/vendor_chartjs.sh
ANALYTICS_ROLES = {Role.OWNER, Role.MANAGER}
ANALYTICS_PERMISSION = "delivery.view_trip"
EXPORTS = {"orders": "Orders (CSV)", "figures": "Figures (CSV)"}


def can_see_delivery_analytics(user) -> bool:
    """Owners and managers, and any member whose role was given `delivery.view_trip`; object-level: only the
    stores they work at are offered (the form refuses any other)."""
    return (
        user.is_superuser or bool(user_roles(user) & ANALYTICS_ROLES) or user.has_perm(ANALYTICS_PERMISSION)
    )


def _number(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if digits else f"{value:,}"


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _money(value) -> str:
    return f"${value:,.2f}"


def _day(day) -> str:
    return day.strftime("%a %b %-d")


def _table(
    key, title, lead, columns, rows, chart_labels, chart_values, unit, *, horizontal=False, numeric=()
):
    return {
        "key": key,
        "title": title,
        "lead": lead,
        "columns": columns,
        "rows": rows,
        "numeric": set(numeric),
        "chart": {
            "labels": chart_labels,
            "values": chart_values,
            "unit": unit,
            "label": title,
            "horizontal": horizontal,
            "whole": unit in ("routes", "orders"),
        },
    }


def analytics_tables(report: DeliveryAnalytics) -> list[dict]:
    """Each chart of the page with the table of its numbers: the page draws them, the figures CSV lists them."""
    total = report.total
    tables = [
        _table(
            "on_time",
            "On-time rate by day",
            "Share of the delivered orders handed over by the end of their window.",
            ["Day", "Delivered", "On time", "Late", "On-time rate"],
            [[_day(d.day), d.delivered, d.on_time, d.late, _percent(d.on_time_rate)] for d in report.days],
            [_day(d.day) for d in report.days],
            [d.on_time_rate for d in report.days],
            "%",
            numeric=(1, 2, 3, 4),
        ),
        _table(
            "stops_per_route",
            "Stops per route",
            f"How many routes had each number of stops. Average: {_number(total.stops_per_route)} stops.",
            ["Stops on the route", "Routes"],
            [[stops, count] for stops, count in report.stops_per_route],
            [f"{stops} stop{'s' if stops != 1 else ''}" for stops, _ in report.stops_per_route],
            [count for _, count in report.stops_per_route],
            "routes",
            numeric=(0, 1),
        ),
        _table(
            "minutes_per_stop",
            "Minutes per stop, by driver",
            "From arriving at the door to completing the stop. "
            + (
                f"{total.service_planned} of {total.service_stops} stops had no arrival time: "
                "their planned service time is counted instead."
                if total.service_planned
                else "Every stop had its arrival time."
            ),
            ["Driver", "Stops finished", "Minutes per stop", "Without arrival time"],
            [
                [d.name, d.service_stops, _number(d.minutes_per_stop), d.service_planned]
                for d in report.drivers
            ],
            [d.name for d in report.drivers],
            [d.minutes_per_stop for d in report.drivers],
            "minutes",
            horizontal=True,
            numeric=(1, 2, 3),
        ),
        _table(
            "distance",
            "Distance per order by day",
            "Kilometres driven over orders delivered. "
            f"{report.routes_measured} of {total.routes} routes measured from the phone's positions; "
            "the others count their planned distance.",
            ["Day", "Routes", "Kilometres", "Delivered", "Km per order"],
            [
                [_day(d.day), d.routes, _number(d.distance_m / 1000), d.delivered, _number(d.km_per_order, 2)]
                for d in report.days
            ],
            [_day(d.day) for d in report.days],
            [d.km_per_order for d in report.days],
            "km",
            numeric=(1, 2, 3, 4),
        ),
        _table(
            "reasons",
            "Late and not delivered, by reason",
            "Orders handed over after their window, and orders brought back with the driver's reason.",
            ["Reason", "Orders"],
            [[label, count] for label, count in report.reasons],
            ["Late" if label == LATE else label for label, _ in report.reasons],  # short enough for a phone
            [count for _, count in report.reasons],
            "orders",
            horizontal=True,
            numeric=(1,),
        ),
        _table(
            "drivers",
            "Driver efficiency",
            "Stops finished (delivered or brought back) per hour on the road, from leaving the store to "
            "coming back.",
            [
                "Driver",
                "Routes",
                "Hours on the road",
                "Stops finished",
                "Stops per hour",
                "On-time rate",
                "Not delivered",
                "Km per order",
            ],
            [
                [
                    d.name,
                    d.routes,
                    _number(d.road_hours, 2),
                    d.completed,
                    _number(d.stops_per_hour, 2),
                    _percent(d.on_time_rate),
                    d.returned,
                    _number(d.km_per_order, 2),
                ]
                for d in report.drivers
            ],
            [d.name for d in report.drivers],
            [d.stops_per_hour for d in report.drivers],
            "stops per hour",
            horizontal=True,
            numeric=(1, 2, 3, 4, 5, 6, 7),
        ),
        _table(
            "zones",
            "Revenue by zone",
            "Sales of the delivered orders (voided sales left out, refunds taken off).",
            ["Zone", "Orders delivered", "Revenue"],
            [[row.label, row.orders, _money(row.revenue)] for row in report.zones],
            [row.label for row in report.zones],
            [float(row.revenue) for row in report.zones],
            "$",
            horizontal=True,
            numeric=(1, 2),
        ),
        _table(
            "hours",
            "Revenue by hour of day",
            f"When the delivered orders' sales were made, in {report.filters.store.name}'s local time.",
            ["Hour", "Sales", "Revenue"],
            [[row.label, row.orders, _money(row.revenue)] for row in report.hours],
            [row.label for row in report.hours],
            [float(row.revenue) for row in report.hours],
            "$",
            numeric=(1, 2),
        ),
    ]
    return tables


def analytics_summary(report: DeliveryAnalytics) -> list[tuple[str, str]]:
    total = report.total
    return [
        ("Routes", _number(total.routes, 0)),
        ("Orders delivered", _number(total.delivered, 0)),
        ("On-time rate", _percent(total.on_time_rate)),
        ("Not delivered", _number(total.returned, 0)),
        ("Stops per route", _number(total.stops_per_route)),
        ("Minutes per stop", _number(total.minutes_per_stop)),
        ("Km per order", _number(total.km_per_order, 2)),
        ("Revenue", _money(report.revenue)),
    ]


def _figures_csv(report: DeliveryAnalytics, tables: list[dict], filename: str) -> HttpResponse:
    """The page's figures as titled blocks: the filters, the summary, then each chart's table."""
    filters = report.filters
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)

    def write(row):
        writer.writerow([spreadsheet_safe(cell) for cell in row])

    write(["Delivery analytics"])
    write(["Store", filters.store.name])
    write(["Driver", filters.driver.name if filters.driver else "All drivers"])
    write(["From", filters.start.isoformat()])
    write(["To", filters.end.isoformat()])
    writer.writerow([])
    write(["Summary"])
    for label, value in analytics_summary(report):
        write([label, value])
    for table in tables:
        writer.writerow([])
        write([table["title"]])
        write(table["columns"])
        for row in table["rows"]:
            write(row)
    return response


def _drivers(stores):
    organizations = {store.organization_id for store in stores}
    return list(
        DriverProfile.objects.filter(organization_id__in=organizations)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "pk")
    )


@staff_view(allow=can_see_delivery_analytics)
@require_GET
def delivery_analytics(request):
    stores = list(request.accessible_stores)
    form = AnalyticsForm(request.GET, stores=stores, current=request.store, drivers=_drivers(stores))
    if not form.is_valid():
        return render(request, "delivery/analytics.html", {"form": form, "report": None}, status=400)
    filters = form.filters()
    query = QueryDict(mutable=True)
    query.update(form.query_data())
    name = slugify(f"delivery-{filters.store.code}-{filters.start.isoformat()}-{filters.end.isoformat()}")
    wanted = request.GET.get("format", "")
    if wanted == "orders":
        return csv_response(f"{name}-orders.csv", ORDER_COLUMNS, delivery_analytics_order_rows(filters))
    report = delivery_analytics_get(filters)
    tables = analytics_tables(report)
    if wanted == "figures":
        return _figures_csv(report, tables, f"{name}-figures.csv")
    # The form shows the filters as they applied (the defaults filled in).
    shown = AnalyticsForm(query, stores=stores, current=request.store, drivers=list(form.drivers.values()))
    exports = {}
    for kind, label in EXPORTS.items():
        link = query.copy()
        link["format"] = kind
        exports[kind] = {"url": f"?{link.urlencode()}", "label": label}
    charts = {table["key"]: table["chart"] for table in tables}
    return render(
        request,
        "delivery/analytics.html",
        {
            "form": shown,
            "report": report,
            "filters": filters,
            "tables": tables,
            "summary": analytics_summary(report),
            "charts": charts,
            "exports": exports,
            "chartjs": f"vendor/chart.js-{CHARTJS_VERSION}",
        },
    )


urlpatterns = [path("analytics/", delivery_analytics, name="analytics")]
