"""Compliance demo data: the demo's medical customers are registered patients (a registry card valid for a year,
qualifying conditions for the demographics report, a physician's recommendation for some), and one adult-use
customer of each store is a caregiver of a patient. Through the same services as the patient pages, so each is
audited. Idempotent: a customer with a card keeps it, and a link is made once."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from compliance.identity import caregiver_link, patient_registration_set, recommendation_add
from compliance.models import CaregiverLink, PatientRegistration
from dispensary.demo import ORG_SLUG
from dispensary.models import Customer, Organization, Store

CONDITIONS = (
    ["Chronic pain"],
    ["Anxiety"],
    ["Insomnia", "Chronic pain"],
    ["Cancer"],
    ["PTSD"],
    ["Multiple sclerosis"],
    ["Glaucoma"],
)
CARD_VALID_FOR = dt.timedelta(days=365)


@transaction.atomic
def demo_load() -> dict[str, int]:
    organization = Organization.objects.filter(slug=ORG_SLUG).first()
    if organization is None:
        return {}
    today = timezone.localdate()
    patients = (
        Customer.objects.filter(organization=organization, customer_type=Customer.Type.MEDICAL)
        .select_related("home_store")
        .order_by("pk")
    )
    registered = set(
        PatientRegistration.objects.filter(customer__organization=organization).values_list(
            "customer_id", flat=True
        )
    )
    added = {"patients": 0, "caregivers": 0}
    for index, patient in enumerate(patients):
        if patient.pk in registered:
            continue
        state = patient.home_store.region if patient.home_store else "CA"
        registration = patient_registration_set(
            customer=patient,
            actor=None,
            card_number=f"{state}-MED-{patient.pk:06d}",
            state=state,
            issued_on=today - dt.timedelta(days=60 + index % 200),
            expires_on=today + CARD_VALID_FOR - dt.timedelta(days=index % 200),
            qualifying_conditions=CONDITIONS[index % len(CONDITIONS)],
        )
        if index % 3 == 0:
            recommendation_add(
                registration=registration,
                actor=None,
                physician_name="Dr. Amara Okafor" if index % 2 else "Dr. Luis Ortega",
                physician_license=f"A{100000 + index}",
                issued_on=today - dt.timedelta(days=30),
                expires_on=today + dt.timedelta(days=335),
                allowed_amounts={"flower_g": "56"} if index % 2 else {},
            )
        added["patients"] += 1
    for store in Store.objects.filter(organization=organization).order_by("code"):
        patient = patients.filter(home_store=store).first()
        caregiver = (
            Customer.objects.filter(
                organization=organization, home_store=store, customer_type=Customer.Type.ADULT_USE
            )
            .order_by("-pk")
            .first()
        )
        if patient is None or caregiver is None:
            continue
        if CaregiverLink.objects.filter(patient=patient).exists():
            continue
        caregiver_link(
            caregiver=caregiver,
            patient=patient,
            actor=None,
            caregiver_card_number=f"{store.region}-CG-{caregiver.pk:06d}",
            expires_on=today + CARD_VALID_FOR,
        )
        added["caregivers"] += 1
    return added
