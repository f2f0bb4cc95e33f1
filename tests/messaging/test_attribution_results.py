"""The results page (/messaging/results/): exact figures on a small dataset (overall, per flow step, per
campaign and variant, coupons by store, subscribers against the others), the message list with its logged
reads, the CSV of each figure, owners and managers only, scoped to their stores, in a fixed number of queries."""

import csv
import datetime as dt
import io
import itertools
from decimal import Decimal as D
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispensary.models import AuditRecord
from dispensary.services import marketing_consent_record
from messaging.models import (
    Campaign,
    Flow,
    FlowStep,
    MessageConversion,
    MessageOrigin,
    MessageStatusEvent,
    Segment,
    Suppression,
)
from pos.models import Coupon, CouponRedemption, Promotion
from tests.factories import CustomerFactory, StoreFactory, UserFactory
from tests.messaging.attribution_helpers import NOON, bare_sale, marketing_message

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)
URL = "/messaging/results/?start=2026-03-01&end=2026-03-11"


def convert(message, sale, kind, revenue, *, reversed_at=None):
    return MessageConversion.objects.create(
        message=message,
        sale=sale,
        customer=sale.customer,
        kind=kind,
        revenue=D(revenue),
        occurred_at=sale.completed_at,
        reversed_at=reversed_at,
    )


@pytest.fixture
def dataset(clock, store, register, budtender, organization):
    clock.move_to(NOON + dt.timedelta(days=1))
    ada = CustomerFactory(organization=organization, phone="+14155550134", first_name="Ada", last_name="Park")
    bob = CustomerFactory(organization=organization, phone="+14155550135", first_name="Bob", last_name="Lee")
    marketing_consent_record(
        customer=ada,
        channel="sms",
        granted=True,
        age_affirmed=True,
        disclosure_version="sms-2025-01",
        staff=budtender,
        store=store,
        awaiting_confirmation=False,
    )
    flow = Flow.objects.create(organization=organization, name="Welcome", trigger={"type": "event"})
    step = FlowStep.objects.create(flow=flow, kind="send_sms", name="First text", position=0)
    segment = Segment.objects.create(organization=organization, name="Everyone")
    campaign = Campaign.objects.create(
        organization=organization, name="Spring", segment=segment, channel="sms", topic="spring", body="Hi"
    )
    promotion = Promotion.objects.create(organization=organization, name="Ten off", kind="percent", value=10)

    def message(customer, status, **origin):
        made = marketing_message(store, customer, status=status)
        coupon = origin.pop("coupon", None)
        if coupon:
            coupon = Coupon.objects.create(
                organization=organization,
                code=f"C{next(_numbers):07d}",
                promotion=promotion,
                customer=customer,
                max_uses=1,
                message_id=str(made.key),
            )
        MessageOrigin.objects.create(message=made, coupon=coupon, **origin)
        return made, coupon

    m1, c1 = message(ada, "delivered", flow=flow, flow_step=step, coupon=True)
    m2, _ = message(bob, "sent", flow=flow, flow_step=step, coupon=True)
    m3, _ = message(ada, "delivered", campaign=campaign, variant="a")
    m4, _ = message(bob, "failed", campaign=campaign, variant="b")
    m5, _ = message(bob, "delivered", campaign=campaign)
    for clicked in (m1, m3, m5):
        MessageStatusEvent.objects.create(message=clicked, status="clicked", source="link", occurred_at=NOON)
    Suppression.objects.create(
        organization=organization,
        channel="sms",
        address=bob.phone,
        reason="stopped",
        message=m2,
        created_at=NOON,
    )
    s1 = bare_sale(store, register, budtender, ada, "90.00", "9.00")
    s2 = bare_sale(store, register, budtender, ada, "90.00", voided=True)
    s3 = bare_sale(store, register, budtender, bob, "45.00")
    bare_sale(store, register, budtender, ada, "30.00")
    bare_sale(store, register, budtender, None, "100.00")
    CouponRedemption.objects.create(
        coupon=c1, sale=s1, customer=ada, amount=D("9.00"), message_id=str(m1.key), redeemed_at=NOON
    )
    convert(m1, s1, "code", "81.00")
    convert(m3, s2, "click", "90.00", reversed_at=NOON)
    convert(m5, s3, "click", "45.00")
    # Another store of the organization the manager does not work at, and a message out of the period.
    elsewhere = StoreFactory(organization=organization)
    marketing_message(elsewhere, ada)
    marketing_message(store, ada, at=NOON - dt.timedelta(days=30))
    return {"ada": ada, "bob": bob, "messages": [m1, m2, m3, m4, m5], "store": store}


def table_of(html: str, key: str) -> list[list[str]]:
    import re

    section = html.split(f'data-figure="{key}"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def test_the_figures_are_exact(client, manager, dataset):
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-summary="Messages sent">4<' in html
    assert 'data-summary="Delivered">3<' in html
    assert 'data-summary="Clicked">3<' in html
    assert 'data-summary="Converted">2<' in html
    assert 'data-summary="By code · by click">1 · 1<' in html
    assert 'data-summary="Revenue">$126.00<' in html
    assert 'data-summary="Revenue per recipient">$25.20<' in html
    assert 'data-summary="Unsubscribed">1<' in html
    assert table_of(html, "overall") == [
        ["Sent", "4", "100.0%"],
        ["Delivered", "3", "75.0%"],
        ["Clicked", "3", "75.0%"],
        ["Converted", "2", "50.0%"],
    ]
    assert table_of(html, "flow_steps") == [
        ["Welcome · First text", "2", "2", "1", "1", "1", "$81.00", "$40.50", "1"]
    ]
    assert table_of(html, "campaigns") == [
        ["Spring", "1", "1", "1", "1", "1", "$45.00", "$45.00", "0"],
        ["Spring · A", "1", "1", "1", "1", "0", "$0.00", "$0.00", "0"],
        ["Spring · B", "1", "0", "0", "0", "0", "$0.00", "$0.00", "0"],
    ]
    assert table_of(html, "coupons") == [[dataset["store"].name, "2", "1", "50.0%"]]
    assert table_of(html, "repeat") == [
        ["Marketing subscribers", "1", "1", "100.0%"],
        ["Not subscribed", "1", "0", "0.0%"],
    ]
    assert table_of(html, "average_order") == [
        ["Marketing subscribers", "2", "$111.00", "$55.50"],
        ["Not subscribed", "1", "$45.00", "$45.00"],
    ]
    assert 'id="message-results-charts"' in html and "chart.umd.min.js" in html


def test_the_message_list_shows_status_and_conversion_and_logs_the_reads(client, manager, dataset):
    client.force_login(manager)
    html = client.get(URL).content.decode()
    rows = table_of(html, "messages")
    m1, m2, m3, m4, m5 = dataset["messages"]
    assert [row[1:] for row in rows] == [
        [
            "Bob Lee",
            "Spring",
            "Text message",
            "Delivered",
            "Yes",
            "Bought within the window after a click",
            "$45.00",
        ],
        ["Bob Lee", "Spring · B", "Text message", "Failed", "No", "—", "—"],
        ["Ada Park", "Spring · A", "Text message", "Delivered", "Yes", "Voided", "—"],
        ["Bob Lee", "Welcome · First text", "Text message", "Sent", "No", "—", "—"],
        [
            "Ada Park",
            "Welcome · First text",
            "Text message",
            "Delivered",
            "Yes",
            "Redeemed the message's coupon",
            "$81.00",
        ],
    ]
    reads = AuditRecord.objects.filter(action="customer.viewed", after__via="message_results")
    assert sorted(int(record.object_id) for record in reads) == sorted([dataset["ada"].pk, dataset["bob"].pk])


def test_each_figure_downloads_as_csv(client, manager, dataset):
    client.force_login(manager)
    response = client.get(URL + "&format=csv&figure=coupons")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[-3:] == [
        ["Coupon redemption rate by store"],
        ["Store", "Issued", "Redeemed", "Redemption rate"],
        [dataset["store"].name, "2", "1", "50.0%"],
    ]
    everything = client.get(URL + "&format=csv").content.decode()
    assert "Revenue by flow step" in everything and "Average order: subscribers and the others" in everything
    assert client.get(URL + "&format=csv&figure=nonsense").status_code == 400


def test_only_owners_and_managers_at_their_stores(client, organization, store, budtender, dataset):
    client.force_login(budtender)
    assert client.get(URL).status_code == 403
    elsewhere = StoreFactory(organization=organization)
    other_manager = UserFactory(organization=organization, roles=["manager"], stores=[elsewhere])
    client.force_login(other_manager)
    response = client.get(URL + f"&store={store.pk}")
    assert response.status_code == 400
    assert "Choose one of the stores you work at." in response.content.decode()
    client.logout()
    assert client.get(URL).status_code == 302


def test_bad_dates_are_refused_in_plain_words(client, manager, dataset):
    client.force_login(manager)
    response = client.get("/messaging/results/?start=2026-03-11&end=2026-03-01")
    assert response.status_code == 400
    assert "The period must start on or before its last day." in response.content.decode()
    assert client.get("/messaging/results/?start=nonsense").status_code == 400


def test_the_page_reads_in_a_fixed_number_of_queries(client, manager, dataset, store, register, budtender):
    client.force_login(manager)
    client.get(URL)
    with CaptureQueriesContext(connection) as first:
        client.get(URL)
    # Ten times more messages, customers, flows steps and campaigns: the same number of queries.
    organization = store.organization
    segment = Segment.objects.get()
    for number in range(10):
        customer = CustomerFactory(organization=organization, phone=f"+1415555{number + 200:04d}")
        flow = Flow.objects.create(organization=organization, name=f"Flow {number}", trigger={})
        step = FlowStep.objects.create(flow=flow, kind="send_sms", position=0)
        campaign = Campaign.objects.create(
            organization=organization, name=f"C {number}", segment=segment, channel="sms", topic="t", body="b"
        )
        for origin in ({"flow": flow, "flow_step": step}, {"campaign": campaign, "variant": "a"}):
            made = marketing_message(store, customer)
            MessageOrigin.objects.create(message=made, **origin)
            sale = bare_sale(store, register, budtender, customer, "20.00")
            convert(made, sale, "click", "20.00")
    with CaptureQueriesContext(connection) as second:
        response = client.get(URL)
    assert response.status_code == 200
    assert len(second) == len(first), [query["sql"][:120] for query in second.captured_queries]
    assert len(first) <= 40
