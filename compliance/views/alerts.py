"""Anti-looping alerts of the organization: the same ID checked at two of its stores on one local day. A
manager looks at both visits and acknowledges the alert with what they checked."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from compliance.forms import AlertAcknowledgeForm
from compliance.identity import looping_alert_acknowledge
from compliance.models import LoopingAlert
from dispensary.errors import ApplicationError
from dispensary.views.access import staff_view

ACKNOWLEDGED_SIZE = 25
VISIT_RELATIONS = [
    "verification__store",
    "verification__staff",
    "verification__customer",
    "earlier__store",
    "earlier__staff",
    "earlier__customer",
]


def _alerts(organization):
    return LoopingAlert.objects.filter(organization=organization).select_related(*VISIT_RELATIONS)


def _alerts_context(request, *, forms: dict | None = None, notice: str = "", problem: str = "") -> dict:
    alerts = _alerts(request.organization)
    open_alerts = list(alerts.filter(acknowledged_at__isnull=True).order_by("-created_at", "-id"))
    forms = forms or {}
    for alert in open_alerts:
        alert.form = forms.get(alert.pk) or AlertAcknowledgeForm(auto_id=f"alert{alert.pk}_%s")
    acknowledged = list(
        alerts.filter(acknowledged_at__isnull=False)
        .select_related("acknowledged_by")
        .order_by("-acknowledged_at", "-id")[:ACKNOWLEDGED_SIZE]
    )
    return {
        "open_alerts": open_alerts,
        "acknowledged": acknowledged,
        "can_acknowledge": request.user.has_perm("compliance.change_loopingalert"),
        "notice": notice,
        "problem": problem,
    }


def _alerts_response(request, **kwargs):
    template = "compliance/_alerts_body.html" if request.htmx else "compliance/alert_index.html"
    return render(request, template, _alerts_context(request, **kwargs))


@staff_view("compliance.view_loopingalert")
def alert_index(request):
    return _alerts_response(request)


@require_POST
@staff_view("compliance.view_loopingalert", "compliance.change_loopingalert")
def alert_acknowledge_view(request, pk: int):
    alert = get_object_or_404(LoopingAlert, pk=pk, organization=request.organization)
    form = AlertAcknowledgeForm(request.POST, auto_id=f"alert{alert.pk}_%s")
    if form.is_valid():
        try:
            looping_alert_acknowledge(alert=alert, actor=request.user, note=form.cleaned_data["note"])
        except ApplicationError as error:
            form.add_application_error(error)
            # An alert acknowledged meanwhile has left the open list, and its form with it.
            return _alerts_response(request, forms={alert.pk: form}, problem=error.message)
        else:
            notice = f"Alert of {alert.local_date:%b %d} acknowledged."
            if request.htmx:
                return _alerts_response(request, notice=notice)
            messages.success(request, notice)
            return redirect("compliance:alert_index")
    return _alerts_response(request, forms={alert.pk: form})
