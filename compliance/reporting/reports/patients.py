"""Medical program demographics for states that ask: the organization's active patients on a date, by
qualifying condition and by age band. A patient's purchase history joins this module once sales exist."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from compliance.models import PatientRegistration
from compliance.reporting.reports.document import Document, Table
from dispensary.clock import age_on
from dispensary.models import Organization

# (label, lowest age, highest age or None)
AGE_BANDS = [
    ("18-20", 18, 20),
    ("21-30", 21, 30),
    ("31-40", 31, 40),
    ("41-50", 41, 50),
    ("51-64", 51, 64),
    ("65+", 65, None),
]
UNDER_18 = "Under 18"
UNKNOWN_AGE = "Date of birth not recorded"
NO_CONDITION = "No condition recorded"


def age_band(age: int) -> str:
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return UNDER_18


@dataclass
class Demographics:
    organization: Organization
    on: dt.date
    state: str
    patients: int
    by_condition: list[tuple[str, int]]
    by_age: list[tuple[str, int]]


def medical_demographics(*, organization: Organization, on: dt.date, state: str = "") -> Demographics:
    """Patients whose registry card is valid on `on` (issued by then, not expired), counted once per age band
    and once per condition they have (so the conditions add up to more than the patients). One query."""
    registrations = PatientRegistration.objects.filter(
        customer__organization=organization, expires_on__gte=on
    ).filter(Q(issued_on__isnull=True) | Q(issued_on__lte=on))
    if state:
        registrations = registrations.filter(state=state.upper())
    conditions: dict[str, tuple[str, int]] = {}
    ages = {label: 0 for label, _, _ in AGE_BANDS}
    patients = 0
    # In the order registrations were recorded, so a condition spelled several ways is always shown as the
    # earliest registration spelled it, whichever order the database would hand rows back in.
    rows = registrations.order_by("pk").values_list("qualifying_conditions", "customer__date_of_birth")
    for listed, born in rows:
        patients += 1
        if born is None:
            ages[UNKNOWN_AGE] = ages.get(UNKNOWN_AGE, 0) + 1
        else:
            band = age_band(age_on(born, on))
            ages[band] = ages.get(band, 0) + 1
        names = {}
        for name in listed if isinstance(listed, list) else []:
            text = " ".join(str(name).split())
            if text:
                names.setdefault(text.casefold(), text)  # the same condition spelled twice counts once
        for key, text in (names or {NO_CONDITION.casefold(): NO_CONDITION}).items():
            label, number = conditions.get(key, (text, 0))
            conditions[key] = (label, number + 1)
    by_condition = sorted(conditions.values(), key=lambda item: (-item[1], item[0].casefold()))
    return Demographics(organization, on, state.upper(), patients, by_condition, list(ages.items()))


def demographics_document(report: Demographics) -> Document:
    conditions = Table("Patients by qualifying condition", ["Condition", "Patients"], numeric=frozenset({1}))
    for label, number in report.by_condition:
        conditions.add([label, number])
    conditions.note = "A patient with several conditions is counted under each."
    ages = Table("Patients by age band", ["Age band", "Patients"], numeric=frozenset({1}))
    for label, number in report.by_age:
        ages.add([label, number])
    return Document(
        "Medical program demographics",
        facts=[
            ("Organization", report.organization.name),
            ("On", f"{report.on:%Y-%m-%d}"),
            ("Registry state", report.state or "all"),
            ("Active patients", str(report.patients)),
        ],
        tables=[conditions, ages],
    )
