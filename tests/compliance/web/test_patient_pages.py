"""The patient page: the medical card, recommendations, caregivers and today's verdict; every view of it
is a logged read; forms for the counter that write nothing on bad input."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.identity import caregiver_link, patient_registration_set, recommendation_add
from compliance.models import CaregiverLink, PatientRegistration, Recommendation
from dispensary.models import AuditRecord
from tests.compliance.web.conftest import HTMX
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 20)
NEXT_YEAR = TODAY + dt.timedelta(days=365)


@pytest.fixture(autouse=True)
def on_today(clock):
    """The dates above are relative to this day: the pages and forms compare them with "today"."""
    clock.move_to(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC))


def url(customer, action=""):
    name = f"compliance:patient_{action}" if action else "compliance:patient_detail"
    return reverse(name, args=[customer.pk])


@pytest.fixture
def customer(organization):
    return CustomerFactory(
        organization=organization, first_name="Pat", last_name="Ient", phone="+14155550101"
    )


@pytest.fixture
def patient(customer, manager):
    registration = patient_registration_set(
        customer=customer, actor=manager, card_number="MI-55512", state="MI", expires_on=NEXT_YEAR
    )
    recommendation_add(
        registration=registration,
        actor=manager,
        physician_name="Dr. Ada Green",
        issued_on=TODAY - dt.timedelta(days=30),
        expires_on=NEXT_YEAR,
        allowed_amounts={"flower_g": "99"},
    )
    return customer


def writes() -> tuple[int, int, int, int]:
    return (
        PatientRegistration.objects.count(),
        Recommendation.objects.count(),
        CaregiverLink.objects.count(),
        AuditRecord.objects.exclude(action="customer.viewed").count(),
    )


def test_anonymous_is_sent_to_login(client, customer):
    assert client.get(url(customer)).url.startswith(reverse("login"))


def test_driver_is_refused(staff, login, customer):
    client = login(staff("driver"))
    assert client.get(url(customer)).status_code == 403
    assert (
        client.post(
            url(customer, "card"), {"card_number": "X1", "state": "MI", "expires_on": NEXT_YEAR}
        ).status_code
        == 403
    )
    assert writes() == (0, 0, 0, 0)


def test_compliance_officer_reads_but_cannot_change(staff, login, patient):
    client = login(staff("compliance_officer"))
    response = client.get(url(patient))
    assert response.status_code == 200
    assert not response.context["can_set_card"] and "card_form" not in response.context
    before = writes()
    assert (
        client.post(
            url(patient, "card"), {"card_number": "X1", "state": "MI", "expires_on": NEXT_YEAR}
        ).status_code
        == 403
    )
    assert client.post(url(patient, "recommendation"), {}).status_code == 403
    assert writes() == before


def test_the_page_shows_card_recommendation_and_verdict(staff, login, patient):
    response = login(staff("budtender")).get(url(patient))
    body = response.content.decode()
    assert response.status_code == 200
    assert "MI-55512" in body and "Dr. Ada Green" in body and "flower_g" in body and "99" in body
    assert "May buy as a medical patient today" in body
    assert "Expired" not in body


def test_an_expired_card_is_marked_and_blocks(staff, login, patient):
    PatientRegistration.objects.filter(customer=patient).update(expires_on=TODAY - dt.timedelta(days=400))
    body = login(staff("budtender")).get(url(patient)).content.decode()
    assert 'badge--red">Expired' in body
    assert "May not buy as a medical patient today." in body and "The medical card expired on" in body


def test_every_view_is_a_logged_read(staff, login, patient, store):
    user = staff("budtender")
    client = login(user)
    client.get(url(patient))
    client.get(url(patient), **HTMX)
    reads = AuditRecord.objects.filter(action="customer.viewed", object_id=str(patient.pk))
    assert reads.count() == 2
    assert {(r.actor_id, r.store_id, r.after["via"]) for r in reads} == {(user.pk, store.pk, "compliance")}


def test_another_organizations_customer_is_not_found(staff, login, other_organization):
    stranger = CustomerFactory(organization=other_organization)
    client = login(staff("manager"))
    assert client.get(url(stranger)).status_code == 404
    for action in ("card", "recommendation", "caregiver"):
        assert client.post(url(stranger, action), {}).status_code == 404
    assert not AuditRecord.objects.filter(object_id=str(stranger.pk)).exists()


def test_budtender_sets_the_card(staff, login, customer):
    response = login(staff("budtender")).post(
        url(customer, "card"),
        {
            "card_number": "mi-777",
            "state": "mi",
            "expires_on": NEXT_YEAR.isoformat(),
            "qualifying_conditions": "Pain, PTSD",
        },
        **HTMX,
    )
    assert response.status_code == 200 and "Card MI MI-777 saved." in response.content.decode()
    registration = PatientRegistration.objects.get(customer=customer)
    assert (registration.card_number, registration.state, registration.qualifying_conditions) == (
        "MI-777",
        "MI",
        ["Pain", "PTSD"],
    )
    customer.refresh_from_db()
    assert customer.customer_type == "medical"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"card_number": "", "state": "MI", "expires_on": NEXT_YEAR}, "This field is required."),
        ({"card_number": "A1", "state": "M1", "expires_on": NEXT_YEAR}, "Two letters"),
        ({"card_number": "A1", "state": "MI", "expires_on": "not a date"}, "Enter a valid date."),
        (
            {"card_number": "A1", "state": "MI", "issued_on": NEXT_YEAR, "expires_on": TODAY},
            "The card cannot expire before it was issued.",
        ),
    ],
)
def test_bad_card_writes_nothing(staff, login, customer, data, message):
    response = login(staff("budtender")).post(url(customer, "card"), data, **HTMX)
    assert response.status_code == 200 and message in response.content.decode()
    assert writes() == (0, 0, 0, 0)


def test_a_card_of_another_customer_is_refused(staff, login, patient, organization):
    other = CustomerFactory(organization=organization)
    before = writes()
    response = login(staff("budtender")).post(
        url(other, "card"), {"card_number": "MI-55512", "state": "MI", "expires_on": NEXT_YEAR}, **HTMX
    )
    assert "belongs to another customer" in response.content.decode()
    assert writes() == before


def test_add_a_recommendation(staff, login, patient):
    response = login(staff("budtender")).post(
        url(patient, "recommendation"),
        {
            "physician_name": "Dr. Bo Leaf",
            "issued_on": TODAY.isoformat(),
            "expires_on": NEXT_YEAR.isoformat(),
            "allowed_amounts": "flower_g: 70, concentrate_g: 14.5",
        },
    )
    assert response.status_code == 302
    added = Recommendation.objects.get(physician_name="Dr. Bo Leaf")
    assert added.allowed_amounts == {"flower_g": "70", "concentrate_g": "14.5"}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"physician_name": "", "issued_on": TODAY, "expires_on": NEXT_YEAR}, "This field is required."),
        ({"physician_name": "Dr. X", "issued_on": NEXT_YEAR, "expires_on": TODAY}, "cannot expire before"),
        (
            {
                "physician_name": "Dr. X",
                "issued_on": TODAY,
                "expires_on": NEXT_YEAR,
                "allowed_amounts": "lots",
            },
            "is not name: amount",
        ),
        (
            {
                "physician_name": "Dr. X",
                "issued_on": TODAY,
                "expires_on": NEXT_YEAR,
                "allowed_amounts": "flower_g: -2",
            },
            "is not name: amount",
        ),
    ],
)
def test_bad_recommendation_writes_nothing(staff, login, patient, data, message):
    before = writes()
    response = login(staff("budtender")).post(url(patient, "recommendation"), data, **HTMX)
    assert response.status_code == 200 and message in response.content.decode()
    assert writes() == before


def test_a_recommendation_needs_a_card_first(staff, login, customer):
    data = {"physician_name": "Dr. X", "issued_on": TODAY, "expires_on": NEXT_YEAR}
    response = login(staff("budtender")).post(url(customer, "recommendation"), data, **HTMX)
    assert "Record the medical card before a recommendation." in response.content.decode()
    assert writes() == (0, 0, 0, 0)


def test_link_a_caregiver_by_phone(staff, login, patient, organization):
    caregiver = CustomerFactory(
        organization=organization, first_name="Cara", last_name="Giver", phone="+14155550199"
    )
    response = login(staff("budtender")).post(
        url(patient, "caregiver"), {"phone": "(415) 555-0199", "caregiver_card_number": "CG-1"}, **HTMX
    )
    assert "Cara Giver is now a caregiver." in response.content.decode()
    link = CaregiverLink.objects.get()
    assert (link.caregiver, link.patient, link.caregiver_card_number) == (caregiver, patient, "CG-1")
    # The caregiver's own page lists the patient they care for.
    body = login(staff("budtender")).get(url(caregiver)).content.decode()
    assert "Caregiver of" in body and patient.full_name in body


@pytest.mark.parametrize(
    "phone, message",
    [
        ("not a phone", "This is not a phone number."),
        ("+14155550188", "No customer of the organization has this phone number."),
        ("+14155550101", "A patient cannot be their own caregiver."),
        ("+14155550177", "No customer of the organization has this phone number."),  # another organization's
    ],
)
def test_bad_caregiver_link_writes_nothing(staff, login, patient, other_organization, phone, message):
    CustomerFactory(organization=other_organization, phone="+14155550177")
    before = writes()
    response = login(staff("budtender")).post(url(patient, "caregiver"), {"phone": phone}, **HTMX)
    assert response.status_code == 200 and message in response.content.decode()
    assert writes() == before


def test_the_customer_page_links_to_the_patient_page(staff, login, customer):
    body = login(staff("budtender")).get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert url(customer) in body


def test_patient_page_query_count_does_not_grow(staff, login, patient, organization, manager):
    client = login(staff("budtender"))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(patient)).status_code == 200
        return len(queries)

    few = count()
    registration = PatientRegistration.objects.get(customer=patient)
    for n in range(8):
        recommendation_add(
            registration=registration,
            actor=manager,
            physician_name=f"Dr. {n}",
            issued_on=TODAY,
            expires_on=NEXT_YEAR,
        )
        caregiver_link(caregiver=CustomerFactory(organization=organization), patient=patient, actor=manager)
    assert count() == few
