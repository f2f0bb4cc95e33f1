"""The form of a sender: its number or address, its registration with the carriers and what it may carry."""

from decimal import Decimal

from django import forms
from django.core.validators import validate_email

from dispensary.errors import InvalidPhoneNumber
from dispensary.models import Store
from dispensary.phones import phone_normalize
from messaging.models import Channel, Sender

MAX_RATE = Decimal("1000")


class SenderForm(forms.ModelForm):
    class Meta:
        model = Sender
        fields = [
            "channel",
            "address",
            "display_name",
            "store",
            "registration",
            "use_case",
            "brand_id",
            "campaign_id",
            "rate_per_second",
            "active",
        ]
        labels = {
            "address": "Number or address",
            "store": "Store",
            "use_case": "May carry",
            "rate_per_second": "Messages per second",
        }

    def __init__(self, *args, organization, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["store"].queryset = Store.objects.filter(
            organization=organization, pk__in=[store.pk for store in stores]
        ).order_by("name")
        self.fields["store"].empty_label = "Every store"

    def clean_rate_per_second(self):
        rate = self.cleaned_data["rate_per_second"]
        if rate is None or rate <= 0:
            raise forms.ValidationError("Enter a rate above zero.")
        if rate > MAX_RATE:
            raise forms.ValidationError(f"At most {MAX_RATE:,} messages per second.")
        return rate

    def clean(self):
        data = super().clean()
        channel, address, registration = data.get("channel"), data.get("address"), data.get("registration")
        if channel and address:
            if channel == Channel.SMS:
                digits = address.strip()
                if (
                    registration == Sender.Registration.SHORT_CODE
                    and digits.isdigit()
                    and 5 <= len(digits) <= 6
                ):
                    data["address"] = digits
                else:
                    try:
                        data["address"] = phone_normalize(address)
                    except InvalidPhoneNumber:
                        self.add_error("address", "Enter a phone number (or a 5 or 6 digit short code).")
            else:
                try:
                    validate_email(address.strip())
                    data["address"] = address.strip().lower()
                except forms.ValidationError:
                    self.add_error("address", "Enter an email address.")
        if channel and registration:
            if (channel == Channel.EMAIL) != (registration == Sender.Registration.EMAIL):
                self.add_error(
                    "registration",
                    "An email sender has an email sending domain; a text sender a 10DLC, toll-free or short "
                    "code registration.",
                )
        if registration == Sender.Registration.TEN_DLC:
            for name in ("brand_id", "campaign_id"):
                if not (data.get(name) or "").strip():
                    self.add_error(name, "A 10DLC number needs its brand and campaign.")
        address = data.get("address")
        if channel and address and not self.errors:
            same = Sender.objects.filter(organization=self.organization, channel=channel, address=address)
            if self.instance.pk:
                same = same.exclude(pk=self.instance.pk)
            if same.exists():
                self.add_error(
                    "address", "This organization already has a sender with this number or address."
                )
        return data
