"""The register's customer panel of messaging (budtenders, read only): the last five messages with their status
and clicks, the last clicks, the open personal coupons with an apply button that applies the code to the cart;
a logged read in a fixed number of queries; other organizations' customers are 404."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispensary.models import AuditRecord
from pos.models import Coupon
from pos.services.carts import cart_open
from tests.factories import CustomerFactory, OrganizationFactory, UserFactory
from tests.messaging.attribution_helpers import NOON, click, marketing_message, personal_coupon, ten_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(store):
    return CustomerFactory(organization=store.organization, phone="+14155550134")


def panel(client, customer, cart=None):
    suffix = f"?cart={cart.pk}" if cart else ""
    return client.get(f"/messaging/register/customers/{customer.pk}/{suffix}", HTTP_HX_REQUEST="true")


def test_the_budtender_sees_messages_clicks_and_open_coupons(
    clock, client, budtender, store, ada, register, product, package
):
    clock.move_to(NOON)
    promotion = ten_off(store)
    made = []
    for hours in range(6):
        message = marketing_message(store, ada, at=NOON - dt.timedelta(hours=6 - hours))
        made.append(message)
    click(made[-1], NOON)
    open_coupon = personal_coupon(
        store, ada, made[-1], promotion=promotion, valid_until=NOON + dt.timedelta(days=3)
    )
    expired = personal_coupon(
        store, ada, made[0], promotion=promotion, valid_until=NOON - dt.timedelta(days=1)
    )
    used = personal_coupon(store, ada, made[1], promotion=promotion)
    Coupon.objects.filter(pk=used.pk).update(uses=1)
    bob = CustomerFactory(organization=store.organization, phone="+14155550135")
    theirs = personal_coupon(store, bob, marketing_message(store, bob), promotion=promotion)
    cart = cart_open(store=store, register=register, staff=budtender, customer=ada)

    client.force_login(budtender)
    response = panel(client, ada, cart)
    assert response.status_code == 200
    html = response.content.decode()
    recent = html.split("data-recent-messages", 1)[1].split("</ul>", 1)[0]
    assert recent.count("<li>") == 5 and recent.count("clicked") == 1
    assert html.split("data-recent-clicks", 1)[1].split("</ul>", 1)[0].count("<li>") == 1
    coupons = re.findall(r'data-coupon="([A-Z0-9]+)"', html)
    assert coupons == [open_coupon.code]
    assert expired.code not in html and used.code not in html and theirs.code not in html
    assert "Ten off · until Mar 13, 2026" in html
    assert f'action="/pos/register/carts/{cart.pk}/coupons/"' in html
    assert (
        AuditRecord.objects.filter(
            action="customer.viewed", object_id=str(ada.pk), after__via="pos_messages"
        ).count()
        == 1
    )

    # The apply button is the register's own coupon form.
    client.post(f"/pos/register/carts/{cart.pk}/scan/", {"code": package.tag}, HTTP_HX_REQUEST="true")
    client.post(f"/pos/register/carts/{cart.pk}/coupons/", {"code": open_coupon.code}, HTTP_HX_REQUEST="true")
    cart.refresh_from_db()
    assert cart.coupon_codes == [open_coupon.code]


def test_the_workspace_offers_the_panel(client, budtender, store, register, ada):
    cart = cart_open(store=store, register=register, staff=budtender, customer=ada)
    client.force_login(budtender)
    html = client.get(f"/pos/register/carts/{cart.pk}/").content.decode()
    assert f'hx-get="/messaging/register/customers/{ada.pk}/?cart={cart.pk}"' in html
    assert "Messages and coupons" in html


def test_without_a_cart_no_apply_button_and_empty_lists(client, budtender, ada):
    client.force_login(budtender)
    html = panel(client, ada).content.decode()
    assert "No messages yet." in html and "No clicks." in html and "No open coupons." in html


def test_other_organizations_customers_and_other_roles_are_refused(client, budtender, organization, store):
    stranger = CustomerFactory(organization=OrganizationFactory(), phone="+14155550199")
    client.force_login(budtender)
    assert panel(client, stranger).status_code == 404
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    client.force_login(driver)
    assert panel(client, CustomerFactory(organization=organization)).status_code == 403


def test_the_panel_reads_in_a_fixed_number_of_queries(clock, client, budtender, store, ada):
    clock.move_to(NOON)
    client.force_login(budtender)
    message = marketing_message(store, ada)
    click(message, NOON)
    personal_coupon(store, ada, message)
    panel(client, ada)
    with CaptureQueriesContext(connection) as first:
        panel(client, ada)
    promotion = ten_off(store)
    for _ in range(8):
        more = marketing_message(store, ada)
        click(more, NOON)
        personal_coupon(store, ada, more, promotion=promotion)
    with CaptureQueriesContext(connection) as second:
        panel(client, ada)
    assert len(second) == len(first)
