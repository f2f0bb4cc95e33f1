"""Managers' campaign pages (/messaging/campaigns/): the list, a draft's form with a live preview (a text's
characters and parts), its page with the estimate, the test to staff, Schedule and Cancel, a progress bar while
it sends (polled every 2 s) and its results after (per variant and in total, a chart with its table, and the
sending rules' refusals in words). Owners and managers (messaging.*_campaign); another organization's
campaigns are 404. Only counts are shown, never a customer's data."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view
from messaging.campaigns import (
    METRIC_WORDS,
    RUNNING,
    VARIABLES,
    campaign_cancel,
    campaign_estimate,
    campaign_progress,
    campaign_refusals,
    campaign_results,
    campaign_save,
    campaign_schedule,
    campaign_test_send,
    unknown_variables,
    words_normalise,
    words_preview,
)
from messaging.deliverability import REFUSAL_WORDS
from messaging.forms_campaigns import CampaignForm, StaffTestForm
from messaging.models import Campaign, Channel, MessageConversion

VIEW = "messaging.view_campaign"
ADD = "messaging.add_campaign"
CHANGE = "messaging.change_campaign"
CHARTJS_VERSION = "4.6.2"
PAGE_SIZE = 50
POLL_STATUSES = RUNNING
REASON_WORDS = {
    **REFUSAL_WORDS,
    "expired": "Too late to be useful (held past its sending window)",
    "refused": "Refused by the sending rules",
}
VARIANT_LABELS = {"a": "Variant A (test)", "b": "Variant B (test)"}


def can_manage_campaigns(user) -> bool:
    return user.is_superuser or user.has_perm(VIEW)


def _campaign(request, pk: int) -> Campaign:
    campaign = (
        Campaign.objects.filter(pk=pk, organization=request.organization)
        .select_related("segment", "coupon_promotion", "created_by")
        .first()
    )
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def _fields(data: dict) -> dict:
    return {
        "name": data["name"],
        "segment": data["segment"],
        "channel": data["channel"],
        "topic": data["topic"],
        "subject": data.get("subject") or "",
        "body": data["body"],
        "variant_b_subject": data.get("variant_b_subject") or "",
        "variant_b_body": data.get("variant_b_body") or "",
        "test_share": data.get("test_share") or 0,
        "winner_metric": data.get("winner_metric") or "",
        "winner_after_hours": data.get("winner_after_hours") or 4,
        "coupon_promotion": data.get("coupon_promotion"),
        "coupon_valid_days": data.get("coupon_valid_days") or 14,
        "send_on": data.get("send_on"),
        "send_at": data.get("send_at"),
    }


def _initial(campaign: Campaign) -> dict:
    return {
        "name": campaign.name,
        "segment": campaign.segment_id,
        "channel": campaign.channel,
        "topic": campaign.topic,
        "subject": campaign.subject,
        "body": campaign.body,
        "variant_b_subject": campaign.variant_b_subject,
        "variant_b_body": campaign.variant_b_body,
        "test_share": campaign.test_share or 20,
        "winner_metric": campaign.winner_metric,
        "winner_after_hours": campaign.winner_after_hours,
        "coupon_promotion": campaign.coupon_promotion_id,
        "coupon_valid_days": campaign.coupon_valid_days,
        "send_on": campaign.send_on,
        "send_at": campaign.send_at,
    }


def _previews(*, channel: str, subject: str, body: str, b_subject: str, b_body: str, store) -> dict:
    channel = channel if channel in Channel.values else Channel.SMS
    shown = {"a": words_preview(channel=channel, subject=subject, body=body, store=store)}
    if b_body.strip():
        shown["b"] = words_preview(channel=channel, subject=b_subject, body=b_body, store=store)
    return {
        "channel": channel,
        "variants": shown,
        "unknown": unknown_variables(
            words_normalise(subject),
            words_normalise(body),
            words_normalise(b_subject),
            words_normalise(b_body),
        ),
        "allowed": VARIABLES,
    }


@staff_view(VIEW)
@require_GET
def campaign_index(request):
    revenue = (
        MessageConversion.objects.filter(message__origin__campaign=OuterRef("pk"), reversed_at__isnull=True)
        .order_by()
        .values("message__origin__campaign")
        .annotate(total=Sum("revenue"))
        .values("total")
    )
    rows = (
        Campaign.objects.filter(organization=request.organization)
        .select_related("segment")
        .annotate(
            queued=Count("recipients", filter=Q(recipients__message__isnull=False)),
            first_due=Min("recipients__due_at"),
            revenue=Coalesce(
                Subquery(revenue, output_field=DecimalField(max_digits=12, decimal_places=2)),
                0,
                output_field=DecimalField(max_digits=12, decimal_places=2),
            ),
        )
        .order_by("-created_at", "-id")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "messaging/campaigns/index.html",
        {"page": page, "can_add": request.user.has_perm(ADD)},
    )


def _edit(request, campaign: Campaign | None):
    organization = request.organization
    if campaign is not None and campaign.status != Campaign.Status.DRAFT:
        messages.error(
            request, f"This campaign is {campaign.get_status_display().lower()}: it can no longer change."
        )
        return redirect("messaging:campaign_detail", pk=campaign.pk)
    status = 200
    if request.method == "POST":
        form = CampaignForm(request.POST, organization=organization)
        if form.is_valid():
            try:
                saved = campaign_save(
                    organization=organization,
                    actor=request.user,
                    campaign=campaign,
                    **_fields(form.cleaned_data),
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                messages.success(request, f"Campaign “{saved.name}” saved as a draft.")
                return redirect("messaging:campaign_detail", pk=saved.pk)
        status = 400
    else:
        form = CampaignForm(initial=_initial(campaign) if campaign else {}, organization=organization)
    values = {name: str(form[name].value() or "") for name in ("channel", "subject", "body")}
    context = {
        "form": form,
        "campaign": campaign,
        "preview": _previews(
            channel=values["channel"] or Channel.SMS,
            subject=values["subject"],
            body=values["body"],
            b_subject=str(form["variant_b_subject"].value() or ""),
            b_body=str(form["variant_b_body"].value() or ""),
            store=request.store or None,
        ),
    }
    return render(request, "messaging/campaigns/form.html", context, status=status)


@staff_view(ADD, CHANGE)
def campaign_create(request):
    return _edit(request, None)


@staff_view(CHANGE)
def campaign_edit(request, pk: int):
    return _edit(request, _campaign(request, pk))


@require_POST
@staff_view(CHANGE)
def campaign_preview(request):
    """The preview fragment (HTMX): the words for a sample customer, a text's characters and parts."""
    post = request.POST
    preview = _previews(
        channel=post.get("channel", Channel.SMS),
        subject=post.get("subject", "")[:200],
        body=post.get("body", "")[:2000],
        b_subject=post.get("variant_b_subject", "")[:200],
        b_body=post.get("variant_b_body", "")[:2000],
        store=request.store or None,
    )
    return render(request, "messaging/campaigns/_preview.html", {"preview": preview})


def _progress_context(campaign: Campaign) -> dict:
    progress = campaign_progress(campaign)
    return {
        "campaign": campaign,
        "progress": progress,
        "poll": campaign.status in POLL_STATUSES,
        "bars": [
            ("delivered", "Delivered", progress.delivered),
            ("sent", "Sent, awaiting the carrier's report", progress.sent),
            ("queued", "Queued, being sent", progress.queued),
            ("refused", "Not sent: the sending rules refused", progress.refused),
            ("failed", "Failed or not delivered", progress.failed),
        ],
    }


def _results_context(campaign: Campaign) -> dict:
    by_variant, total = campaign_results(campaign)
    if not total.recipients:
        return {"results": None}
    rows = []
    for key in ("a", "b", ""):
        if key in by_variant:
            label = VARIANT_LABELS.get(key, "Everyone")
            if key == "" and campaign.variant_b_body:
                label = f"The rest (winner: {campaign.winner.upper() or '—'})"
            rows.append((label, by_variant[key]))
    rows.append(("Total", total))
    table = [
        [
            label,
            result.recipients,
            result.sent,
            result.delivered,
            result.opened,
            result.clicked,
            result.converted,
            f"${result.revenue:,.2f}",
            f"${result.revenue_per_recipient:,.2f}",
            result.unsubscribed,
        ]
        for label, result in rows
    ]
    chart = {
        "labels": [label for label, _ in rows],
        "datasets": [
            {"label": name, "values": [getattr(result, attribute) for _, result in rows]}
            for name, attribute in (
                ("Delivered", "delivered"),
                ("Opened", "opened"),
                ("Clicked", "clicked"),
                ("Converted", "converted"),
            )
        ],
    }
    refusals = [
        {"code": code, "words": REASON_WORDS.get(code, code.replace("_", " ")), "messages": count}
        for code, count in campaign_refusals(campaign)
    ]
    return {
        "results": {
            "columns": [
                "",
                "Messages",
                "Sent",
                "Delivered",
                "Opened",
                "Clicked",
                "Converted",
                "Revenue",
                "Revenue per recipient",
                "Unsubscribes",
            ],
            "rows": table,
            "chart": chart,
            "refusals": refusals,
            "total": total,
        },
        "chartjs": f"vendor/chart.js-{CHARTJS_VERSION}",
    }


@staff_view(VIEW)
@require_GET
def campaign_detail(request, pk: int):
    campaign = _campaign(request, pk)
    context = {
        "campaign": campaign,
        "estimate": campaign_estimate(campaign) if campaign.status == Campaign.Status.DRAFT else None,
        "test_form": StaffTestForm(),
        "can_change": request.user.has_perm(CHANGE),
        "metric_words": METRIC_WORDS.get(campaign.winner_metric, ""),
        **_progress_context(campaign),
        **_results_context(campaign),
    }
    return render(request, "messaging/campaigns/detail.html", context)


@staff_view(VIEW)
@require_GET
def campaign_progress_fragment(request, pk: int):
    """The progress bar (HTMX, polled every 2 s while the campaign runs): two queries."""
    campaign = (
        Campaign.objects.filter(pk=pk, organization=request.organization)
        .only("pk", "status", "variant_b_body", "winner", "recipients_total", "organization_id")
        .first()
    )
    if campaign is None:
        raise Http404("No such campaign.")
    return render(request, "messaging/campaigns/_progress.html", _progress_context(campaign))


@require_POST
@staff_view(CHANGE)
def campaign_schedule_view(request, pk: int):
    campaign = _campaign(request, pk)
    try:
        scheduled = campaign_schedule(campaign=campaign, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Scheduled for {scheduled.recipients_total:,} recipients.")
    return redirect("messaging:campaign_detail", pk=campaign.pk)


@require_POST
@staff_view(CHANGE)
def campaign_cancel_view(request, pk: int):
    campaign = _campaign(request, pk)
    try:
        stopped = campaign_cancel(campaign=campaign, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Cancelled: {stopped:,} recipients not queued yet will get nothing.")
    return redirect("messaging:campaign_detail", pk=campaign.pk)


@require_POST
@staff_view(CHANGE)
def campaign_test_view(request, pk: int):
    campaign = _campaign(request, pk)
    form = StaffTestForm(request.POST)
    if form.is_valid():
        try:
            message = campaign_test_send(
                campaign=campaign,
                actor=request.user,
                to=form.cleaned_data["to"],
                store=request.store or None,
                variant=form.cleaned_data.get("variant") or "a",
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            messages.success(
                request, f"Test sent to {message.to}, marked “[Test]”. It is not counted in the results."
            )
            return redirect("messaging:campaign_detail", pk=campaign.pk)
    context = {
        "campaign": campaign,
        "estimate": campaign_estimate(campaign) if campaign.status == Campaign.Status.DRAFT else None,
        "test_form": form,
        "can_change": True,
        "metric_words": METRIC_WORDS.get(campaign.winner_metric, ""),
        **_progress_context(campaign),
        **_results_context(campaign),
    }
    return render(request, "messaging/campaigns/detail.html", context, status=400)
