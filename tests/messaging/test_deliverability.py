# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The deliverability page: exact figures on a small history (local days in each store's zone, opt-outs not
counted twice, bounces and complaints over emails), the channel filter, the CSV, scoping to the member's
stores, 403 for a budtender, bad filters, and a number of queries that does not grow with the messages."""

import csv
import datetime as dt
import io

import pytest

from tests.messaging.deliverability_fixtures import (  # noqa: F401 - fixtures
    history,
    message,
    queries_counted,
)

pytestmark = pytest.mark.django_db
URL = "/messaging/deliverability/"
HEADER = [
    "Sent",
    "Delivered",
    "Failed or not delivered",
    "Awaiting a report",
    "Refused by the rules",
    "Opt-outs",
    "Bounces",
    "Complaints",
    "Delivery rate",
    "Failure rate",
    "Opt-out rate",
    "Bounce rate",
    "Complaint rate",
]


def tables_of(response):
    return {table["key"]: table for table in response.context["tables"]}


def test_a_manager_sees_exact_figures_by_day_store_channel_and_code(client, history):
    client.force_login(history["manager"])
    response = client.get(URL)
    assert response.status_code == 200
    filters = response.context["filters"]
    assert (filters.start, filters.end) == (dt.date(2026, 2, 26), dt.date(2026, 3, 11))  # 14 local days
    assert dict(response.context["summary"]) == {
        "Sent": "12",
        "Delivered": "9",
        "Delivery rate": "75.00%",
        "Failure rate": "25.00%",
        "Refused by the rules": "1",
        "Opt-out rate": "16.67%",
        "Bounce rate": "33.33%",
        "Complaint rate": "33.33%",
    }
    tables = tables_of(response)
    assert tables["days"]["columns"] == ["Day", *HEADER]
    days = {row[0]: row[1:] for row in tables["days"]["rows"]}
    assert len(days) == 14
    assert days["Tue Mar 10"] == [11, 8, 3, 0, 1, 1, 1, 1, "72.73%", "27.27%", "9.09%", "33.33%", "33.33%"]
    assert days["Wed Mar 11"] == [1, 1, 0, 0, 0, 1, 0, 0, "100.00%", "0.00%", "100.00%", "—", "—"]
    assert days["Mon Mar 9"] == [0, 0, 0, 0, 0, 0, 0, 0, "—", "—", "—", "—", "—"]
    assert tables["stores"]["rows"] == [
        ["Mission", 10, 7, 3, 0, 1, 2, 1, 1, "70.00%", "30.00%", "20.00%", "33.33%", "33.33%"],
        ["Riverside", 2, 2, 0, 0, 0, 0, 0, 0, "100.00%", "0.00%", "0.00%", "—", "—"],
    ]
    assert tables["channels"]["rows"] == [
        ["Text message", 9, 7, 2, 0, 1, 1, 0, 0, "77.78%", "22.22%", "11.11%", "—", "—"],
        ["Email", 3, 2, 1, 0, 0, 1, 1, 1, "66.67%", "33.33%", "33.33%", "33.33%", "33.33%"],
    ]
    assert tables["errors"]["rows"] == [
        [
            "30003",
            "The phone is switched off or out of reach (unreachable handset).",
            "Text message",
            1,
            "11.11%",
        ],
        [
            "30007",
            "The carrier filtered the message as spam (carrier violation).",
            "Text message",
            1,
            "11.11%",
        ],
        [
            "bounce",
            "The email bounced: the address does not exist or the mailbox refused it.",
            "Email",
            1,
            "33.33%",
        ],
    ]
    assert tables["refusals"]["rows"] == [
        ["No consent for this purpose and channel", 1],
        ["The address is suppressed (STOP, bounce, complaint, invalid)", 1],
    ]
    # The charts draw the same numbers, handed to the page's script as JSON (no inline code).
    charts = response.context["charts"]
    assert charts["stores"]["datasets"][0]["values"] == [70.0, 100.0]
    assert charts["errors"]["labels"] == ["30003", "30007", "bounce"]
    page = response.content.decode()
    assert 'id="deliverability-charts"' in page and "messaging/deliverability.js" in page
    assert "chart.js-4.6.2/chart.umd.min.js" in page


def test_the_channel_and_store_filters(client, history):
    client.force_login(history["manager"])
    response = client.get(URL, {"channel": "email", "start": "2026-03-10", "end": "2026-03-11"})
    assert response.status_code == 200
    summary = dict(response.context["summary"])
    assert (summary["Sent"], summary["Delivered"], summary["Bounce rate"]) == ("3", "2", "33.33%")
    assert [row[0] for row in tables_of(response)["channels"]["rows"]] == ["Email"]
    response = client.get(URL, {"store": history["store_b"].pk, "start": "2026-03-10", "end": "2026-03-10"})
    assert tables_of(response)["stores"]["rows"] == [
        ["Riverside", 2, 2, 0, 0, 0, 0, 0, 0, "100.00%", "0.00%", "0.00%", "—", "—"]
    ]


def test_the_figures_download_as_csv(client, history):
    client.force_login(history["manager"])
    response = client.get(URL, {"start": "2026-03-10", "end": "2026-03-11", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="deliverability-all-stores-2026-03-10-2026-03-11.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[:5] == [
        ["Deliverability"],
        ["Store", "All my stores"],
        ["Channel", "Texts and emails"],
        ["From", "2026-03-10"],
        ["To", "2026-03-11"],
    ]
    assert ["Sent", "12"] in rows and ["Complaint rate", "33.33%"] in rows
    start = rows.index(["By store"])
    assert rows[start + 1] == ["Store", *HEADER]
    assert rows[start + 2] == [
        "Mission",
        "10",
        "7",
        "3",
        "0",
        "1",
        "2",
        "1",
        "1",
        "70.00%",
        "30.00%",
        "20.00%",
        "33.33%",
        "33.33%",
    ]
    page = client.get(URL, {"start": "2026-03-10", "end": "2026-03-11"}).content.decode()
    assert "format=csv" in page


def test_only_the_stores_the_member_works_at(client, history):
    client.force_login(history["manager_a"])
    response = client.get(URL)
    assert [row[0] for row in tables_of(response)["stores"]["rows"]] == ["Mission"]
    assert dict(response.context["summary"])["Sent"] == "10"
    # Another store is no choice: refused, nothing shown.
    response = client.get(URL, {"store": history["store_b"].pk})
    assert response.status_code == 400
    assert response.context["report"] is None
    response = client.get(URL, {"store": history["foreign"].pk})
    assert response.status_code == 400


def test_a_budtender_may_not_open_it(client, history):
    client.force_login(history["budtender"])
    assert client.get(URL).status_code == 403
    assert client.get("/messaging/messages/").status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-03-12", "end": "2026-03-01"},
        {"start": "9999-12-31"},
        {"end": "9999-12-31"},
        {"start": "1999-01-01", "end": "2026-03-01"},
        {"start": "not a day"},
        {"channel": "fax"},
        {"store": "99999999999999999999999"},
        {"start": "2020-01-01", "end": "2026-03-11"},
    ],
)
def test_bad_filters_are_refused_with_words(client, history, query):
    client.force_login(history["manager"])
    response = client.get(URL, query)
    assert response.status_code == 400
    assert response.context["report"] is None
    assert 'role="alert"' in response.content.decode()


def test_nothing_in_the_period_says_so(client, history):
    client.force_login(history["manager"])
    response = client.get(URL, {"start": "2026-01-01", "end": "2026-01-31"})
    assert response.status_code == 200
    assert response.context["report"].empty
    assert "No messages in this period" in response.content.decode()


def test_the_number_of_queries_does_not_grow_with_the_messages(client, history):
    client.force_login(history["manager"])
    client.get(URL)  # the session and the member's stores are read once the same way each time
    with queries_counted() as few:
        client.get(URL)
    for day in range(1, 9):
        at = dt.datetime(2026, 3, day, 18, 0, tzinfo=dt.UTC)
        message(history["store_a"], "sms", "failed", at, error_code=f"3000{day}")
        message(history["store_b"], "email", "refused", at, reasons=[f"rule_{day}: words"])
    with queries_counted() as many:
        response = client.get(URL)
    assert dict(response.context["summary"])["Sent"] == "20"
    assert len(many) == len(few) == 12  # session, member, stores, permissions; five figures; alerts


def test_messages_the_carrier_has_not_reported_on_count_apart(client, history):
    # Sent, no outcome yet: counted as sent and awaiting a report, outside the delivery and failure rates.
    message(history["store_b"], "sms", "sent", dt.datetime(2026, 3, 10, 16, 0, tzinfo=dt.UTC))
    client.force_login(history["manager"])
    response = client.get(URL, {"store": history["store_b"].pk, "start": "2026-03-10", "end": "2026-03-10"})
    assert tables_of(response)["stores"]["rows"] == [
        ["Riverside", 3, 2, 0, 1, 0, 0, 0, 0, "100.00%", "0.00%", "0.00%", "—", "—"]
    ]
