"""The door and the lobby: staff at the door find or create the customer by phone, may check their ID, and
check them in (or mark a pickup order as arrived); budtenders take the next customer or a chosen one and go
to the checkout screen; the lobby screen shows ticket numbers and first names only."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from compliance.identity import id_verify
from dispensary.clock import age_on, store_local_date
from dispensary.errors import ApplicationError
from dispensary.forms import ApplicationErrorForm, BaseForm, DateOfBirthField, PhoneLookupForm
from dispensary.inputs import ID_MAX
from dispensary.views.access import staff_view
from pos.models import CustomerType
from pos.selectors.checks import minimum_age_get
from pos.selectors.queue import (
    pickup_arrival_get,
    pickup_arrival_list,
    queue_board,
    queue_customer_get,
    queue_entry_get,
    queue_entry_live_for,
    queue_register_list,
)
from pos.services.queue import (
    queue_call_next,
    queue_check_in,
    queue_entry_call,
    queue_entry_finish,
    queue_entry_leave,
)
from pos.views.counter import customer_from_form, phone_lookup
from pos.views.register import REGISTER_SESSION

VIEW = "dispensary.view_customer"
SERVE = "pos.add_sale"
REGISTER_SESSION_KEY = (
    REGISTER_SESSION  # the register the budtender works at, shared with the register screen
)
QUEUE_CHANGED = "queue-changed"


def checkout_url(entry) -> str:
    """The checkout screen, opened on the customer being served."""
    return f"/pos/register/?queue_entry={entry.pk}"


class CheckInForm(ApplicationErrorForm):
    customer = forms.IntegerField(min_value=1, max_value=ID_MAX, widget=forms.HiddenInput)
    customer_type = forms.ChoiceField(label="Customer type", choices=CustomerType.choices)
    scan = forms.CharField(
        label="Scan the ID",
        required=False,
        max_length=4000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false"}),
        help_text="Scan the barcode on the back, or type the date of birth instead. Optional at the door.",
    )
    date_of_birth = DateOfBirthField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    expires_on = forms.DateField(
        label="ID expires", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    issuing_state = forms.RegexField(
        label="ID issued by",
        required=False,
        regex=r"^[A-Za-z]{2}$",
        max_length=2,
        widget=forms.TextInput(attrs={"size": 3, "autocomplete": "off"}),
        help_text="The state on a typed ID, two letters; empty: this store's state. Visitors have their own limits.",
        error_messages={"invalid": "Two letters, e.g. IL."},
    )

    def clean_scan(self) -> str:
        return self.cleaned_data["scan"].strip("\r\n ")

    def has_id(self) -> bool:
        return bool(self.cleaned_data.get("scan") or self.cleaned_data.get("date_of_birth"))


class LeaveForm(BaseForm):
    note = forms.CharField(required=False, max_length=300)


def _render(request, partial: str, context: dict, *, status: int = 200):
    """htmx swaps the partial into the door page; without JavaScript the whole page is rendered around it."""
    if request.htmx:
        return render(request, partial, context, status=status)
    return render(request, "pos/queue/door.html", _door_context(request, result_template=partial, **context))


def _live_context(request) -> dict:
    registers = queue_register_list(store=request.store)
    chosen = request.session.get(REGISTER_SESSION_KEY)
    return {
        "board": queue_board(store=request.store),
        "pickups": pickup_arrival_list(store=request.store),
        "registers": registers,
        "chosen_register": chosen if any(register.pk == chosen for register in registers) else None,
    }


def _door_context(request, **extra) -> dict:
    return {"lookup_form": PhoneLookupForm(), **_live_context(request), **extra}


def _check_in_panel(request, customer, form=None, *, refusal=None, status: int = 200):
    age = None
    if customer.date_of_birth:
        age = age_on(customer.date_of_birth, store_local_date(request.store))
    if form is None:
        form = CheckInForm(initial={"customer": customer.pk, "customer_type": customer.customer_type})
    context = {
        "customer": customer,
        "age": age,
        "form": form,
        "refusal": refusal,
        "present": queue_entry_live_for(store=request.store, customer=customer),
    }
    return _render(request, "pos/queue/_check_in.html", context, status=status)


def _checked_in(request, entry, *, looping=()):
    if not request.htmx:
        messages.success(request, f"{entry.display_name} is checked in as #{entry.number}.")
        for alert in looping:
            messages.warning(request, _looping_text(alert))
        return redirect("pos:queue")
    response = _render(
        request,
        "pos/queue/_checked_in.html",
        {"entry": entry, "looping": [_looping_text(alert) for alert in looping]},
    )
    response["HX-Trigger"] = QUEUE_CHANGED
    return response


def _looping_text(alert) -> str:
    return (
        f"This ID was checked at {alert.earlier.store.name} earlier today "
        f"({alert.earlier.created_at:%H:%M}): a manager has been alerted."
    )


# --- The door page ---------------------------------------------------------------------------------------------


@require_GET
@staff_view(VIEW)
def queue_door(request):
    return render(request, "pos/queue/door.html", _door_context(request))


@require_GET
@staff_view(VIEW)
def queue_live(request):
    """The polled part of the door page: pickups due today and the live queue."""
    return render(request, "pos/queue/_live.html", _live_context(request))


@require_POST
@staff_view(VIEW)
def queue_lookup(request):
    form, customer, not_found = phone_lookup(request, via="queue")
    if not form.is_valid():
        return _render(request, "pos/_lookup_error.html", {"lookup_form": form})
    if customer is None:
        return _render(request, "pos/queue/_not_found.html", not_found)
    return _check_in_panel(request, customer)


@require_POST
@staff_view("dispensary.add_customer")
def queue_customer_new(request):
    form, customer = customer_from_form(request)
    if customer is not None:
        return _check_in_panel(request, customer)
    return _render(request, "pos/queue/_not_found.html", {"phone": None, "create_form": form})


@require_POST
@staff_view(VIEW)
def queue_check_in_view(request):
    form = CheckInForm(request.POST)
    valid = form.is_valid()
    customer_id = form.cleaned_data.get("customer")
    customer = (
        queue_customer_get(organization=request.organization, customer_id=customer_id)
        if customer_id
        else None
    )
    if customer is None:
        # Only a tampered form gets here: the panel always names a customer of the organization.
        raise Http404("No such customer.")
    if not valid:
        return _check_in_panel(request, customer, form)
    data = form.cleaned_data
    try:
        verification, looping = None, ()
        if form.has_id():
            minimum_age = minimum_age_get(
                store=request.store, customer_type=data["customer_type"], on=store_local_date(request.store)
            )
            result = id_verify(
                store=request.store,
                staff=request.user,
                minimum_age=minimum_age,
                scan_text=data["scan"] or None,
                date_of_birth=data["date_of_birth"],
                expires_on=data["expires_on"],
                customer=customer,
                issuing_state=(data.get("issuing_state") or request.store.jurisdiction.rsplit("-", 1)[-1]),
            )
            if not result.passed:
                # The refused check is on record; the customer is not queued.
                refusal = list(result.check.problems) or ["The ID check did not pass."]
                fresh = CheckInForm(initial={"customer": customer.pk, "customer_type": data["customer_type"]})
                return _check_in_panel(request, customer, fresh, refusal=refusal)
            verification, looping = result.verification, result.looping
        entry = queue_check_in(
            store=request.store,
            staff=request.user,
            customer=customer,
            customer_type=data["customer_type"],
            id_verification=verification,
        )
    except ApplicationError as error:
        form.add_application_error(error)
        return _check_in_panel(request, customer, form)
    return _checked_in(request, entry, looping=looping)


@require_POST
@staff_view(VIEW)
def queue_pickup_arrived(request, order_id: int):
    order = pickup_arrival_get(store=request.store, order_id=order_id)
    if order is None:
        raise Http404("No such pickup order at this store.")
    try:
        entry = queue_check_in(
            store=request.store,
            staff=request.user,
            customer=order.customer,
            customer_type=order.customer_type,
            pickup_order=order,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("pos:queue")
    messages.success(request, f"Pickup {order.pk}: {entry.display_name} is checked in as #{entry.number}.")
    return redirect("pos:queue")


# --- Budtenders ------------------------------------------------------------------------------------------------


def _chosen_register(request):
    """The register posted with the button (remembered for next time); none chosen is allowed."""
    raw = request.POST.get("register", "")
    if not raw:
        request.session.pop(REGISTER_SESSION_KEY, None)
        return None
    register = next((r for r in queue_register_list(store=request.store) if str(r.pk) == raw), None)
    if register is None:
        raise Http404("No such register at this store.")
    request.session[REGISTER_SESSION_KEY] = register.pk
    return register


def _entry_or_404(request, entry_id: int):
    entry = queue_entry_get(store=request.store, entry_id=entry_id)
    if entry is None:
        raise Http404("No such queue entry at this store.")
    return entry


@require_POST
@staff_view(SERVE)
def queue_next(request):
    register = _chosen_register(request)
    try:
        entry = queue_call_next(store=request.store, staff=request.user, register=register)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("pos:queue")
    return redirect(checkout_url(entry))


@require_POST
@staff_view(SERVE)
def queue_serve(request, entry_id: int):
    entry = _entry_or_404(request, entry_id)
    register = _chosen_register(request)
    try:
        entry = queue_entry_call(entry=entry, staff=request.user, register=register)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("pos:queue")
    return redirect(checkout_url(entry))


@require_POST
@staff_view(SERVE)
def queue_done(request, entry_id: int):
    entry = _entry_or_404(request, entry_id)
    try:
        entry = queue_entry_finish(entry=entry, staff=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"#{entry.number} {entry.display_name} is done.")
    return redirect("pos:queue")


@require_POST
@staff_view(VIEW)
def queue_left(request, entry_id: int):
    entry = _entry_or_404(request, entry_id)
    form = LeaveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Keep the note under 300 characters.")
        return redirect("pos:queue")
    try:
        entry = queue_entry_leave(entry=entry, staff=request.user, note=form.cleaned_data["note"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"#{entry.number} {entry.display_name} left the queue.")
    return redirect("pos:queue")


# --- The lobby screen ------------------------------------------------------------------------------------------


@require_GET
@staff_view(VIEW)
def queue_display(request):
    return render(request, "pos/queue/display.html", {"board": queue_board(store=request.store)})


@require_GET
@staff_view(VIEW)
def queue_display_board(request):
    return render(request, "pos/queue/_display_board.html", {"board": queue_board(store=request.store)})
