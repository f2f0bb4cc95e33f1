"""The customer's side panel at the counter: their profile (value, visits, favourite categories, recent
purchases, loyalty, consent), and marketing consent captured as a separate, optional choice. Both are htmx
partials; without JavaScript they come in a page of their own. The consent history (every row of the ledger) is on
the profile and downloads as CSV or JSON. Every read is logged."""

import csv
import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from dispensary.consent import CHANNELS, disclosure_get, disclosure_text
from dispensary.errors import ApplicationError
from dispensary.forms import ApplicationErrorForm
from dispensary.models import Customer
from dispensary.selectors import customer_record_viewed, marketing_consent_current
from dispensary.services import marketing_consent_record
from dispensary.views.access import staff_view
from pos.selectors.customer_profile import (
    CONSENT_HISTORY_COLUMNS,
    consent_choices,
    consent_history_get,
    customer_profile_get,
)

CHANGE_CUSTOMER = "dispensary.change_customer"


class ConsentForm(ApplicationErrorForm):
    """One optional box per channel, never ticked for the customer, with the disclosure version shown."""

    sms = forms.BooleanField(required=False)
    sms_version = forms.CharField(max_length=40, widget=forms.HiddenInput)
    email = forms.BooleanField(required=False)
    email_version = forms.CharField(max_length=40, widget=forms.HiddenInput)
    age_affirmed = forms.BooleanField(required=False)
    register_label = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)


def _customer(request, pk: int) -> Customer:
    return get_object_or_404(
        Customer.objects.select_related("organization"), pk=pk, organization=request.organization
    )


def _consent_context(request, customer: Customer, choices, *, form=None, notice: str = "") -> dict:
    rows = []
    for choice in choices:
        disclosure = disclosure_get(choice.channel)
        rows.append(
            {
                "choice": choice,
                "disclosure": disclosure,
                "text": disclosure_text(disclosure, business=customer.organization.name),
                "checked": bool(choice.granted),
                "earlier_version": bool(choice.granted) and choice.disclosure_version != disclosure.version,
            }
        )
    return {
        "customer": customer,
        "consent_rows": rows,
        "consent_form": form,
        "consent_notice": notice,
        "can_change_consent": request.user.has_perm(CHANGE_CUSTOMER),
        "register_label": (request.GET.get("register") or request.POST.get("register_label") or "")[:100],
    }


def _partial(request, template: str, context: dict):
    """htmx swaps the partial into the counter's side panel; otherwise it comes in a page of its own."""
    if request.htmx:
        return render(request, template, context)
    return render(request, "pos/customer_panel.html", {**context, "panel_template": template})


@staff_view("dispensary.view_customer", "pos.view_sale")
def customer_profile(request, pk: int):
    customer = _customer(request, pk)
    profile = customer_profile_get(customer, stores=list(request.accessible_stores))
    customer_record_viewed(
        customer=customer, actor=request.user, store=request.store or None, via="pos_profile"
    )
    context = {
        "profile": profile,
        "consent_history": consent_history_get(customer),
        **_consent_context(request, customer, profile.consent),
    }
    return _partial(request, "pos/_customer_profile.html", context)


@staff_view("dispensary.view_customer", "pos.view_sale")
def consent_history(request, pk: int, export: str):
    """The customer's consent ledger, every row, as CSV or JSON (the download is logged as a read)."""
    if export not in ("csv", "json"):
        raise Http404
    customer = _customer(request, pk)
    rows = consent_history_get(customer)
    customer_record_viewed(
        customer=customer, actor=request.user, store=request.store or None, via=f"pos_consent_{export}"
    )
    filename = f"consent-customer-{customer.pk}.{export}"
    records = [row.as_record() for row in rows]
    if export == "json":
        body = json.dumps({"customer_id": customer.pk, "consent": records}, indent=2)
        response = HttpResponse(body, content_type="application/json")
    else:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        writer = csv.DictWriter(response, fieldnames=CONSENT_HISTORY_COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_view("dispensary.view_customer")
def consent(request, pk: int):
    customer = _customer(request, pk)
    current = marketing_consent_current(customer)
    if request.method != "POST":
        customer_record_viewed(
            customer=customer, actor=request.user, store=request.store or None, via="pos_consent"
        )
        return _partial(
            request, "pos/_consent.html", _consent_context(request, customer, consent_choices(current))
        )
    if not request.user.has_perm(CHANGE_CUSTOMER):
        raise PermissionDenied
    form = ConsentForm(request.POST)
    if form.is_valid():
        age_affirmed = form.cleaned_data["age_affirmed"]
        changes = [
            (channel, form.cleaned_data[channel], form.cleaned_data[f"{channel}_version"])
            for channel in CHANNELS
            if form.cleaned_data[channel] != bool(current[channel] and current[channel].granted)
        ]
        try:
            # Both channels' choices are one decision at the counter: recorded together or not at all.
            with transaction.atomic():
                for channel, granted, version in changes:
                    marketing_consent_record(
                        customer=customer,
                        channel=channel,
                        granted=granted,
                        disclosure_version=version,
                        staff=request.user,
                        store=request.store or None,
                        source="counter",
                        age_affirmed=age_affirmed,
                        register_label=form.cleaned_data["register_label"],
                    )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            notice = _notice(changes)
            if not request.htmx:
                messages.success(request, notice)
                return redirect("pos:consent", pk=customer.pk)
            current = marketing_consent_current(customer)
            context = _consent_context(request, customer, consent_choices(current), notice=notice)
            return render(request, "pos/_consent.html", context)
    context = _consent_context(request, customer, consent_choices(current), form=form)
    return _partial(request, "pos/_consent.html", context)


def _notice(changes) -> str:
    if not changes:
        return "No change: the customer's marketing choices stay as they were."
    labels = {"sms": "text messages", "email": "email"}
    parts = [
        f"{'opted in to' if granted else 'opted out of'} {labels[channel]}"
        + (" (waiting for the customer's YES by text)" if granted and channel == "sms" else "")
        for channel, granted, _ in changes
    ]
    return "Recorded: " + " and ".join(parts) + "."
