"""ID checks at the counter, medical patients' cards and caregivers, and anti-looping: the writes, each in
its own transaction with its audit record."""

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.idcards import IdCheck, UnreadableId, id_check, id_number_hash, id_parse
from compliance.models import CaregiverLink, IdVerification, LoopingAlert, PatientRegistration, Recommendation
from compliance.rules import BUCKETS
from dispensary.audit import audit_record, snapshot
from dispensary.clock import store_local_date
from dispensary.errors import ApplicationError, Conflict, ValidationFailed
from dispensary.inputs import date_of_birth_problem, date_problem
from dispensary.models import Customer, Store, User


class IdRefused(ApplicationError):
    """Under age, expired, or unreadable: the sale cannot go ahead."""

    code = "id_refused"
    status = 422


class CaregiverNotLinked(ApplicationError):
    """The person at the counter is not (or no longer) a registered caregiver of the patient."""

    code = "caregiver_not_linked"
    status = 422


def caregiver_link_get(*, caregiver: Customer, patient: Customer, today: dt.date) -> CaregiverLink:
    """The caregiver's link to the patient, valid on `today`, or CaregiverNotLinked saying why not."""
    link = CaregiverLink.objects.filter(caregiver=caregiver, patient=patient).first()
    if link is None:
        raise CaregiverNotLinked(
            f"{caregiver.full_name} is not a registered caregiver of {patient.full_name}.",
            details={"caregiver": ["Not linked to the patient."]},
        )
    if link.expires_on is not None and link.expires_on < today:
        raise CaregiverNotLinked(
            f"{caregiver.full_name}'s caregiver registration for {patient.full_name} expired on "
            f"{link.expires_on:%b %d, %Y}.",
            details={"caregiver": ["Expired."]},
        )
    return link


def id_hash_key() -> bytes:
    # A key of its own (ID_HASH_KEY) survives a SECRET_KEY rotation; without one it is derived from SECRET_KEY.
    configured = getattr(settings, "ID_HASH_KEY", "")
    if configured:
        return configured.encode()
    return hashlib.sha256(b"dispensary.id-hash:" + settings.SECRET_KEY.encode()).digest()


@dataclass(frozen=True)
class IdVerificationResult:
    verification: IdVerification
    check: IdCheck
    looping: list[LoopingAlert]
    name_on_id: str = ""

    @property
    def passed(self) -> bool:
        return self.check.passed


@transaction.atomic
def id_verify(
    *,
    store: Store,
    staff,
    minimum_age: int,
    scan_text: str | None = None,
    date_of_birth: dt.date | None = None,
    expires_on: dt.date | None = None,
    customer: Customer | None = None,
    at: dt.datetime | None = None,
    issuing_state: str = "",
) -> IdVerificationResult:
    """Check an ID (a scanned barcode, or a typed date of birth) on the store's local date and record the check.

    A refused check is recorded too (the record is what a regulator asks for), and the result says why.
    Scanned IDs are compared with the organization's other stores' checks of the same local day: the same ID
    elsewhere today raises a looping alert for the budtender and a record for managers."""
    if customer is not None and customer.organization_id != store.organization_id:
        raise ValidationFailed("Unknown customer.", details={"customer": ["Unknown customer."]})
    today = store_local_date(store, at=at)
    id_hash, state, name = "", "", ""
    if scan_text:
        try:
            document = id_parse(scan_text)
        except UnreadableId as error:
            raise ValidationFailed(str(error), details={"scan": [str(error)]}) from error
        date_of_birth, expires_on = document.date_of_birth, document.expires_on
        state, name = document.issuing_state, document.full_name
        id_hash = id_number_hash(issuing_state=state, id_number=document.id_number, key=id_hash_key())
        method = IdVerification.Method.SCAN
    elif date_of_birth is not None:
        method = IdVerification.Method.MANUAL
        state = (issuing_state or "").strip().upper()
        if state and (len(state) != 2 or not state.isalpha()):
            raise ValidationFailed(
                "Give the ID's issuing state as two letters, e.g. IL.",
                details={"issuing_state": [state[:10]]},
            )
    else:
        raise ValidationFailed(
            "Scan the ID or type the date of birth.", details={"date_of_birth": ["Required without a scan."]}
        )
    # A date of birth outside 1900..today is a misread or a typing slip, not a person: refused, not recorded.
    problem = date_of_birth_problem(date_of_birth, today=today)
    if problem:
        raise ValidationFailed(problem, details={"date_of_birth": [problem]})
    if expires_on is not None and date_problem(expires_on):
        message = date_problem(expires_on)
        raise ValidationFailed(message, details={"expires_on": [message]})
    check = id_check(date_of_birth=date_of_birth, expires_on=expires_on, today=today, minimum_age=minimum_age)
    verification = IdVerification.objects.create(
        store=store,
        customer=customer,
        staff=staff if isinstance(staff, User) else None,
        method=method,
        id_hash=id_hash,
        issuing_state=state,
        date_of_birth=date_of_birth,
        expires_on=expires_on,
        age=max(check.age, 0),
        passed=check.passed,
        problems=list(check.problems),
        local_date=today,
    )
    alerts = []
    if id_hash:
        earlier = (
            IdVerification.objects.filter(
                id_hash=id_hash, local_date=today, store__organization_id=store.organization_id
            )
            .exclude(store=store)
            .select_related("store")
            .order_by("created_at")
        )
        for other in earlier:
            alerts.append(
                LoopingAlert.objects.create(
                    organization_id=store.organization_id,
                    verification=verification,
                    earlier=other,
                    local_date=today,
                )
            )
    audit_record(
        actor=staff,
        action="id.verified" if check.passed else "id.refused",
        instance=verification,
        after={
            "method": method,
            "age": check.age,
            "problems": list(check.problems),
            "looping_alerts": [alert.pk for alert in alerts],
        },
        organization=store.organization,
        store=store,
    )
    return IdVerificationResult(verification=verification, check=check, looping=alerts, name_on_id=name)


@transaction.atomic
def looping_alert_acknowledge(*, alert: LoopingAlert, actor, note: str = "") -> LoopingAlert:
    locked = LoopingAlert.objects.select_for_update(of=("self",)).get(pk=alert.pk)
    if locked.acknowledged_at is not None:
        raise Conflict("This alert was already acknowledged.")
    locked.acknowledged_by = actor if isinstance(actor, User) else None
    locked.acknowledged_at = timezone.now()
    locked.note = note.strip()
    locked.save(update_fields=["acknowledged_by", "acknowledged_at", "note"])
    audit_record(
        actor=actor,
        action="looping_alert.acknowledged",
        instance=locked,
        after={"note": locked.note},
        organization=locked.organization,
    )
    return locked


# --- Medical patients ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MedicalStatus:
    allowed: bool
    problems: tuple[str, ...]
    card_expires_on: dt.date | None
    recommendation: Recommendation | None


def medical_status(*, customer: Customer, today: dt.date) -> MedicalStatus:
    """Whether a customer may buy as a medical patient today: a registry card valid through today and, where
    one is on file, an unexpired recommendation. An expired card blocks medical sales."""
    registration = PatientRegistration.objects.filter(customer=customer).first()
    if registration is None:
        return MedicalStatus(False, ("No medical registry card on file.",), None, None)
    problems = []
    if registration.expires_on < today:
        problems.append(f"The medical card expired on {registration.expires_on:%b %d, %Y}.")
    recommendations = list(registration.recommendations.all())
    current = next((r for r in recommendations if r.issued_on <= today <= r.expires_on), None)
    if recommendations and current is None:
        problems.append("The physician's recommendation has expired.")
    return MedicalStatus(not problems, tuple(problems), registration.expires_on, current)


@transaction.atomic
def patient_registration_set(
    *,
    customer: Customer,
    actor,
    card_number: str,
    state: str,
    expires_on: dt.date,
    issued_on: dt.date | None = None,
    qualifying_conditions: list[str] | None = None,
) -> PatientRegistration:
    """Record or replace a customer's registry card; the customer becomes a medical customer."""
    card_number, state = (card_number or "").strip().upper(), (state or "").strip().upper()
    problems = {}
    if not card_number:
        problems["card_number"] = ["Give the registry card number."]
    if len(state) != 2 or not state.isalpha():
        problems["state"] = ["Give the issuing state as two letters, e.g. MI."]
    if issued_on and expires_on and issued_on > expires_on:
        problems["expires_on"] = ["The card cannot expire before it was issued."]
    if problems:
        raise ValidationFailed("Please correct the card details.", details=problems)
    existing = PatientRegistration.objects.select_for_update(of=("self",)).filter(customer=customer).first()
    before = snapshot(existing) if existing else None
    registration = existing or PatientRegistration(customer=customer)
    registration.card_number, registration.state = card_number, state
    registration.expires_on, registration.issued_on = expires_on, issued_on
    registration.qualifying_conditions = list(qualifying_conditions or [])
    try:
        with transaction.atomic():
            registration.save()
    except IntegrityError as error:
        raise Conflict(
            f"Card {state} {card_number} belongs to another customer.", details={"card_number": card_number}
        ) from error
    if customer.customer_type != Customer.Type.MEDICAL:
        Customer.objects.filter(pk=customer.pk).update(customer_type=Customer.Type.MEDICAL)
        customer.customer_type = Customer.Type.MEDICAL
    audit_record(
        actor=actor,
        action="patient.card_set",
        instance=registration,
        before=before,
        after=snapshot(registration),
        organization=customer.organization,
    )
    return registration


def _recommended_amounts(amounts: dict) -> dict[str, str]:
    """The amounts a recommendation allows, per purchase-limit bucket (enforced at the counter), as text."""
    unknown = sorted(str(name) for name in set(amounts) - set(BUCKETS))
    if unknown:
        message = f"Unknown amounts: {', '.join(unknown)}; name them by {', '.join(BUCKETS)}."
        raise ValidationFailed(message, details={"allowed_amounts": [message]})
    found = {}
    for bucket, raw in amounts.items():
        try:
            amount = Decimal(str(raw).strip())
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount < 0 or amount > Decimal("1000000"):
            message = f"{bucket}: {str(raw)[:20]!r} is not an amount from 0 to 1000000."
            raise ValidationFailed(message, details={"allowed_amounts": [message]})
        found[bucket] = str(amount)
    return found


@transaction.atomic
def recommendation_add(
    *,
    registration: PatientRegistration,
    actor,
    physician_name: str,
    issued_on: dt.date,
    expires_on: dt.date,
    physician_license: str = "",
    allowed_amounts: dict | None = None,
) -> Recommendation:
    if not (physician_name or "").strip():
        raise ValidationFailed("Give the physician's name.", details={"physician_name": ["Required."]})
    if issued_on > expires_on:
        raise ValidationFailed(
            "The recommendation cannot expire before it was issued.",
            details={"expires_on": ["Before issue."]},
        )
    allowed_amounts = _recommended_amounts(allowed_amounts or {})
    recommendation = Recommendation.objects.create(
        registration=registration,
        physician_name=physician_name.strip(),
        physician_license=physician_license,
        issued_on=issued_on,
        expires_on=expires_on,
        allowed_amounts=dict(allowed_amounts or {}),
    )
    audit_record(
        actor=actor,
        action="patient.recommendation_added",
        instance=recommendation,
        after=snapshot(recommendation),
        organization=registration.customer.organization,
    )
    return recommendation


@transaction.atomic
def caregiver_link(
    *, caregiver: Customer, patient: Customer, actor, caregiver_card_number: str = "", expires_on=None
) -> CaregiverLink:
    if caregiver.pk == patient.pk:
        raise ValidationFailed("A patient cannot be their own caregiver.")
    if caregiver.organization_id != patient.organization_id:
        raise ValidationFailed("Unknown customer.")
    if not PatientRegistration.objects.filter(customer=patient).exists():
        raise ValidationFailed("Only a registered medical patient can have a caregiver.")
    link, _ = CaregiverLink.objects.update_or_create(
        caregiver=caregiver,
        patient=patient,
        defaults={"caregiver_card_number": caregiver_card_number.strip(), "expires_on": expires_on},
    )
    audit_record(
        actor=actor,
        action="patient.caregiver_linked",
        instance=link,
        after={"caregiver": caregiver.pk, "patient": patient.pk},
        organization=patient.organization,
    )
    return link
