"""The audit center: each kind of search, the complete record of a package, batch, manifest, day and patient
in a bounded number of queries, exports, and the log of every view of a patient's record."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from compliance.models import IdVerification, PatientRegistration, SyncRecord
from compliance.reporting import audit_center
from dispensary.models import AuditRecord
from inventory.models import IncomingTransfer, Recall, TransferLine
from inventory.services.waste import package_waste
from tests.compliance.reports.conftest import at
from tests.factories import CustomerFactory
from tests.inventory.factories import ProductFactory, receive


@pytest.fixture
def patient(organization):
    customer = CustomerFactory(
        organization=organization,
        phone="+14155550134",
        first_name="Maria",
        last_name="Lopez",
        customer_type="medical",
    )
    PatientRegistration.objects.create(
        customer=customer,
        card_number="MI-7788",
        state="MI",
        expires_on=dt.date(2027, 3, 1),
        qualifying_conditions=["PTSD"],
    )
    return customer


@pytest.fixture
def package(store, manager, product):
    with at(2026, 10, 14, 11):
        package = receive(store, product, 12, actor=manager, harvest_batch="HB-2026-041")
        package_waste(package=package, quantity=1, reason="damaged", actor=manager)
        SyncRecord.objects.create(
            store=store,
            kind="sales_receipt.create",
            payload=[{}],
            order_keys=[package.tag, "sale:9"],
            status="accepted",
        )
    return package


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("(415) 555-0134", "auto"),
        ("415.555.0134", "patient"),
        ("+1 415 555 0134", "auto"),
        ("maria lopez", "auto"),
        ("Lopez", "patient"),
    ],
)
def test_patients_are_found_by_phone_in_any_format_or_by_name(organization, store, patient, query, kind):
    results = audit_center.audit_search(organization=organization, store=store, query=query, kind=kind)
    assert results.patients == [patient]


def test_packages_batches_manifests_and_days_are_found(organization, store, package, manager):
    transfer = IncomingTransfer.objects.create(
        store=store, manifest_number="0001234567", shipper_license="L-1", shipper_name="Farm"
    )
    search = audit_center.audit_search
    assert search(organization=organization, store=store, query=package.tag.lower()).packages == [package]
    assert search(organization=organization, store=store, query=package.tag[-8:], kind="tag").packages == [
        package
    ]
    assert search(organization=organization, store=store, query="hb-2026-041").batches == [("HB-2026-041", 1)]
    assert search(organization=organization, store=store, query="2026-041", kind="batch").batches == [
        ("HB-2026-041", 1)
    ]
    assert search(organization=organization, store=store, query="0001234567").manifests == [transfer]
    assert search(organization=organization, store=store, query="2026-10-14").day == dt.date(2026, 10, 14)
    assert search(organization=organization, store=store, query="10/14/2026", kind="date").day == dt.date(
        2026, 10, 14
    )
    assert search(organization=organization, store=store, query="nothing here").total == 0


def test_a_package_record_holds_its_whole_history(store, package, manager):
    transfer = IncomingTransfer.objects.create(
        store=store, manifest_number="M-1", shipper_license="L-1", shipper_name="Farm"
    )
    TransferLine.objects.create(
        transfer=transfer, tag=package.tag, expected_quantity=12, received_quantity=12, package=package
    )
    recall = Recall.objects.create(
        organization=store.organization, criterion="tag", value=package.tag, reason="Mold"
    )
    recall.packages.add(package)
    document = audit_center.package_record(store=store, package=package)
    tables = {table.title: table for table in document.tables}
    assert [row[2] for row in tables["Stock movements"].rows] == ["Received", "Wasted"]
    assert tables["Waste and destruction"].rows[0][2:4] == ["Damaged", "1"]
    assert tables["Receiving"].rows[0][0] == "M-1"
    assert tables["Recalls"].rows[0][4] == "Mold"
    assert [row[2] for row in tables["Reports to the state"].rows] == ["Sale reported"]
    assert [row[2] for row in tables["Audit log"].rows] == ["Package wasted"]


def test_record_queries_do_not_grow_with_the_packages(store, manager, django_assert_max_num_queries):
    product = ProductFactory(organization=store.organization)
    for _ in range(2):
        receive(store, product, 3, actor=manager, harvest_batch="HB-9")
    with django_assert_max_num_queries(9) as few:
        audit_center.batch_record(store=store, batch="HB-9")
    for _ in range(15):
        package = receive(store, product, 3, actor=manager, harvest_batch="HB-9")
        package_waste(package=package, quantity=1, reason="damaged", actor=manager)
    with django_assert_max_num_queries(len(few.captured_queries)):
        document = audit_center.batch_record(store=store, batch="HB-9")
    assert len(document.tables[0].rows) == 17


def test_a_day_record_holds_the_store_movements_waste_reports_and_id_checks(store, package, patient, manager):
    IdVerification.objects.create(
        store=store,
        customer=patient,
        staff=manager,
        method="manual",
        date_of_birth=dt.date(1990, 5, 17),
        age=36,
        passed=True,
        local_date=dt.date(2026, 10, 14),
    )
    document = audit_center.day_record(store=store, day=dt.date(2026, 10, 14))
    counts = {table.title: len(table.rows) for table in document.tables}
    assert counts == {
        "Stock movements": 2,
        "Waste and destruction": 1,
        "Reports to the state": 1,
        "ID checks": 1,
        "Proof of delivery": 0,
    }
    assert audit_center.day_record(store=store, day=dt.date(2026, 10, 15)).tables[0].rows == []


def _client(client, user):
    client.force_login(user)
    return client


def test_opening_a_patient_record_is_logged(client, officer, patient, store, django_assert_max_num_queries):
    url = reverse("compliance:reports:audit_patient", args=[patient.pk])
    client = _client(client, officer)
    with django_assert_max_num_queries(25):
        response = client.get(url)
    assert response.status_code == 200
    assert b"MI-7788" in response.content and b"PTSD" in response.content
    viewed = AuditRecord.objects.get(action="customer.viewed")
    assert (viewed.actor, viewed.object_id, viewed.after, viewed.store) == (
        officer,
        str(patient.pk),
        {"via": "audit_center"},
        store,
    )
    client.get(url, {"format": "csv"})
    assert AuditRecord.objects.filter(action="customer.viewed").count() == 2


def test_a_search_logs_a_read_of_each_patient_it_lists(client, officer, patient, store):
    response = _client(client, officer).get(reverse("compliance:reports:audit_search"), {"q": "415-555-0134"})
    assert response.status_code == 200 and b"Maria" in response.content
    viewed = AuditRecord.objects.get(action="customer.viewed")
    assert (viewed.actor, viewed.object_id, viewed.after, viewed.store) == (
        officer,
        str(patient.pk),
        {"via": "audit_center:search", "search": "415-555-0134"},
        store,
    )


def test_a_search_that_finds_no_patient_logs_no_read(client, officer, patient):
    _client(client, officer).get(reverse("compliance:reports:audit_search"), {"q": "Nobody Atall"})
    assert not AuditRecord.objects.filter(action="customer.viewed").exists()


def test_a_single_match_opens_its_record(client, officer, package):
    response = _client(client, officer).get(reverse("compliance:reports:audit_search"), {"q": package.tag})
    assert response.status_code == 302
    assert response["Location"] == reverse("compliance:reports:audit_package", args=[package.pk])


def test_record_pages_and_exports(client, officer, package, store):
    client = _client(client, officer)
    transfer = IncomingTransfer.objects.create(
        store=store, manifest_number="M-7", shipper_license="L-1", shipper_name="Farm"
    )
    TransferLine.objects.create(
        transfer=transfer,
        tag=package.tag,
        expected_quantity=12,
        received_quantity=Decimal("11"),
        package=package,
    )
    pages = [
        reverse("compliance:reports:audit_package", args=[package.pk]),
        reverse("compliance:reports:audit_batch") + "?value=HB-2026-041",
        reverse("compliance:reports:audit_manifest", args=[transfer.pk]),
        reverse("compliance:reports:audit_day", args=["2026-10-14"]),
    ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert package.tag.encode() in page.content
        sep = "&" if "?" in url else "?"
        csv = client.get(f"{url}{sep}format=csv")
        assert csv["Content-Type"].startswith("text/csv") and package.tag in csv.content.decode()
        pdf = client.get(f"{url}{sep}format=pdf")
        assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get(reverse("compliance:reports:audit_batch") + "?value=none").status_code == 404
    assert client.get(reverse("compliance:reports:audit_day", args=["yesterday"])).status_code == 404


def test_another_stores_package_is_not_found(client, officer, organization, manager):
    from tests.factories import StoreFactory

    other = StoreFactory(organization=organization)
    package = receive(other, ProductFactory(organization=organization), 2, actor=manager)
    response = _client(client, officer).get(reverse("compliance:reports:audit_package", args=[package.pk]))
    assert response.status_code == 404
