"""The filters of the deliverability page and of the message list: only the stores the member works at are
offered (any other is refused), periods of the store's local days (the last 14 unless chosen)."""

import datetime as dt

from django import forms

from dispensary.clock import store_local_date
from dispensary.errors import InvalidPhoneNumber
from dispensary.forms import BaseForm
from dispensary.phones import phone_normalize
from messaging.deliverability import DeliverabilityFilters
from messaging.models import Channel, OutboundMessage

DEFAULT_DAYS = 14
MAX_DAYS = 400
EARLIEST = dt.date(2000, 1, 1)
CHANNEL_CHOICES = [("", "Texts and emails"), *Channel.choices]


class _StoreChoice(BaseForm):
    store = forms.TypedChoiceField(
        label="Store",
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose one of the stores you work at."},
    )
    channel = forms.ChoiceField(
        label="Channel",
        choices=CHANNEL_CHOICES,
        required=False,
        error_messages={"invalid_choice": "Choose texts, emails or both."},
    )

    def __init__(self, data, *, stores, current):
        super().__init__(data)
        self.stores = {store.pk: store for store in stores}
        self.current = current
        self.fields["store"].choices = [("", "All my stores")] + [(store.pk, store.name) for store in stores]


class DeliverabilityForm(_StoreChoice):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        store = self.stores.get(data["store"]) if data.get("store") else None
        data["store"] = store
        if "start" in self.errors or "end" in self.errors:
            return data
        # Days are the chosen store's (all stores: the one the member works at now).
        zone_store = store or self.current or next(iter(self.stores.values()), None)
        if zone_store is None:
            raise forms.ValidationError("You work at no store.")
        today = store_local_date(zone_store)
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if end > today + dt.timedelta(days=1) or start < EARLIEST:
            raise forms.ValidationError(f"Choose days between {EARLIEST:%b %-d, %Y} and today.")
        if start > end:
            raise forms.ValidationError("The period must start on or before its last day.")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose a period of at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> DeliverabilityFilters:
        data = self.cleaned_data
        store = data["store"]
        return DeliverabilityFilters(
            stores=(store,) if store else tuple(self.stores.values()),
            start=data["start"],
            end=data["end"],
            channel=data.get("channel") or "",
            store=store,
        )

    def query_data(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            "store": str(data["store"].pk) if data["store"] else "",
            "channel": data.get("channel") or "",
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
        }


class MessageFilterForm(_StoreChoice):
    status = forms.ChoiceField(
        label="Status",
        choices=[("", "Any status"), *OutboundMessage.Status.choices],
        required=False,
        error_messages={"invalid_choice": "Choose a status from the list."},
    )
    to = forms.CharField(label="Customer's phone or email", max_length=254, required=False)

    field_order = ["status", "channel", "store", "to"]

    def clean_to(self):
        value = (self.cleaned_data.get("to") or "").strip()
        if not value:
            return ""
        if "@" in value:
            return value.lower()
        try:
            return phone_normalize(value)
        except InvalidPhoneNumber as error:
            raise forms.ValidationError(
                "Type a phone number such as (415) 555-0134, or an email address."
            ) from error

    def clean(self):
        data = super().clean()
        data["store"] = self.stores.get(data["store"]) if data.get("store") else None
        return data
