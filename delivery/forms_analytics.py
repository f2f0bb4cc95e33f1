"""The delivery analytics page's filters: a store the member works at, one of its organization's drivers or all,
and a period of the store's local days (the last 30 days unless chosen)."""

import datetime as dt

from django import forms

from delivery.selectors_analytics import AnalyticsFilters
from dispensary.clock import store_local_date
from dispensary.forms import BaseForm

DEFAULT_DAYS = 30
MAX_DAYS = 400


class AnalyticsForm(BaseForm):
    store = forms.TypedChoiceField(
        label="Store",
        coerce=int,
        required=False,
        error_messages={"invalid_choice": "Choose one of the stores you work at."},
    )
    driver = forms.TypedChoiceField(
        label="Driver",
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose a driver from the list, or all drivers."},
    )
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, stores, current, drivers):
        """`stores`: those the member may open (the only choices); `current`: the one they work at now, the
        default; `drivers`: the drivers of those stores' organizations."""
        super().__init__(data)
        self.stores = {store.pk: store for store in stores}
        self.current = current
        self.drivers = {driver.pk: driver for driver in drivers}
        self.fields["store"].choices = [(store.pk, store.name) for store in stores]
        self.fields["driver"].choices = [("", "All drivers")] + [
            (driver.pk, driver.name) for driver in drivers
        ]

    def clean(self):
        data = super().clean()
        store = self.stores.get(data.get("store")) if data.get("store") else self.current
        if store is None or store.pk not in self.stores:
            raise forms.ValidationError("Choose one of the stores you work at.")
        data["store"] = store
        driver = self.drivers.get(data["driver"]) if data.get("driver") else None
        if driver is not None and driver.organization_id != store.organization_id:
            self.add_error("driver", "This driver does not drive for this store.")
        data["driver"] = driver
        if "start" in self.errors or "end" in self.errors:
            return data
        today = store_local_date(store)
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The period must start on or before its last day.")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose a period of at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> AnalyticsFilters:
        data = self.cleaned_data
        return AnalyticsFilters(
            store=data["store"], start=data["start"], end=data["end"], driver=data["driver"]
        )

    def query_data(self) -> dict[str, str]:
        """The filters as they apply, defaults filled in: what the form shows and the export links carry."""
        data = self.cleaned_data
        return {
            "store": str(data["store"].pk),
            "driver": str(data["driver"].pk) if data["driver"] else "",
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
        }
