"""Filters of the compliance reports and the audit center's search box."""

import datetime as dt

from django import forms

from compliance.reporting.audit_center import SearchKind
from dispensary.forms import BaseForm
from inventory.models import Product
from inventory.services.stock import AdjustmentReason
from inventory.services.waste import WASTE_REASONS

MAX_PERIOD_DAYS = 400


class PeriodForm(BaseForm):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError("The period must start on or before its last day.")
            if end - start > dt.timedelta(days=MAX_PERIOD_DAYS):
                raise forms.ValidationError(f"Choose a period of at most {MAX_PERIOD_DAYS} days.")
        return data


CATEGORY_CHOICES = [("", "All categories"), *Product.Category.choices]


class ReconciliationForm(PeriodForm):
    category = forms.ChoiceField(label="Category", choices=CATEGORY_CHOICES, required=False)
    q = forms.CharField(label="Tag, product or batch", required=False, max_length=100)
    discrepancies = forms.BooleanField(label="Discrepancies only", required=False)


class SalesForm(PeriodForm):
    pass


class ThreeWayForm(BaseForm):
    category = forms.ChoiceField(label="Category", choices=CATEGORY_CHOICES, required=False)
    mismatches = forms.BooleanField(label="Mismatches only", required=False)


class WasteForm(PeriodForm):
    reason = forms.ChoiceField(
        label="Reason",
        required=False,
        choices=[
            ("", "All reasons"),
            *((code, label) for code, label in AdjustmentReason.CHOICES if code in WASTE_REASONS),
        ],
    )
    flagged = forms.BooleanField(label="Flagged for the state only", required=False)


class DemographicsForm(BaseForm):
    on = forms.DateField(label="On", widget=forms.DateInput(attrs={"type": "date"}))
    state = forms.CharField(
        label="Registry state", required=False, max_length=2, help_text="Two letters, e.g. MI; empty for all."
    )


class AuditSearchForm(BaseForm):
    q = forms.CharField(label="Search", max_length=100, required=False)
    kind = forms.ChoiceField(label="Look for", choices=SearchKind.CHOICES, required=False)
