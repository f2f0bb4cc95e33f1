"""The counter screen. Its first part is the customer lookup: a phone number typed or scanned in any format
finds the customer (the read is logged) or offers to create them on the spot."""

from django.shortcuts import render
from django.views.decorators.http import require_POST

from dispensary.clock import age_on, store_local_date
from dispensary.errors import ApplicationError
from dispensary.forms import CustomerForm, PhoneLookupForm
from dispensary.models import Customer
from dispensary.phones import phone_display
from dispensary.selectors import customer_get_by_phone, customer_record_viewed
from dispensary.services import customer_create
from dispensary.views.access import staff_view


def _render(request, partial: str, context: dict, *, status: int = 200):
    """htmx swaps the partial into the counter screen; without JavaScript the whole screen is rendered."""
    if request.htmx:
        return render(request, partial, context, status=status)
    return render(request, "pos/checkout.html", {**context, "result_template": partial}, status=status)


def _customer_card(request, customer):
    age = None
    if customer.date_of_birth:
        age = age_on(customer.date_of_birth, store_local_date(request.store))
    return _render(request, "pos/_customer_card.html", {"customer": customer, "age": age})


@staff_view("dispensary.view_customer")
def checkout(request):
    return render(request, "pos/checkout.html", {"lookup_form": PhoneLookupForm()})


def phone_lookup(request, *, via: str) -> tuple[PhoneLookupForm, Customer | None, dict]:
    """The phone lookup the counter and the door share: the form, the customer found (their record's read is
    logged, `via` says where), or the context of the "not found" panel (with a create form for those who may)."""
    form = PhoneLookupForm(request.POST)
    if not form.is_valid():
        return form, None, {}
    phone = form.cleaned_data["phone"]
    customer = customer_get_by_phone(organization=request.organization, phone=phone)
    if customer is not None:
        customer_record_viewed(customer=customer, actor=request.user, store=request.store, via=via)
        return form, customer, {}
    create_form = None
    if request.user.has_perm("dispensary.add_customer"):
        create_form = CustomerForm(
            organization=request.organization,
            initial={"phone": phone_display(phone), "home_store": request.store.pk},
        )
    return form, None, {"phone": phone, "create_form": create_form, "lookup_form": form}


def customer_from_form(request) -> tuple[CustomerForm, Customer | None]:
    """Create the customer the counter or the door typed in; the form carries any error."""
    form = CustomerForm(request.POST, organization=request.organization)
    if form.is_valid():
        try:
            customer = customer_create(
                organization=request.organization,
                actor=request.user,
                store=request.store,
                **form.cleaned_data,
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            return form, customer
    return form, None


@require_POST
@staff_view("dispensary.view_customer")
def customer_lookup(request):
    form, customer, not_found = phone_lookup(request, via="pos")
    if not form.is_valid():
        return _render(request, "pos/_lookup_error.html", {"lookup_form": form}, status=200)
    if customer is None:
        return _render(request, "pos/_not_found.html", not_found)
    return _customer_card(request, customer)


@require_POST
@staff_view("dispensary.add_customer")
def customer_new(request):
    form, customer = customer_from_form(request)
    if customer is not None:
        return _customer_card(request, customer)
    return _render(
        request, "pos/_not_found.html", {"phone": None, "create_form": form, "lookup_form": PhoneLookupForm()}
    )
