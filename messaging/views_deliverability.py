"""Managers' pages of messaging (issue 14, parts 8 and 9): deliverability (`/messaging/deliverability/`, charts
with their numbers beside them, `?format=csv` for the figures), the alerts with their Acknowledge button, the
message list (`/messaging/messages/`) and a message's page with its timeline. Members granted
`messaging.view_outboundmessage`, at the stores they work at. Recipients' numbers and addresses are
patient-adjacent: every customer shown is a logged read, as on the customer desk."""

import csv

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from dispensary.audit import audit_record
from dispensary.selectors import customer_record_viewed, customer_records_listed
from dispensary.spreadsheets import spreadsheet_safe
from dispensary.views.access import staff_view
from messaging.alerts import messaging_alert_acknowledge, messaging_alerts_open
from messaging.deliverability import (
    CHANNEL_LABELS,
    REFUSAL_WORDS,
    Counts,
    Deliverability,
    deliverability_get,
    message_get,
    message_list,
)
from messaging.error_codes import error_code_words
from messaging.forms_deliverability import DeliverabilityForm, MessageFilterForm
from messaging.models import MessagingAlert

CHARTJS_VERSION = "4.6.2"  # static/vendor/chart.js-<version>/
VIEW_MESSAGES = "messaging.view_outboundmessage"
VIEW_ALERTS = "messaging.view_messagingalert"
CHANGE_ALERTS = "messaging.change_messagingalert"
PAGE_SIZE = 50
SOURCE_WORDS = {
    "queue": "Queue",
    "gate": "Sending rules",
    "provider": "Provider",
    "callback": "Carrier's report",
    "webhook": "Provider's report",
    "demo": "Demo",
}
COUNT_COLUMNS = [
    "Sent",
    "Delivered",
    "Failed or not delivered",
    "Awaiting a report",
    "Refused by the rules",
    "Opt-outs",
    "Bounces",
    "Complaints",
    "Delivery rate",
    "Failure rate",
    "Opt-out rate",
    "Bounce rate",
    "Complaint rate",
]


def can_see_deliverability(user) -> bool:
    return user.is_superuser or user.has_perm(VIEW_MESSAGES)


def _percent(value) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _day(day) -> str:
    return day.strftime("%a %b %-d")


def _count_cells(counts: Counts) -> list:
    return [
        counts.sent,
        counts.delivered,
        counts.failed,
        counts.awaiting,
        counts.refused,
        counts.opt_outs,
        counts.bounces,
        counts.complaints,
        _percent(counts.delivery_rate),
        _percent(counts.failure_rate),
        _percent(counts.opt_out_rate),
        _percent(counts.bounce_rate),
        _percent(counts.complaint_rate),
    ]


def _rates_chart(labels, groups, *, horizontal=False) -> dict:
    return {
        "labels": labels,
        "unit": "%",
        "horizontal": horizontal,
        "datasets": [
            {"label": "Delivery rate", "values": [counts.delivery_rate for counts in groups]},
            {"label": "Failure rate", "values": [counts.failure_rate for counts in groups]},
        ],
    }


def _count_chart(labels, values, label, *, horizontal=True) -> dict:
    return {
        "labels": labels,
        "unit": "messages",
        "horizontal": horizontal,
        "whole": True,
        "datasets": [{"label": label, "values": values}],
    }


def deliverability_tables(report: Deliverability) -> list[dict]:
    """Each chart of the page with the table of its numbers (the CSV lists the same tables)."""
    numeric = tuple(range(1, 14))
    days = [counts for _, counts in report.days]
    stores = [counts for _, counts in report.stores]
    channels = [counts for _, counts in report.channels]
    return [
        {
            "key": "days",
            "title": "By day",
            "lead": "Delivery and failure rates of the messages sent each local day.",
            "columns": ["Day", *COUNT_COLUMNS],
            "rows": [[_day(day), *_count_cells(counts)] for day, counts in report.days],
            "numeric": numeric,
            "chart": _rates_chart([_day(day) for day, _ in report.days], days),
        },
        {
            "key": "stores",
            "title": "By store",
            "lead": "A message without a store counts for its customer's home store.",
            "columns": ["Store", *COUNT_COLUMNS],
            "rows": [[store.name, *_count_cells(counts)] for store, counts in report.stores],
            "numeric": numeric,
            "chart": _rates_chart([store.name for store, _ in report.stores], stores, horizontal=True),
        },
        {
            "key": "channels",
            "title": "By channel",
            "lead": "Bounces and complaints are emails'; STOP replies are texts'.",
            "columns": ["Channel", *COUNT_COLUMNS],
            "rows": [[CHANNEL_LABELS[name], *_count_cells(counts)] for name, counts in report.channels],
            "numeric": numeric,
            "chart": _rates_chart(
                [CHANNEL_LABELS[name] for name, _ in report.channels], channels, horizontal=True
            ),
        },
        {
            "key": "errors",
            "title": "Error codes",
            "lead": "Why messages failed or were not delivered, as the provider and the carriers said.",
            "columns": ["Code", "What it means", "Channel", "Messages", "Share of sent"],
            "rows": [
                [
                    row.code,
                    row.words,
                    CHANNEL_LABELS.get(row.channel, row.channel),
                    row.messages,
                    _percent(row.share),
                ]
                for row in report.error_codes
            ],
            "numeric": (3, 4),
            "stacked": True,
            "chart": _count_chart(
                [row.code for row in report.error_codes],
                [row.messages for row in report.error_codes],
                "Messages",
            ),
        },
        {
            "key": "refusals",
            "title": "Refused by the rules, by reason",
            "lead": "Messages the sending rules did not let go (a message may have several reasons).",
            "columns": ["Reason", "Messages"],
            "rows": [[row.words, row.messages] for row in report.refusals],
            "numeric": (1,),
            "chart": _count_chart(
                [row.code for row in report.refusals], [row.messages for row in report.refusals], "Messages"
            ),
        },
    ]


def deliverability_summary(report: Deliverability) -> list[tuple[str, str]]:
    total = report.total
    return [
        ("Sent", f"{total.sent:,}"),
        ("Delivered", f"{total.delivered:,}"),
        ("Delivery rate", _percent(total.delivery_rate)),
        ("Failure rate", _percent(total.failure_rate)),
        ("Refused by the rules", f"{total.refused:,}"),
        ("Opt-out rate", _percent(total.opt_out_rate)),
        ("Bounce rate", _percent(total.bounce_rate)),
        ("Complaint rate", _percent(total.complaint_rate)),
    ]


def _figures_csv(report: Deliverability, tables: list[dict], filename: str) -> HttpResponse:
    filters = report.filters
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)

    def write(row):
        writer.writerow([spreadsheet_safe(cell) for cell in row])

    write(["Deliverability"])
    write(["Store", filters.store.name if filters.store else "All my stores"])
    write(["Channel", CHANNEL_LABELS.get(filters.channel, "Texts and emails")])
    write(["From", filters.start.isoformat()])
    write(["To", filters.end.isoformat()])
    writer.writerow([])
    write(["Summary"])
    for label, value in deliverability_summary(report):
        write([label, value])
    for table in tables:
        writer.writerow([])
        write([table["title"]])
        write(table["columns"])
        for row in table["rows"]:
            write(row)
    return response


@staff_view(VIEW_MESSAGES)
@require_GET
def deliverability(request):
    stores = list(request.accessible_stores)
    current = request.store or None
    form = DeliverabilityForm(request.GET, stores=stores, current=current)
    alerts = messaging_alerts_open(stores=stores) if request.user.has_perm(VIEW_ALERTS) else []
    context = {
        "form": form,
        "report": None,
        "alerts": alerts,
        "can_acknowledge": request.user.has_perm(CHANGE_ALERTS),
    }
    if not form.is_valid():
        return render(request, "messaging/deliverability.html", context, status=400)
    filters = form.filters()
    query = QueryDict(mutable=True)
    query.update(form.query_data())
    report = deliverability_get(filters)
    tables = deliverability_tables(report)
    scope = filters.store.code if filters.store else "all-stores"
    name = slugify(f"deliverability-{scope}-{filters.start.isoformat()}-{filters.end.isoformat()}")
    if request.GET.get("format") == "csv":
        return _figures_csv(report, tables, f"{name}.csv")
    export = query.copy()
    export["format"] = "csv"
    context.update(
        {
            "form": DeliverabilityForm(query, stores=stores, current=current),
            "report": report,
            "filters": filters,
            "tables": tables,
            "summary": deliverability_summary(report),
            "charts": {table["key"]: table["chart"] for table in tables},
            "export_url": f"?{export.urlencode()}",
            "chartjs": f"vendor/chart.js-{CHARTJS_VERSION}",
        }
    )
    return render(request, "messaging/deliverability.html", context)


@staff_view(CHANGE_ALERTS)
@require_POST
def alert_acknowledge(request, alert_id: int):
    alert = (
        MessagingAlert.objects.filter(
            pk=alert_id, store__in=[store.pk for store in request.accessible_stores]
        )
        .select_related("organization", "store")
        .first()
    )
    if alert is None:
        raise Http404("No such alert at your stores.")
    if messaging_alert_acknowledge(alert=alert, actor=request.user):
        flash.success(request, f"Alert acknowledged: {alert.get_kind_display()} on {alert.day:%b %-d}.")
    # Back to the page it was acknowledged on: a path of this site only, anything else goes to the page.
    target = request.POST.get("next", "")
    if not (
        target.startswith("/")
        and "\x00" not in target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    ):
        target = reverse("messaging:deliverability")
    return HttpResponseRedirect(target)


@staff_view(VIEW_MESSAGES)
@require_GET
def message_index(request):
    stores = list(request.accessible_stores)
    form = MessageFilterForm(request.GET, stores=stores, current=request.store or None)
    if not form.is_valid():
        return render(request, "messaging/messages.html", {"form": form, "page": None}, status=400)
    data = form.cleaned_data
    rows = message_list(
        stores=stores,
        status=data.get("status") or "",
        channel=data.get("channel") or "",
        store=data.get("store"),
        to=data.get("to") or "",
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # read once: logged, then shown
    customers = {message.customer_id: message.customer for message in page.object_list if message.customer_id}
    if customers:
        customer_records_listed(
            customers=customers.values(),
            actor=request.user,
            store=request.store or None,
            via="messaging:messages",
            search=data.get("to") or "",
        )
    return render(request, "messaging/messages.html", {"form": form, "page": page})


def _reasons(message) -> list[dict]:
    shown = []
    for reason in message.gate_reasons or []:
        code, _, words = str(reason).partition(":")
        shown.append(
            {"code": code.strip(), "title": REFUSAL_WORDS.get(code.strip(), ""), "words": words.strip()}
        )
    return shown


@staff_view(VIEW_MESSAGES)
@require_GET
def message_detail(request, message_id: int):
    message = message_get(stores=list(request.accessible_stores), message_id=message_id)
    if message is None:
        raise Http404("No such message at your stores.")
    if message.customer_id:
        customer_record_viewed(
            customer=message.customer,
            actor=request.user,
            store=request.store or None,
            via="messaging:message",
        )
    else:
        audit_record(
            actor=request.user,
            action="messaging.message_viewed",
            instance=message,
            organization=request.organization,
            store=request.store or None,
        )
    timeline = [
        {
            "event": event,
            "source": SOURCE_WORDS.get(event.source, event.source),
            "error_words": error_code_words(event.error_code),
        }
        for event in message.status_events.all()
    ]
    context = {
        "message": message,
        "timeline": timeline,
        "reasons": _reasons(message),
        "error_words": error_code_words(message.error_code),
    }
    return render(request, "messaging/message_detail.html", context)


urlpatterns = [
    path("deliverability/", deliverability, name="deliverability"),
    path("alerts/<id:alert_id>/acknowledge/", alert_acknowledge, name="alert_acknowledge"),
    path("messages/", message_index, name="messages"),
    path("messages/<id:message_id>/", message_detail, name="message_detail"),
]
