"""The staff's phone order screen: find the customer by phone, pick products, pickup or delivery (address with its
coordinates and a window), and place the order through the same services as the API (limits, stock allocated,
zone, hours and minimum). A refusal shows each rule's reason and places nothing."""

import datetime as dt
import uuid

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path

from delivery.selectors_orders import phone_order_products
from delivery.services_orders import delivery_order_create
from dispensary.errors import ApplicationError, InvalidPhoneNumber
from dispensary.forms import ApplicationErrorForm
from dispensary.selectors import customer_get_by_phone, customer_record_viewed
from dispensary.views.access import staff_view
from pos.models import CustomerType
from pos.services.pickup import pickup_order_create

LINES = 4


class PhoneOrderForm(ApplicationErrorForm):
    customer_type = forms.ChoiceField(choices=CustomerType.choices, label="Customer type")
    fulfilment = forms.ChoiceField(
        choices=[("pickup", "Pickup at the store"), ("delivery", "Delivery")],
        widget=forms.RadioSelect,
        initial="pickup",
        label="Fulfilment",
    )
    address = forms.TypedChoiceField(coerce=int, required=False, label="Saved address", empty_value=None)
    line1 = forms.CharField(max_length=200, required=False, label="Street address")
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=60, required=False, label="State")
    postal_code = forms.CharField(max_length=20, required=False, label="ZIP code")
    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False)
    longitude = forms.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False
    )
    day = forms.DateField(
        required=False, label="Delivery day", widget=forms.DateInput(attrs={"type": "date"})
    )
    window_start = forms.TimeField(
        required=False, label="From", widget=forms.TimeInput(attrs={"type": "time"})
    )
    window_end = forms.TimeField(required=False, label="To", widget=forms.TimeInput(attrs={"type": "time"}))
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args, products, addresses, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(p.pk, f"{p.name} (${p.price})") for p in products]
        for number in range(1, LINES + 1):
            self.fields[f"product_{number}"] = forms.TypedChoiceField(
                choices=choices, coerce=int, required=False, empty_value=None, label=f"Product {number}"
            )
            self.fields[f"quantity_{number}"] = forms.DecimalField(
                min_value=0, max_digits=9, decimal_places=3, required=False, label="Quantity"
            )
        self.fields["address"].choices = [("", "A new address")] + [(a.pk, str(a)) for a in addresses]
        self.line_rows = [(self[f"product_{n}"], self[f"quantity_{n}"]) for n in range(1, LINES + 1)]

    def clean(self):
        data = super().clean()
        lines = [
            (data.get(f"product_{n}"), data.get(f"quantity_{n}"))
            for n in range(1, LINES + 1)
            if data.get(f"product_{n}") and data.get(f"quantity_{n}")
        ]
        if not lines:
            raise forms.ValidationError("Pick at least one product and its quantity.")
        data["lines"] = lines
        if data.get("fulfilment") == "delivery":
            for name in ("day", "window_start", "window_end"):
                if not data.get(name):
                    self.add_error(name, "Required for a delivery.")
            if data.get("address") is None:
                for name in ("line1", "city", "region", "postal_code", "latitude", "longitude"):
                    if data.get(name) in (None, ""):
                        self.add_error(name, "Required for a new address.")
        return data


def _customer(request):
    phone = (request.GET.get("phone") or request.POST.get("phone") or "").strip()
    if not phone:
        return phone, None, ""
    try:
        customer = customer_get_by_phone(organization=request.organization, phone=phone)
    except InvalidPhoneNumber:
        return phone, None, "That is not a phone number."
    if customer is None:
        return phone, None, "No customer has this phone number: add them at the front desk first."
    customer_record_viewed(customer=customer, actor=request.user, store=request.store, via="phone_order")
    return phone, customer, ""


@staff_view("pos.add_pickuporder")
def phone_order(request):
    store = request.store
    phone, customer, problem = _customer(request)
    products = phone_order_products(store=store)
    addresses = list(customer.delivery_addresses.all()[:20]) if customer else []
    reasons: list[str] = []
    form = None
    status = 200
    if customer is not None:
        initial = {"key": uuid.uuid4().hex, "customer_type": customer.customer_type or "adult_use"}
        data = request.POST if request.method == "POST" else None
        form = PhoneOrderForm(data, initial=initial, products=products, addresses=addresses)
        if request.method == "POST":
            status = 400
            if form.is_valid():
                values = form.cleaned_data
                try:
                    placed = _place(request, customer, values)
                except ApplicationError as error:
                    reasons = [r["message"] for r in error.details.get("reasons", [])] or [
                        v["message"] for v in error.details.get("violations", [])
                    ]
                    form.add_application_error(error)
                    status = 422 if error.status == 422 else 400
                else:
                    messages.success(request, placed)
                    return redirect(f"{request.path}?phone={phone}")
    return render(
        request,
        "delivery/phone_order.html",
        {"phone": phone, "customer": customer, "problem": problem, "form": form, "reasons": reasons},
        status=status,
    )


def _place(request, customer, values) -> str:
    common = {
        "store": request.store,
        "customer": customer,
        "customer_type": values["customer_type"],
        "lines": values["lines"],
        "idempotency_key": values["key"],
        "created_by": request.user,
        "channel": "phone",
        "note": values["note"],
    }
    if values["fulfilment"] == "pickup":
        order = pickup_order_create(**common)
        until = order.expires_at.astimezone(request.store.tz)
        return (
            f"Pickup order {order.pk} placed: ${order.estimated_total}, held until {until:%b %d, %I:%M %p}."
        )
    zone = request.store.tz
    start = dt.datetime.combine(values["day"], values["window_start"], tzinfo=zone)
    end = dt.datetime.combine(values["day"], values["window_end"], tzinfo=zone)
    address_id = values.get("address")
    address = customer.delivery_addresses.filter(pk=address_id).first() if address_id else None
    new_address = None
    if address is None:
        new_address = {
            k: values[k] for k in ("line1", "city", "region", "postal_code", "latitude", "longitude")
        }
    delivery = delivery_order_create(
        **common, window_start=start, window_end=end, address=address, new_address=new_address
    )
    return (
        f"Delivery order {delivery.order_id} placed: ${delivery.order.estimated_total} + ${delivery.fee} fee, "
        f"{delivery.zone.name} zone, {values['window_start']:%H:%M}–{values['window_end']:%H:%M}."
    )


urlpatterns = [path("phone-order/", phone_order, name="phone_order")]
