"""The segments' pages: the list, the rule builder (save, the live count with its sample, a bad condition in
words), a segment's members and their CSV (formula-safe, every customer a logged read); budtenders 403, another
organization's segment 404; fixed query counts."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispensary.models import AuditRecord
from messaging.metrics import metrics_rebuild
from messaging.models import Segment, SegmentMember
from messaging.segment_members import segment_save
from tests.factories import CustomerFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
LIST = "/messaging/segments/"
COUNT = "/messaging/segments/count/"
MEDICAL = {"c-0-field": "customer_type", "c-0-op": "eq", "c-0-value": "medical"}


@pytest.fixture
def people(organization, store):
    rows = [
        CustomerFactory(
            organization=organization, first_name="=HYPERLINK(1)", last_name="Ames", customer_type="medical"
        ),
        CustomerFactory(
            organization=organization, first_name="Bea", last_name="Boyd", customer_type="medical"
        ),
        CustomerFactory(organization=organization, first_name="Cy", last_name="Cole"),
    ]
    metrics_rebuild(organization_id=organization.pk)
    return rows


@pytest.fixture
def patients(organization, manager, people):
    return segment_save(
        organization=organization,
        actor=manager,
        name="Patients",
        rules=[{"field": "customer_type", "op": "eq", "value": "medical"}],
    )


def queries(client, method, url, data=None):
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, data or {})
    return response, len(captured)


def test_the_list_shows_each_segment_with_its_members(client, manager, patients):
    client.force_login(manager)
    response = client.get(LIST)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Patients" in body and f"/messaging/segments/{patients.pk}/" in body
    assert [segment.pk for segment in response.context["segments"]] == [patients.pk]


def test_the_list_takes_the_same_queries_however_many_segments(client, manager, organization, patients):
    client.force_login(manager)
    client.get(LIST)
    _, few = queries(client, "get", LIST)
    for number in range(5):
        Segment.objects.create(organization=organization, name=f"S{number}", rules=[])
    _, many = queries(client, "get", LIST)
    assert few == many


def test_budtenders_may_not_see_segments(client, budtender, patients):
    client.force_login(budtender)
    assert client.get(LIST).status_code == 403
    assert client.post(COUNT, MEDICAL).status_code == 403
    assert client.get(f"/messaging/segments/{patients.pk}/").status_code == 403
    assert client.get(f"/messaging/segments/{patients.pk}/members.csv").status_code == 403


def test_another_organizations_segment_is_not_found(client, manager):
    other = OrganizationFactory()
    theirs = Segment.objects.create(organization=other, name="Theirs", rules=[])
    client.force_login(manager)
    for url in ("/", "/edit/", "/members.csv"):
        assert client.get(f"/messaging/segments/{theirs.pk}{url}").status_code == 404
    assert client.post(f"/messaging/segments/{theirs.pk}/archive/").status_code == 404


def test_the_live_count_answers_the_count_and_a_logged_sample(client, manager, people):
    client.force_login(manager)
    response = client.post(COUNT, {**MEDICAL, "match": "all"})
    assert response.status_code == 200
    assert response.context["count"]["total"] == 2
    shown = [row["customer"].pk for row in response.context["count"]["sample"]]
    assert shown == [people[0].pk, people[1].pk]
    logged = AuditRecord.objects.filter(action="customer.viewed", after__via="messaging:segment_count")
    assert sorted(int(pk) for pk in logged.values_list("object_id", flat=True)) == sorted(shown)


def test_the_live_count_takes_a_fixed_number_of_queries(client, manager, organization, people):
    client.force_login(manager)
    client.post(COUNT, MEDICAL)
    _, few = queries(client, "post", COUNT, MEDICAL)
    for number in range(20):
        CustomerFactory(organization=organization, customer_type="medical", phone=f"+1415555{1000 + number}")
    response, many = queries(client, "post", COUNT, MEDICAL)
    assert response.context["count"]["total"] == 22
    assert few == many


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            {"c-0-field": "orders_count", "c-0-op": "gt", "c-0-value": "lots"},
            "Number of orders: “lots” is not a number.",
        ),
        ({"c-0-field": "nonsense", "c-0-op": "eq", "c-0-value": "1"}, "Unknown field “nonsense”."),
        (
            {"c-0-field": "lifetime_value", "c-0-op": "between", "c-0-low": "9", "c-0-high": ""},
            "Lifetime value ($): enter a number.",
        ),
        (
            {"c-0-field": "store", "c-0-op": "eq", "c-0-value": "999999"},
            "Home store: no such choice (999999).",
        ),
    ],
)
def test_a_bad_condition_shows_its_words_not_an_error_page(client, manager, data, words):
    client.force_login(manager)
    response = client.post(COUNT, data)
    assert response.status_code == 200
    assert response.context["error"] == words
    assert words.replace("“", "&ldquo;") in response.content.decode() or words in response.content.decode()


def test_saving_from_the_builder(client, manager, organization, people):
    client.force_login(manager)
    data = {
        "name": "Big medical spenders",
        "match": "all",
        **MEDICAL,
        "c-5-field": "lifetime_value",
        "c-5-op": "between",
        "c-5-low": "0",
        "c-5-high": "99.50",
        "c-7-field": "favourite_category",
        "c-7-op": "in",
        "c-7-value": ["flower", "edible"],
    }
    response = client.post("/messaging/segments/new/", data)
    segment = Segment.objects.get(name="Big medical spenders")
    assert response.status_code == 302 and response.url == f"/messaging/segments/{segment.pk}/"
    assert segment.rules == [
        {"field": "customer_type", "op": "eq", "value": "medical"},
        {"field": "lifetime_value", "op": "between", "value": ["0", "99.50"]},
        {"field": "favourite_category", "op": "in", "value": ["flower", "edible"]},
    ]
    assert (segment.member_count, segment.created_by) == (0, manager)  # no purchases: no favourite
    assert AuditRecord.objects.filter(action="messaging.segment_saved", object_id=str(segment.pk)).exists()


def test_a_name_taken_is_refused_and_nothing_is_written(client, manager, patients):
    client.force_login(manager)
    response = client.post("/messaging/segments/new/", {"name": "patients", **MEDICAL})
    assert response.status_code == 400
    assert response.context["error"] == "A segment called “patients” exists already."
    assert Segment.objects.count() == 1


def test_the_builder_pages_draw(client, manager, patients):
    client.force_login(manager)
    assert client.get("/messaging/segments/new/").status_code == 200
    response = client.get(f"/messaging/segments/{patients.pk}/edit/")
    assert response.status_code == 200
    assert 'name="c-0-field"' in response.content.decode()
    row = client.get(
        "/messaging/segments/condition/", {"index": "3", "c-3-field": "lifetime_value", "c-3-op": "between"}
    )
    body = row.content.decode()
    assert row.status_code == 200 and 'name="c-3-low"' in body and 'name="c-3-high"' in body
    row = client.get(
        "/messaging/segments/condition/", {"index": "4", "c-4-field": "favourite_category", "c-4-op": "in"}
    )
    assert 'name="c-4-value" id="c-4-value" multiple' in row.content.decode()


def test_the_members_page_is_paged_and_logged(client, manager, patients, people):
    client.force_login(manager)
    url = f"/messaging/segments/{patients.pk}/"
    response = client.get(url)
    assert response.status_code == 200
    assert [row["customer"].pk for row in response.context["rows"]] == [people[0].pk, people[1].pk]
    assert response.context["conditions"] == ["Customer type is Medical"]
    logged = AuditRecord.objects.filter(action="customer.viewed", after__via="messaging:segment_detail")
    assert logged.count() == 2
    _, few = queries(client, "get", url)
    for number in range(10):
        customer = CustomerFactory(organization=patients.organization, phone=f"+1415555{1100 + number}")
        SegmentMember.objects.create(segment=patients, customer=customer, entered_at=patients.counted_at)
    _, many = queries(client, "get", url)
    assert few == many


def test_the_csv_lists_every_member_formula_safe_and_logged(client, manager, patients, people):
    client.force_login(manager)
    response = client.get(f"/messaging/segments/{patients.pk}/members.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["Customer id", "First name", "Last name", "Phone"]
    assert [row[:3] for row in rows[1:]] == [
        [str(people[0].pk), "'=HYPERLINK(1)", "Ames"],
        [str(people[1].pk), "Bea", "Boyd"],
    ]
    logged = AuditRecord.objects.filter(action="customer.viewed", after__via="messaging:segment_export")
    assert sorted(int(pk) for pk in logged.values_list("object_id", flat=True)) == [
        people[0].pk,
        people[1].pk,
    ]


def test_archiving_hides_the_segment(client, manager, patients):
    client.force_login(manager)
    response = client.post(f"/messaging/segments/{patients.pk}/archive/")
    assert response.status_code == 302
    patients.refresh_from_db()
    assert (patients.archived, patients.member_count, SegmentMember.objects.count()) == (True, 0, 0)
    assert client.get(f"/messaging/segments/{patients.pk}/").status_code == 404
