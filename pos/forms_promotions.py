"""Forms of the managers' promotion, coupon and loyalty settings. They shape input and show the same rules the
services enforce (`pos.services.promotions.promotion_problems`); the services write."""

import datetime as dt

from django import forms

from dispensary.forms import ApplicationErrorForm, BaseForm, BaseModelForm
from dispensary.models import Organization, Store
from inventory.models import Product
from pos.models import LoyaltyProgram, LoyaltyTier, PointsMultiplier, Promotion, Reward
from pos.services.coupons import MAX_CODES
from pos.services.promotions import PROMOTION_FIELDS, promotion_problems

WEEKDAY_CHOICES = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
NUMBER = {"inputmode": "decimal", "autocomplete": "off"}


def _categories_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=Product.Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every category.",
    )


def _weekdays_field() -> forms.TypedMultipleChoiceField:
    return forms.TypedMultipleChoiceField(
        choices=WEEKDAY_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every day.",
    )


class ApplicationErrorModelForm(BaseModelForm):
    add_application_error = ApplicationErrorForm.add_application_error


class PromotionForm(ApplicationErrorModelForm):
    """A promotion's rule. The organization's stores only; the checks are the service's."""

    stores = forms.ModelMultipleChoiceField(
        queryset=Store.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every store.",
    )
    categories = _categories_field()
    weekdays = _weekdays_field()
    # Said explicitly, never assumed: an automatic promotion discounts every cart it fits.
    automatic = forms.TypedChoiceField(
        label="How it applies",
        choices=[
            ("False", "Chosen at the counter, or by a coupon code"),
            ("True", "Automatically, on every sale it fits"),
        ],
        coerce=lambda value: value in (True, "True"),
        initial="False",
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Promotion
        fields = ["stores", *PROMOTION_FIELDS]
        widgets = {
            "value": forms.TextInput(attrs=NUMBER),
            "min_subtotal": forms.TextInput(attrs=NUMBER),
            "start_time": TIME,
            "end_time": TIME,
            "starts_on": DATE,
            "ends_on": DATE,
        }
        labels = {"min_subtotal": "Minimum subtotal", "starts_on": "First day", "ends_on": "Last day"}
        help_texts = {
            "value": "Percent off (0-100), amount off in dollars, or for buy X get Y the percent off the Y.",
            "start_time": "Store-local happy hour; an end before the start runs past midnight.",
        }

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = Store.objects.filter(organization=organization).order_by("name")

    def clean(self):
        cleaned = super().clean()
        values = {name: cleaned.get(name) for name in PROMOTION_FIELDS}
        for field, messages in promotion_problems(values).items():
            # A field that failed its own validation already says why.
            if field not in self.errors:
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in PROMOTION_FIELDS}


class CouponForm(ApplicationErrorForm):
    code = forms.CharField(
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        help_text="Letters and digits; stored upper case.",
    )
    promotion = forms.ModelChoiceField(queryset=Promotion.objects.none(), empty_label="Choose…")
    max_uses = forms.IntegerField(min_value=1, required=False, help_text="1: single use; empty: unlimited.")
    max_uses_per_customer = forms.IntegerField(min_value=1, required=False)
    min_spend = forms.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, widget=forms.TextInput(attrs=NUMBER)
    )
    valid_from = forms.DateTimeField(required=False, widget=DATETIME)
    valid_until = forms.DateTimeField(required=False, widget=DATETIME)
    message_id = forms.CharField(
        max_length=64, required=False, label="Message id", help_text="The message that sends this code."
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["promotion"].queryset = Promotion.objects.filter(organization=organization)

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if not code.isalnum():
            raise forms.ValidationError("A code is letters and digits only.")
        return code

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end <= start:
            self.add_error("valid_until", "The code must stop being valid after it starts.")
        return cleaned


class CouponGenerateForm(ApplicationErrorForm):
    promotion = forms.ModelChoiceField(queryset=Promotion.objects.none(), empty_label="Choose…")
    count = forms.IntegerField(min_value=1, max_value=MAX_CODES, label="How many codes", initial=50)
    prefix = forms.CharField(
        max_length=32, required=False, help_text="Optional, letters and digits (SPRING)."
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["promotion"].queryset = Promotion.objects.filter(organization=organization)


class AttributionFilterForm(BaseForm):
    start = forms.DateField(label="From", widget=DATE)
    end = forms.DateField(label="To", widget=DATE)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end date is before the start date.")
            elif (end - start).days >= 366:
                self.add_error("end", "Choose at most a year.")
        return cleaned

    @staticmethod
    def default_range(today: dt.date) -> dict:
        return {"start": today - dt.timedelta(days=29), "end": today}


class LoyaltyProgramForm(ApplicationErrorModelForm):
    class Meta:
        model = LoyaltyProgram
        fields = ["enabled", "points_per_currency_unit", "points_expire_after_days", "tier_window_days"]
        labels = {
            "points_per_currency_unit": "Points per dollar",
            "points_expire_after_days": "Points expire after (days)",
            "tier_window_days": "Tier window (days)",
        }
        widgets = {"points_per_currency_unit": forms.TextInput(attrs=NUMBER)}


class LoyaltyTierForm(ApplicationErrorModelForm):
    class Meta:
        model = LoyaltyTier
        fields = ["name", "min_spend", "earn_multiplier"]
        labels = {"min_spend": "Minimum spend"}
        widgets = {
            "min_spend": forms.TextInput(attrs=NUMBER),
            "earn_multiplier": forms.TextInput(attrs=NUMBER),
        }

    def validate_unique(self):
        """The service decides uniqueness (the database's constraints) and its error comes back on the field."""


class PointsMultiplierForm(ApplicationErrorModelForm):
    categories = _categories_field()
    weekdays = _weekdays_field()

    class Meta:
        model = PointsMultiplier
        fields = ["name", "multiplier", "categories", "weekdays", "starts_on", "ends_on", "active"]
        widgets = {"multiplier": forms.TextInput(attrs=NUMBER), "starts_on": DATE, "ends_on": DATE}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("starts_on"), cleaned.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", "The end date is before the start date.")
        return cleaned


class RewardForm(ApplicationErrorModelForm):
    categories = _categories_field()

    class Meta:
        model = Reward
        fields = ["name", "points_cost", "kind", "value", "categories", "active"]
        widgets = {"value": forms.TextInput(attrs=NUMBER)}

    def clean(self):
        cleaned = super().clean()
        value = cleaned.get("value")
        if cleaned.get("kind") == Reward.Kind.PERCENT and value is not None and value > 100:
            self.add_error("value", "A percentage is between 0 and 100.")
        return cleaned


def form_values(form: forms.ModelForm) -> dict:
    """The cleaned values of a model form's own fields, for a service."""
    return {name: form.cleaned_data[name] for name in form._meta.fields if name in form.cleaned_data}
