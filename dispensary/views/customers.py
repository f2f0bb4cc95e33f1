"""The customer desk: search, create, read (every read is logged) and edit customers of the organization."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from dispensary.clock import age_on, store_local_date
from dispensary.errors import ApplicationError
from dispensary.forms import CustomerForm
from dispensary.models import AuditRecord, Customer
from dispensary.selectors import customer_list, customer_record_viewed, customer_records_listed
from dispensary.services import customer_create, customer_update
from dispensary.views.access import staff_view

PAGE_SIZE = 25
HISTORY_SIZE = 10


def customer_age(customer: Customer, store) -> int | None:
    """Age on the store's local day: the day that counts at the counter."""
    if customer.date_of_birth is None or not store:
        return None
    return age_on(customer.date_of_birth, store_local_date(store))


@staff_view("dispensary.view_customer")
def customer_index(request):
    search = request.GET.get("q", "").strip()
    customers = customer_list(organization=request.organization, search=search).select_related("home_store")
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # read once: logged, then shown
    customer_records_listed(
        customers=page.object_list, actor=request.user, store=request.store, via="web:list", search=search
    )
    context = {"page": page, "search": search}
    if request.htmx and request.htmx.target == "customer-results":
        return render(request, "dispensary/customers/_results.html", context)
    return render(request, "dispensary/customers/index.html", context)


@staff_view("dispensary.add_customer")
def customer_new(request):
    organization = request.organization
    if request.method == "POST":
        form = CustomerForm(request.POST, organization=organization)
        if form.is_valid():
            try:
                customer = customer_create(
                    organization=organization, actor=request.user, store=request.store, **form.cleaned_data
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                messages.success(request, f"{customer.full_name} is now a customer.")
                return redirect("customer_detail", pk=customer.pk)
    else:
        form = CustomerForm(
            organization=organization,
            initial={"phone": request.GET.get("phone", ""), "home_store": request.store.pk},
        )
    return render(request, "dispensary/customers/form.html", {"form": form, "customer": None})


@staff_view("dispensary.view_customer")
def customer_detail(request, pk: int):
    customer = get_object_or_404(
        Customer.objects.select_related("home_store"), pk=pk, organization=request.organization
    )
    customer_record_viewed(customer=customer, actor=request.user, store=request.store, via="web")
    history = None
    if request.user.has_perm("dispensary.view_auditrecord"):
        history = AuditRecord.objects.filter(
            organization=request.organization, object_type="dispensary.customer", object_id=str(customer.pk)
        ).exclude(action="customer.viewed")[:HISTORY_SIZE]
    return render(
        request,
        "dispensary/customers/detail.html",
        {"customer": customer, "age": customer_age(customer, request.store), "history": history},
    )


@staff_view("dispensary.change_customer")
def customer_edit(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk, organization=request.organization)
    if request.method == "POST":
        form = CustomerForm(request.POST, organization=request.organization)
        if form.is_valid():
            try:
                customer = customer_update(
                    customer=customer, actor=request.user, store=request.store, **form.cleaned_data
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                messages.success(request, f"Saved {customer.full_name}.")
                return redirect("customer_detail", pk=customer.pk)
    else:
        form = CustomerForm(organization=request.organization, initial=CustomerForm.initial_for(customer))
        # The form shows the whole record: opening it is a read like the detail page.
        customer_record_viewed(customer=customer, actor=request.user, store=request.store, via="web:edit")
    return render(request, "dispensary/customers/form.html", {"form": form, "customer": customer})
