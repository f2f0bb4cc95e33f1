"""The report pages: filters, CSV and PDF downloads, the state's notice, and who may open them."""

import pytest
from django.urls import reverse

from tests.compliance.reports.conftest import grant
from tests.factories import UserFactory
from tests.inventory.factories import receive

REPORT_URLS = [
    "compliance:reports:index",
    "compliance:reports:reconciliation",
    "compliance:reports:three_way",
    "compliance:reports:waste",
    "compliance:reports:demographics",
    "compliance:reports:audit_search",
]


@pytest.mark.parametrize("name", REPORT_URLS)
def test_anonymous_is_sent_to_log_in(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize("name", REPORT_URLS)
def test_a_budtender_may_not_open_reports(client, budtender, name):
    client.force_login(budtender)
    assert client.get(reverse(name)).status_code == 403


def test_a_budtender_may_not_open_a_patient_record(client, budtender, organization):
    from tests.factories import CustomerFactory

    client.force_login(budtender)
    customer = CustomerFactory(organization=organization)
    assert client.get(reverse("compliance:reports:audit_patient", args=[customer.pk])).status_code == 403


@pytest.mark.parametrize("name", REPORT_URLS)
def test_a_compliance_officer_opens_every_report(client, officer, state, name):
    state(packages={})
    client.force_login(officer)
    assert client.get(reverse(name)).status_code == 200


def test_a_manager_with_the_report_permissions_opens_them(client, manager, state):
    state(packages={})
    manager = grant(manager, "compliance.view_syncrecord", "compliance.view_patientregistration")
    client.force_login(manager)
    for name in REPORT_URLS:
        assert client.get(reverse(name)).status_code == 200, name


def test_reconciliation_page_csv_and_pdf(client, officer, store, manager, product, state):
    package = receive(store, product, 9, actor=manager)
    state(packages={package.tag: "8"})
    client.force_login(officer)
    url = reverse("compliance:reports:reconciliation")
    page = client.get(url)
    assert page.status_code == 200
    assert package.tag.encode() in page.content and b"State has 8" in page.content
    assert b"inv-row--low" in page.content
    csv = client.get(url, {"format": "csv"})
    assert csv["Content-Disposition"].startswith('attachment; filename="reconciliation-')
    lines = csv.content.decode().splitlines()
    assert (
        lines[0]
        == "Tag,Product,Unit,Opening,Received,Returned,Sold,Delivered,Adjusted,Wasted,Closing,On hand now,State,flags"
    )
    assert lines[1] == f"{package.tag},{product.name},each,0,9,0,0,0,0,0,9,9,8,State has 8"
    assert lines[2].startswith("Total,1 packages,")
    pdf = client.get(url, {"format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_the_reconciliation_page_says_when_the_state_is_unreachable(
    client, officer, store, manager, product, state
):
    receive(store, product, 9, actor=manager)
    state(unreachable=True)
    client.force_login(officer)
    for name in ("compliance:reports:reconciliation", "compliance:reports:three_way"):
        page = client.get(reverse(name))
        assert page.status_code == 200
        assert b"could not be read" in page.content


def test_bad_filters_show_an_error_not_a_report(client, officer):
    client.force_login(officer)
    page = client.get(
        reverse("compliance:reports:reconciliation"), {"start": "2026-10-31", "end": "2026-10-01"}
    )
    assert page.status_code == 200
    assert b"must start on or before" in page.content
    assert page.context["document"] is None


def test_csv_cells_that_look_like_formulas_stay_text(client, officer, store, manager, product):
    from inventory.services.waste import package_waste

    package = receive(store, product, 3, actor=manager)
    package_waste(package=package, quantity=1, reason="damaged", actor=manager, note="=HYPERLINK(1)")
    client.force_login(officer)
    body = client.get(reverse("compliance:reports:waste"), {"format": "csv"}).content.decode()
    assert "'=HYPERLINK(1)" in body


def test_an_inventory_manager_sees_reconciliation_but_not_demographics(client, organization, store):
    user = UserFactory(organization=organization, roles=["inventory_manager"], stores=[store])
    client.force_login(user)
    assert client.get(reverse("compliance:reports:reconciliation")).status_code == 200
    assert client.get(reverse("compliance:reports:demographics")).status_code == 403
