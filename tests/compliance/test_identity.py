import datetime as dt

import pytest

from compliance.identity import (
    caregiver_link,
    id_verify,
    looping_alert_acknowledge,
    medical_status,
    patient_registration_set,
    recommendation_add,
)
from compliance.models import IdVerification, LoopingAlert, PatientRegistration
from dispensary.errors import Conflict, ValidationFailed
from dispensary.models import AuditRecord
from tests.compliance.test_idcards import CALIFORNIA_V8, MICHIGAN_ID_V10
from tests.factories import CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db
# 18:00 in Los Angeles on 2026-03-01 is already 2026-03-02 in UTC.
EVENING = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def test_a_scanned_id_is_checked_and_recorded_without_the_number(store, budtender):
    result = id_verify(store=store, staff=budtender, minimum_age=21, scan_text=CALIFORNIA_V8, at=EVENING)
    assert result.passed
    assert result.name_on_id == "Jane Marie Sample"
    verification = result.verification
    assert (verification.method, verification.issuing_state, verification.age) == ("scan", "CA", 48)
    assert verification.local_date == dt.date(2026, 3, 1)
    assert len(verification.id_hash) == 64 and "D1234562" not in verification.id_hash
    assert AuditRecord.objects.get(action="id.verified").store == store
    assert result.looping == []


def test_under_age_is_refused_and_still_recorded(store, budtender):
    # Born 2004-11-30: the evening before the 21st birthday (local), then on it.
    eve = dt.datetime(2025, 11, 30, 7, 0, tzinfo=dt.UTC)  # 23:00 on Nov 29 in Los Angeles
    refused = id_verify(store=store, staff=budtender, minimum_age=21, scan_text=MICHIGAN_ID_V10, at=eve)
    assert not refused.passed
    assert refused.check.problems == ("Under age: 20, the minimum is 21.",)
    assert refused.verification.passed is False
    assert refused.verification.problems == ["Under age: 20, the minimum is 21."]
    assert AuditRecord.objects.filter(action="id.refused").count() == 1
    birthday = id_verify(
        store=store,
        staff=budtender,
        minimum_age=21,
        scan_text=MICHIGAN_ID_V10,
        at=eve + dt.timedelta(hours=2),
    )
    assert birthday.passed and birthday.check.age == 21
    typed = id_verify(
        store=store, staff=budtender, minimum_age=21, date_of_birth=dt.date(2005, 3, 2), at=EVENING
    )
    assert not typed.passed and typed.verification.method == "manual"


def test_expired_id_is_refused(store, budtender):
    text = CALIFORNIA_V8.replace("DBA08312029", "DBA02282026")
    result = id_verify(store=store, staff=budtender, minimum_age=21, scan_text=text, at=EVENING)
    assert not result.passed and result.check.expired


def test_unreadable_scan_writes_nothing(store, budtender):
    with pytest.raises(ValidationFailed, match="not the barcode"):
        id_verify(store=store, staff=budtender, minimum_age=21, scan_text="4155550134")
    with pytest.raises(ValidationFailed, match="date of birth"):
        id_verify(store=store, staff=budtender, minimum_age=21)
    assert IdVerification.objects.count() == 0
    assert AuditRecord.objects.count() == 0


def test_same_id_at_another_store_the_same_local_day_raises_a_looping_alert(
    organization, store, budtender, manager
):
    other = StoreFactory(organization=organization)
    foreign = StoreFactory()  # another organization: never compared
    id_verify(store=foreign, staff=None, minimum_age=21, scan_text=CALIFORNIA_V8, at=EVENING)
    first = id_verify(store=other, staff=None, minimum_age=21, scan_text=CALIFORNIA_V8, at=EVENING)
    assert first.looping == []
    # The same store again is no loop; another store is.
    again = id_verify(store=other, staff=None, minimum_age=21, scan_text=CALIFORNIA_V8, at=EVENING)
    assert again.looping == []
    second = id_verify(store=store, staff=budtender, minimum_age=21, scan_text=CALIFORNIA_V8, at=EVENING)
    assert [alert.earlier.store for alert in second.looping] == [other, other]
    # The next local day starts afresh.
    tomorrow = id_verify(
        store=store,
        staff=budtender,
        minimum_age=21,
        scan_text=CALIFORNIA_V8,
        at=EVENING + dt.timedelta(days=1),
    )
    assert tomorrow.looping == []
    # A different person is no loop.
    assert (
        id_verify(store=store, staff=budtender, minimum_age=18, scan_text=MICHIGAN_ID_V10, at=EVENING).looping
        == []
    )
    alert = second.looping[0]
    looping_alert_acknowledge(alert=alert, actor=manager, note="Spoke to the customer")
    alert.refresh_from_db()
    assert alert.acknowledged_by == manager
    with pytest.raises(Conflict):
        looping_alert_acknowledge(alert=alert, actor=manager)
    assert LoopingAlert.objects.count() == 2


def test_medical_card_and_recommendation(organization, manager):
    patient = CustomerFactory(organization=organization)
    assert medical_status(customer=patient, today=dt.date(2026, 3, 1)).problems == (
        "No medical registry card on file.",
    )
    registration = patient_registration_set(
        customer=patient,
        actor=manager,
        card_number=" mi-123 ",
        state="mi",
        expires_on=dt.date(2026, 3, 1),
        qualifying_conditions=["chronic pain"],
    )
    patient.refresh_from_db()
    assert patient.customer_type == "medical"
    assert (registration.card_number, registration.state) == ("MI-123", "MI")
    assert medical_status(
        customer=patient, today=dt.date(2026, 3, 1)
    ).allowed  # valid through its expiry date
    expired = medical_status(customer=patient, today=dt.date(2026, 3, 2))
    assert not expired.allowed and expired.problems == ("The medical card expired on Mar 01, 2026.",)

    recommendation_add(
        registration=registration,
        actor=manager,
        physician_name="Dr. Ruth Ames",
        issued_on=dt.date(2025, 1, 1),
        expires_on=dt.date(2025, 12, 31),
        allowed_amounts={"flower_g": "71"},
    )
    stale = medical_status(customer=patient, today=dt.date(2026, 2, 1))
    assert stale.problems == ("The physician's recommendation has expired.",)
    current = recommendation_add(
        registration=registration,
        actor=manager,
        physician_name="Dr. Ruth Ames",
        issued_on=dt.date(2026, 1, 1),
        expires_on=dt.date(2026, 12, 31),
    )
    assert medical_status(customer=patient, today=dt.date(2026, 2, 1)).recommendation == current
    with pytest.raises(ValidationFailed):
        recommendation_add(
            registration=registration,
            actor=manager,
            physician_name="",
            issued_on=dt.date(2026, 1, 1),
            expires_on=dt.date(2026, 12, 31),
        )


def test_card_details_are_validated_and_unique(organization, manager):
    patient, other = CustomerFactory(organization=organization), CustomerFactory(organization=organization)
    with pytest.raises(ValidationFailed):
        patient_registration_set(
            customer=patient, actor=manager, card_number="", state="Michigan", expires_on=dt.date(2026, 1, 1)
        )
    patient_registration_set(
        customer=patient, actor=manager, card_number="A1", state="MI", expires_on=dt.date(2027, 1, 1)
    )
    with pytest.raises(Conflict):
        patient_registration_set(
            customer=other, actor=manager, card_number="a1", state="MI", expires_on=dt.date(2027, 1, 1)
        )
    other.refresh_from_db()
    assert other.customer_type == "adult_use"
    assert PatientRegistration.objects.count() == 1


def test_caregivers_link_to_registered_patients_only(organization, manager):
    patient, caregiver = (
        CustomerFactory(organization=organization),
        CustomerFactory(organization=organization),
    )
    with pytest.raises(ValidationFailed, match="registered medical patient"):
        caregiver_link(caregiver=caregiver, patient=patient, actor=manager)
    patient_registration_set(
        customer=patient, actor=manager, card_number="P9", state="MI", expires_on=dt.date(2027, 1, 1)
    )
    link = caregiver_link(caregiver=caregiver, patient=patient, actor=manager, caregiver_card_number="CG-1")
    assert list(patient.caregivers.all()) == [link]
    with pytest.raises(ValidationFailed):
        caregiver_link(caregiver=patient, patient=patient, actor=manager)
