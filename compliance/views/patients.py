"""A customer's medical side: the registry card, physicians' recommendations, caregivers and the patients
they care for, and whether they may buy as a patient today. Budtenders keep it up to date at the counter;
every view of the page is logged as a read of the customer's record."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from compliance.forms import CaregiverLinkForm, PatientCardForm, RecommendationForm
from compliance.identity import caregiver_link, medical_status, patient_registration_set, recommendation_add
from compliance.models import CaregiverLink, PatientRegistration
from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError, InvalidPhoneNumber
from dispensary.models import Customer
from dispensary.selectors import customer_get_by_phone, customer_record_viewed
from dispensary.views.access import staff_view

PAGE_PERMISSIONS = ("dispensary.view_customer", "compliance.view_patientregistration")


def _org_customer(request, customer_id: int) -> Customer:
    """A customer of the current organization; another organization's customer is not found."""
    return get_object_or_404(
        Customer.objects.select_related("home_store"), pk=customer_id, organization=request.organization
    )


def _registration(customer: Customer) -> PatientRegistration | None:
    return PatientRegistration.objects.filter(customer=customer).first()


def _may_set_card(user, registration) -> bool:
    return user.has_perm(
        "compliance.change_patientregistration" if registration else "compliance.add_patientregistration"
    )


def _patient_context(request, customer: Customer, *, forms: dict, notice: str = "") -> dict:
    today = store_local_date(request.store)
    registration = _registration(customer)
    recommendations = list(registration.recommendations.all()) if registration else []
    user = request.user
    context = {
        "customer": customer,
        "today": today,
        "registration": registration,
        "card_expired": bool(registration and registration.expires_on < today),
        "recommendations": recommendations,
        "caregivers": list(
            CaregiverLink.objects.filter(patient=customer).select_related("caregiver").order_by("id")
        ),
        "patients_cared_for": list(
            CaregiverLink.objects.filter(caregiver=customer).select_related("patient").order_by("id")
        ),
        "status": medical_status(customer=customer, today=today),
        "can_set_card": _may_set_card(user, registration),
        "can_add_recommendation": bool(registration) and user.has_perm("compliance.add_recommendation"),
        "can_link_caregiver": bool(registration) and user.has_perm("compliance.add_caregiverlink"),
        "notice": notice,
        "open_action": next(iter(forms), "").removesuffix("_form"),
    }
    if context["can_set_card"]:
        context["card_form"] = forms.get("card_form") or PatientCardForm(
            auto_id="card_%s", initial=PatientCardForm.initial_for(registration)
        )
    if context["can_add_recommendation"]:
        context["recommendation_form"] = forms.get("recommendation_form") or RecommendationForm(
            auto_id="recommendation_%s"
        )
    if context["can_link_caregiver"]:
        context["caregiver_form"] = forms.get("caregiver_form") or CaregiverLinkForm(auto_id="caregiver_%s")
    return context


def _patient_response(request, customer: Customer, *, notice: str = "", **forms):
    # The page shows the patient's record: every rendering of it is a logged read.
    customer_record_viewed(customer=customer, actor=request.user, store=request.store, via="compliance")
    context = _patient_context(request, customer, forms=forms, notice=notice)
    # A form the page no longer offers (no card yet) cannot show its errors: they go on top of the page.
    context["problems"] = [
        message
        for name, form in forms.items()
        if name not in context
        for messages_ in form.errors.values()
        for message in messages_
    ]
    template = "compliance/_patient_body.html" if request.htmx else "compliance/patient_detail.html"
    return render(request, template, context)


def _after_change(request, customer: Customer, notice: str):
    if request.htmx:
        return _patient_response(request, customer, notice=notice)
    messages.success(request, notice)
    return redirect("compliance:patient_detail", customer_id=customer.pk)


@staff_view(*PAGE_PERMISSIONS)
def patient_detail(request, customer_id: int):
    return _patient_response(request, _org_customer(request, customer_id))


@require_POST
@staff_view(*PAGE_PERMISSIONS)
def patient_card_view(request, customer_id: int):
    customer = _org_customer(request, customer_id)
    if not _may_set_card(request.user, _registration(customer)):
        raise PermissionDenied
    form = PatientCardForm(request.POST, auto_id="card_%s")
    if form.is_valid():
        try:
            registration = patient_registration_set(
                customer=customer, actor=request.user, **form.cleaned_data
            )
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            return _after_change(
                request, customer, f"Card {registration.state} {registration.card_number} saved."
            )
    return _patient_response(request, customer, card_form=form)


@require_POST
@staff_view(*PAGE_PERMISSIONS, "compliance.add_recommendation")
def patient_recommendation_view(request, customer_id: int):
    customer = _org_customer(request, customer_id)
    form = RecommendationForm(request.POST, auto_id="recommendation_%s")
    registration = _registration(customer)
    if registration is None:
        form.add_error(None, "Record the medical card before a recommendation.")
    elif form.is_valid():
        try:
            recommendation_add(registration=registration, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_application_error(error)
        else:
            return _after_change(
                request, customer, f"Recommendation by {form.cleaned_data['physician_name']} added."
            )
    return _patient_response(request, customer, recommendation_form=form)


@require_POST
@staff_view(*PAGE_PERMISSIONS, "compliance.add_caregiverlink")
def patient_caregiver_view(request, customer_id: int):
    customer = _org_customer(request, customer_id)
    form = CaregiverLinkForm(request.POST, auto_id="caregiver_%s")
    if form.is_valid():
        caregiver = None
        try:
            caregiver = customer_get_by_phone(
                organization=request.organization, phone=form.cleaned_data["phone"]
            )
        except InvalidPhoneNumber:
            form.add_error("phone", "This is not a phone number.")
        else:
            if caregiver is None:
                form.add_error("phone", "No customer of the organization has this phone number.")
        if caregiver is not None:
            try:
                caregiver_link(
                    caregiver=caregiver,
                    patient=customer,
                    actor=request.user,
                    caregiver_card_number=form.cleaned_data["caregiver_card_number"],
                    expires_on=form.cleaned_data["expires_on"],
                )
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                return _after_change(request, customer, f"{caregiver.full_name} is now a caregiver.")
    return _patient_response(request, customer, caregiver_form=form)
