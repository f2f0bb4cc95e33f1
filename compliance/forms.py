"""HTML forms of the compliance pages. They shape input for the services (the sync queue, patients and
anti-looping); the rules stay in the services, whose application errors are put back on the forms' fields."""

import json
from decimal import Decimal

from django import forms

from dispensary.forms import ApplicationErrorForm, BaseForm
from dispensary.inputs import InputRejected, quantity_parse

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SyncFilterForm(BaseForm):
    """The sync list's status filter; an unknown value shows the default (everything still open)."""

    STATUS_CHOICES = [
        ("", "Failed and pending"),
        ("failed", "Failed"),
        ("pending", "Pending"),
        ("sent", "Sent, answer unknown"),
    ]
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Status")

    def status_value(self) -> str:
        return self.cleaned_data.get("status", "") if self.is_valid() else ""


class SyncResendForm(ApplicationErrorForm):
    payload = forms.CharField(
        label="Report objects (JSON)",
        help_text="A JSON list of objects, exactly as they are sent to the state.",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "autocomplete": "off"}),
        strip=False,
    )

    def clean_payload(self) -> list[dict]:
        text = self.cleaned_data["payload"]
        try:
            payload = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"This is not valid JSON: {error}.") from error
        if not isinstance(payload, list) or not payload or not all(isinstance(obj, dict) for obj in payload):
            raise forms.ValidationError("The report must be a JSON list of objects: [{...}, {...}].")
        return payload


class SyncManualForm(ApplicationErrorForm):
    note = forms.CharField(
        label="What was entered in Metrc",
        help_text="Required for the audit: e.g. the receipt number and who entered it.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# --- Looping alerts -------------------------------------------------------------------------------------


class AlertAcknowledgeForm(ApplicationErrorForm):
    note = forms.CharField(
        label="What you checked",
        help_text="Required: e.g. the customer bought within the limits at both stores.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --- Patients -------------------------------------------------------------------------------------------


class PatientCardForm(ApplicationErrorForm):
    card_number = forms.CharField(label="Card number", max_length=60)
    state = forms.CharField(
        label="Issuing state", max_length=2, min_length=2, widget=forms.TextInput(attrs={"size": 3})
    )
    issued_on = forms.DateField(label="Issued", required=False, widget=DATE_WIDGET)
    expires_on = forms.DateField(label="Expires", widget=DATE_WIDGET)
    qualifying_conditions = forms.CharField(
        label="Qualifying conditions",
        required=False,
        help_text="Only where the state's reports ask for them; separate with commas.",
    )

    def clean_state(self) -> str:
        state = self.cleaned_data["state"].strip().upper()
        if not state.isalpha():
            raise forms.ValidationError("Two letters, e.g. MI.")
        return state

    def clean_qualifying_conditions(self) -> list[str]:
        text = self.cleaned_data["qualifying_conditions"]
        return [part.strip() for part in text.split(",") if part.strip()]

    @staticmethod
    def initial_for(registration) -> dict:
        if registration is None:
            return {}
        return {
            "card_number": registration.card_number,
            "state": registration.state,
            "issued_on": registration.issued_on,
            "expires_on": registration.expires_on,
            "qualifying_conditions": ", ".join(registration.qualifying_conditions or []),
        }


class RecommendationForm(ApplicationErrorForm):
    physician_name = forms.CharField(label="Physician", max_length=200)
    physician_license = forms.CharField(label="Physician licence", max_length=60, required=False)
    issued_on = forms.DateField(label="Issued", widget=DATE_WIDGET)
    expires_on = forms.DateField(label="Expires", widget=DATE_WIDGET)
    allowed_amounts = forms.CharField(
        label="Allowed amounts",
        required=False,
        help_text="When the recommendation gives them, enforced at the counter: bucket: amount, separated by "
        "commas (flower_g: 99). Buckets: flower_g, concentrate_g, infused_thc_mg, infused_weight_g, "
        "immature_plants, seeds.",
    )

    def clean_allowed_amounts(self) -> dict[str, str]:
        amounts = {}
        for part in self.cleaned_data["allowed_amounts"].replace("\n", ",").split(","):
            if not part.strip():
                continue
            name, separator, amount = part.partition(":")
            name = name.strip()
            try:
                value = quantity_parse(amount, minimum=Decimal(0))
            except InputRejected:
                value = None
            if not separator or not name or value is None:
                raise forms.ValidationError(f"“{part.strip()}” is not name: amount (e.g. flower_g: 99).")
            amounts[name] = str(value)
        return amounts

    def clean(self):
        cleaned = super().clean()
        issued, expires = cleaned.get("issued_on"), cleaned.get("expires_on")
        if issued and expires and issued > expires:
            self.add_error("expires_on", "The recommendation cannot expire before it was issued.")
        return cleaned


class CaregiverLinkForm(ApplicationErrorForm):
    phone = forms.CharField(
        label="Caregiver's phone",
        max_length=40,
        help_text="The caregiver must be a customer of the organization.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    caregiver_card_number = forms.CharField(label="Caregiver card number", max_length=60, required=False)
    expires_on = forms.DateField(label="Link expires", required=False, widget=DATE_WIDGET)
