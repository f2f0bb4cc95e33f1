"""The waste and destruction log (with each record's state report) and the medical program demographics."""

import datetime as dt
from decimal import Decimal

import pytest

from compliance.models import PatientRegistration, SyncRecord
from compliance.reporting.reports.document import csv_response, pdf_bytes
from compliance.reporting.reports.inventory import Period, waste_document, waste_log
from compliance.reporting.reports.patients import age_band, demographics_document, medical_demographics
from inventory.services.waste import package_waste
from tests.compliance.reports.conftest import at
from tests.factories import CustomerFactory, UserFactory
from tests.inventory.factories import receive

OCTOBER = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31))


@pytest.fixture
def wasted(store, manager, product, organization):
    witness = UserFactory(
        organization=organization,
        roles=["inventory_manager"],
        stores=[store],
        first_name="Wendy",
        last_name="Witness",
    )
    with at(2026, 9, 1):
        package = receive(store, product, 40, actor=manager)
    with at(2026, 10, 3, 10) as moment:
        destroyed = package_waste(
            package=package,
            quantity=5,
            reason="destroyed",
            actor=manager,
            method="grind_and_mix",
            waste_weight_g=Decimal("17.5"),
            witness=witness,
        )
        SyncRecord.objects.create(
            store=store,
            kind="package.adjust",
            payload=[{}],
            reference_type="package",
            reference_id=str(package.pk),
            status=SyncRecord.Status.ACCEPTED,
            accepted_at=moment,
        )
    with at(2026, 10, 9, 15):
        stolen = package_waste(package=package, quantity=2, reason="theft_shrinkage", actor=manager)
    with at(2026, 11, 2):
        package_waste(package=package, quantity=1, reason="damaged", actor=manager)
    return package, destroyed, stolen


def test_the_waste_log_lists_the_period_with_method_witness_and_state_report(store, wasted):
    package, destroyed, stolen = wasted
    log = waste_log(store=store, period=OCTOBER)
    assert [row.record.pk for row in log.rows] == [destroyed.pk, stolen.pk]
    assert log.rows[0].state_status == "Accepted" and log.rows[0].state_accepted
    assert log.rows[1].state_status == "not reported"
    assert log.total_by_unit == {"each": Decimal("7")}
    table = waste_document(log).tables[0]
    assert table.rows[0] == [
        "2026-10-03 10:00",
        package.tag,
        "Blue Dream 3.5g",
        "Destroyed",
        "5",
        "each",
        "Ground and mixed with non-cannabis waste (50/50)",
        "17.5",
        "Sam Staff",
        "Wendy Witness",
        "no",
        f"Accepted (#{log.rows[0].report.pk})",
        "",
    ]
    assert table.flags == [[], ["Flagged for the state, not accepted"]]
    assert table.rows[1][3:5] == ["Theft or shrinkage", "2"] and table.rows[1][10:12] == [
        "yes",
        "not reported",
    ]


def test_the_waste_log_filters_by_reason_and_state_flag(store, wasted):
    _, destroyed, stolen = wasted
    assert [row.record.pk for row in waste_log(store=store, period=OCTOBER, reason="destroyed").rows] == [
        destroyed.pk
    ]
    assert [row.record.pk for row in waste_log(store=store, period=OCTOBER, flagged_only=True).rows] == [
        stolen.pk
    ]


def test_the_waste_log_reads_in_two_queries(store, wasted, django_assert_num_queries):
    with django_assert_num_queries(2):
        waste_log(store=store, period=OCTOBER)


def test_csv_and_pdf_of_the_waste_log(store, wasted):
    document = waste_document(waste_log(store=store, period=OCTOBER))
    lines = csv_response(document, "waste.csv").content.decode().splitlines()
    assert lines[0].startswith("When,Tag,Product,Reason,Quantity,Unit,Method,Waste weight (g),Staff,Witness")
    assert len(lines) == 3
    assert lines[2].endswith('yes,not reported,,"Flagged for the state, not accepted"')
    assert pdf_bytes(document).startswith(b"%PDF")


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (17, "Under 18"),
        (18, "18-20"),
        (20, "18-20"),
        (21, "21-30"),
        (50, "41-50"),
        (51, "51-64"),
        (64, "51-64"),
        (65, "65+"),
    ],
)
def test_age_bands(age, band):
    assert age_band(age) == band


def test_demographics_count_active_patients_by_condition_and_age_band(organization):
    on = dt.date(2026, 6, 1)

    def patient(born, conditions, expires=dt.date(2027, 1, 1), state="MI", issued=None, org=organization):
        customer = CustomerFactory(organization=org, date_of_birth=born, customer_type="medical")
        PatientRegistration.objects.create(
            customer=customer,
            card_number=f"MI-{customer.pk}",
            state=state,
            issued_on=issued,
            expires_on=expires,
            qualifying_conditions=conditions,
        )

    patient(dt.date(2006, 6, 1), ["Chronic pain"])  # 20 on the day
    patient(
        dt.date(1990, 6, 2), ["chronic  pain", "PTSD", "Chronic Pain"]
    )  # 35; one condition spelled thrice
    patient(dt.date(1960, 1, 1), ["Glaucoma"], state="OK")  # 66
    patient(None, [])
    patient(dt.date(1980, 1, 1), ["Cancer"], expires=dt.date(2026, 5, 31))  # expired before the day
    patient(dt.date(1980, 1, 1), ["Cancer"], issued=dt.date(2026, 6, 2))  # not yet issued
    patient(dt.date(1980, 1, 1), ["Cancer"], org=CustomerFactory().organization)  # another organization
    report = medical_demographics(organization=organization, on=on)
    assert report.patients == 4
    assert report.by_condition == [
        ("Chronic pain", 2),
        ("Glaucoma", 1),
        ("No condition recorded", 1),
        ("PTSD", 1),
    ]
    assert report.by_age == [
        ("18-20", 1),
        ("21-30", 0),
        ("31-40", 1),
        ("41-50", 0),
        ("51-64", 0),
        ("65+", 1),
        ("Date of birth not recorded", 1),
    ]
    michigan = medical_demographics(organization=organization, on=on, state="mi")
    assert michigan.patients == 3
    document = demographics_document(report)
    assert document.tables[0].rows[0] == ["Chronic pain", "2"]
