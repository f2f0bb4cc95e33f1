# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The delivery analytics page and its CSV downloads: who may open it and for which stores, the filters and
their defaults (the store's local days), bad input, the CSV's content and its safety in a spreadsheet, the
links to it, and a number of queries that does not grow with the routes."""

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.models import DeliveryZone, Trip
from tests.delivery.analytics_fixtures import LA, at, deliveries, hills, pat, sam  # noqa: F401 - fixtures
from tests.delivery.fleet import make_driver
from tests.delivery.order_fixtures import now, product, zone  # noqa: F401 - fixtures
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/delivery/analytics/"
PERIOD = {"start": "2026-03-10", "end": "2026-03-11"}


def rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_manager_sees_each_figure_with_its_numbers(client, manager, store, deliveries):
    client.force_login(manager)
    response = client.get(URL, PERIOD)
    assert response.status_code == 200
    page = response.content.decode()
    for title in (
        "On-time rate by day",
        "Stops per route",
        "Minutes per stop, by driver",
        "Distance per order by day",
        "Late and not delivered, by reason",
        "Driver efficiency",
        "Revenue by zone",
        "Revenue by hour of day",
    ):
        assert title in page
    summary = dict(response.context["summary"])
    assert summary["Routes"] == "3"
    assert summary["On-time rate"] == "75.0%"
    assert summary["Revenue"] == "$195.00"
    assert summary["Km per order"] == "5.08"
    tables = {table["key"]: table for table in response.context["tables"]}
    assert tables["zones"]["rows"] == [["City", 3, "$160.00"], ["Hills", 1, "$35.00"]]
    assert tables["reasons"]["rows"] == [
        ["Late (delivered after the window)", 1],
        ["Nobody home", 1],
        ["Under age", 1],
    ]
    # The charts draw the same numbers (handed to the page's script as JSON, never inline code).
    assert response.context["charts"]["zones"]["values"] == [160.0, 35.0]
    assert 'id="delivery-analytics-charts"' in page
    assert "chart.js-4.6.2/chart.umd.min.js" in page


def test_the_defaults_are_the_last_30_local_days_of_the_store(client, manager, store, deliveries, clock):
    # 06:30 UTC on Mar 12 is still Mar 11 in Los Angeles: the period ends on Mar 11, and starts 29 days before.
    clock.move_to(dt.datetime(2026, 3, 12, 6, 30, tzinfo=dt.UTC))
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    filters = response.context["filters"]
    assert (filters.store, filters.start, filters.end, filters.driver) == (
        store,
        dt.date(2026, 2, 10),
        dt.date(2026, 3, 11),
        None,
    )
    assert 'value="2026-02-10"' in response.content.decode()
    assert dict(response.context["summary"])["Routes"] == "3"


def test_filters_by_driver(client, manager, store, deliveries, pat):
    client.force_login(manager)
    response = client.get(URL, {**PERIOD, "driver": pat.pk})
    summary = dict(response.context["summary"])
    assert (summary["Routes"], summary["Orders delivered"], summary["Revenue"]) == ("1", "1", "$100.00")


def test_an_empty_period_says_so(client, manager, store, deliveries):
    client.force_login(manager)
    response = client.get(URL, {"start": "2026-01-01", "end": "2026-01-31"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "No deliveries in this period" in page
    assert "data-chart" not in page


def test_a_store_without_any_delivery_data_says_so(client, manager, store):
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    assert "No deliveries in this period" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-03-11", "end": "2026-03-10"}, "The period must start on or before its last day."),
        ({"start": "2024-01-01", "end": "2026-03-10"}, "Choose a period of at most 400 days."),
        ({"start": "yesterday"}, "Enter a valid date."),
        ({"driver": "999999"}, "Choose a driver from the list, or all drivers."),
        ({"driver": "Sam"}, "Choose a driver from the list, or all drivers."),
        ({"store": "abc"}, "Choose one of the stores you work at."),
    ],
)
def test_bad_filters_get_a_clear_message(client, manager, store, deliveries, query, message):
    client.force_login(manager)
    response = client.get(URL, query)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["report"] is None


def test_a_manager_sees_only_the_stores_they_work_at(client, manager, store, deliveries):
    other_store = deliveries["other_store"]  # same organization, not granted to this manager
    stranger = StoreFactory(organization=OrganizationFactory())
    client.force_login(manager)
    for forbidden in (other_store, stranger):
        response = client.get(URL, {**PERIOD, "store": forbidden.pk})
        assert response.status_code == 400
        assert "Choose one of the stores you work at." in response.content.decode()
        response = client.get(URL, {**PERIOD, "store": forbidden.pk, "format": "orders"})
        assert response.status_code == 400
    choices = [value for value, _ in response.context["form"].fields["store"].choices]
    assert choices == [store.pk]


def test_a_manager_of_both_stores_chooses_between_them(client, store, deliveries):
    both = UserFactory(
        organization=store.organization, roles=["owner"], stores=[store, deliveries["other_store"]]
    )
    client.force_login(both)
    response = client.get(URL, {**PERIOD, "store": deliveries["other_store"].pk})
    assert response.status_code == 200
    assert dict(response.context["summary"])["Revenue"] == "$70.00"
    assert [figures.name for figures in response.context["report"].drivers] == ["Olga Staff"]


def test_a_driver_of_another_organization_is_refused(client, manager, store, deliveries):
    foreign = make_driver(
        StoreFactory(organization=OrganizationFactory()), username="foreign", licence="D9999999"
    )
    client.force_login(manager)
    response = client.get(URL, {**PERIOD, "driver": foreign.pk})
    assert response.status_code == 400
    assert "Choose a driver from the list, or all drivers." in response.content.decode()


@pytest.mark.parametrize("role", ["budtender", "driver", "inventory_manager", "compliance_officer"])
def test_other_roles_are_refused(client, organization, store, role):
    member = UserFactory(organization=organization, roles=[role], stores=[store])
    client.force_login(member)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "orders"}).status_code == 403


def test_the_view_trip_permission_opens_it(client, organization, store, deliveries):
    member = UserFactory(organization=organization, roles=["compliance_officer"], stores=[store])
    member.user_permissions.add(
        Permission.objects.get(codename="view_trip", content_type__app_label="delivery")
    )
    client.force_login(member)
    response = client.get(URL, PERIOD)
    assert response.status_code == 200
    assert dict(response.context["summary"])["Routes"] == "3"


def test_anonymous_goes_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]


def test_the_orders_csv_has_one_row_per_stop(client, manager, store, deliveries):
    client.force_login(manager)
    response = client.get(URL, {**PERIOD, "format": "orders"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="delivery-' in response["Content-Disposition"]
    table = rows(response)
    header, body = table[0], table[1:]
    assert header[:5] == ["Day", "Route", "Driver", "Stop", "Order"]
    assert len(body) == 7  # A1 A2 A3 B1 B2 C1 C2
    record = [dict(zip(header, row, strict=True)) for row in body]
    a1, a2, a3, b1, b2, c1, c2 = record
    assert (a1["Driver"], a1["Zone"], a1["Window to"], a1["Arrived"], a1["Completed"]) == (
        "Sam Rivera",
        "City",
        "2026-03-10 15:00",
        "2026-03-10 14:10",
        "2026-03-10 14:18",
    )
    assert (a1["Outcome"], a1["On time"], a1["Minutes late"], a1["Minutes at the stop"], a1["Sale"]) == (
        "Delivered",
        "Yes",
        "0",
        "8.0",
        "60.00",
    )
    assert (a2["On time"], a2["Minutes late"], a2["Sale"], a2["Refunded"], a2["Zone"]) == (
        "No",
        "5",
        "40.00",
        "5.00",
        "Hills",
    )
    assert (a3["Outcome"], a3["Reason not delivered"], a3["On time"]) == ("Not delivered", "Nobody home", "")
    assert (b1["Minutes at the stop"], b1["How the minutes were measured"]) == ("5.0", "planned service time")
    assert b2["Reason not delivered"] == "Under age"
    assert (c1["Sale"], c1["Outcome"]) == ("", "Delivered")  # voided
    assert (c2["Outcome"], c2["Completed"], c2["Minutes at the stop"]) == ("To deliver", "", "")


def test_the_figures_csv_holds_the_tables_of_the_page(client, manager, store, deliveries):
    client.force_login(manager)
    table = rows(client.get(URL, {**PERIOD, "format": "figures"}))
    assert table[1] == ["Store", store.name]
    assert ["On-time rate", "75.0%"] in table
    at_zones = table.index(["Revenue by zone"])
    assert table[at_zones + 1 : at_zones + 4] == [
        ["Zone", "Orders delivered", "Revenue"],
        ["City", "3", "$160.00"],
        ["Hills", "1", "$35.00"],
    ]
    at_drivers = table.index(["Driver efficiency"])
    assert table[at_drivers + 2] == ["Pat Lee", "1", "1.50", "2", "1.33", "100.0%", "1", "3.34"]


def test_csv_cells_cannot_run_as_formulas(client, manager, store, deliveries, sam, hills):
    sam.user.first_name = '=HYPERLINK("http://evil.example","x")'
    sam.user.last_name = ""
    sam.user.save()
    DeliveryZone.objects.filter(pk=hills.pk).update(name="@SUM(1+1)")
    client.force_login(manager)
    orders = rows(client.get(URL, {**PERIOD, "format": "orders"}))
    assert orders[1][2] == '\'=HYPERLINK("http://evil.example","x")'
    assert orders[2][5] == "'@SUM(1+1)"
    figures = rows(client.get(URL, {**PERIOD, "format": "figures"}))
    assert ["'@SUM(1+1)", "1", "$35.00"] in figures
    assert not any(cell.startswith(("=", "@", "+")) for row in figures + orders for cell in row if cell)


def test_the_page_and_the_csv_read_a_fixed_number_of_queries(client, manager, store, deliveries, sam):
    client.force_login(manager)
    client.get(URL, PERIOD)  # the session and the member's permissions are read once
    counts = {}
    for name in ("few", "many"):
        if name == "many":
            build, car = deliveries["build"], deliveries["cars"][0]
            for number in range(4):
                route = build.route(
                    sam, car, 11, status=Trip.Status.RETURNED, distance_m=800, left=at(11, 8), back=at(11, 9)
                )
                build.positions(route, [("37.700000", "-122.450000"), ("37.710000", "-122.450000")])
                build.stop(
                    route, build.order(11, 8 + number), 1, status="returned", arrived=at(11, 8, 10),
                    done=at(11, 8, 15), reason="refused",
                )  # fmt: skip
        for kind in ("", "orders", "figures"):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(URL, {**PERIOD, "format": kind} if kind else PERIOD)
            assert response.status_code == 200
            counts[name, kind] = len(queries)
    assert dict(client.get(URL, PERIOD).context["summary"])["Routes"] == "7"
    for kind in ("", "orders", "figures"):
        assert counts["few", kind] == counts["many", kind], counts
    assert counts["few", ""] <= 13, (
        counts
    )  # the session, the member, the stores, the drivers, six for the figures


def test_links_from_the_top_bar_the_dashboard_and_the_dispatch_board(client, manager, budtender, store):
    client.force_login(manager)
    dashboard = client.get("/dashboard/").content.decode()
    assert 'href="/delivery/analytics/"' in dashboard
    assert 'data-dashboard-link="delivery-analytics"' in dashboard
    board = client.get(f"/delivery/stores/{store.pk}/dispatch/").content.decode()
    assert f'href="/delivery/analytics/?store={store.pk}"' in board
    client.force_login(budtender)
    assert "/delivery/analytics/" not in client.get("/pos/").content.decode()


def test_the_time_zone_of_the_hours_is_the_stores(client, manager, store, deliveries):
    """The sales stored at 21:18, 21:40 and 22:05 UTC are made at 2 PM and 3 PM in Los Angeles."""
    assert at(10, 14, 18).astimezone(dt.UTC).hour == 21 and LA.utcoffset(None) == dt.timedelta(hours=-7)
    client.force_login(manager)
    hours = {table["key"]: table for table in client.get(URL, PERIOD).context["tables"]}["hours"]
    assert hours["rows"] == [["2 PM", 2, "$160.00"], ["3 PM", 1, "$35.00"]]
