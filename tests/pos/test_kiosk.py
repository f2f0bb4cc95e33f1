"""The in-store kiosk: staff start kiosk mode for their store; a walk-in customer builds a cart (priced and
limit-checked by the register's Quote) and places a pickup order (channel kiosk, stock allocated, age stated at
the kiosk); limits are refused with the rule's words; bad phone or age change nothing; the kiosk reaches its own
pages only and looks no customer up; leaving it takes a staff sign-in; the budtender sees the order in the list."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.test import Client

from dispensary.models import AuditRecord, Customer, OutboxEvent
from inventory.models import Package
from pos.models import PickupOrder
from tests.factories import CustomerFactory, UserFactory
from tests.inventory.factories import ProductFactory, ProductLimitAmountFactory, receive

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC)  # 11:00 in Los Angeles
DETAILS = {
    "first_name": "Rosa",
    "last_name": "Parks",
    "phone": "(415) 555-0199",
    "date_of_birth": "1990-05-17",
    "medical_card": "",
    "idempotency_key": "form-1",
}


@pytest.fixture
def now(clock, shipped_rules):
    return clock.move_to(NOW)


@pytest.fixture
def kiosk(store, budtender, now):
    """A tablet a budtender put into kiosk mode."""
    tablet = Client()
    tablet.force_login(budtender)
    response = tablet.post("/pos/kiosk/start/")
    assert response.status_code == 302 and response["Location"] == "/pos/kiosk/"
    return tablet


def add(tablet, product, quantity):
    return tablet.post("/pos/kiosk/cart/", {"product": product.pk, "quantity": str(quantity)})


def nothing_written(package):
    assert PickupOrder.objects.count() == 0
    assert Customer.objects.filter(phone="+14155550199").count() == 0
    assert Package.objects.get(pk=package.pk).quantity_allocated == 0
    assert not OutboxEvent.objects.filter(name__in=["pos.order_placed", "customer.created"]).exists()


def test_a_customer_places_a_pickup_order_at_the_kiosk(kiosk, store, budtender, product, package):
    menu = kiosk.get("/pos/kiosk/")
    assert menu.status_code == 200
    assert product.name in menu.content.decode()

    add(kiosk, product, 2)
    cart = kiosk.get("/pos/kiosk/").content.decode()
    assert "$110.03" in cart  # the Quote's total, with taxes
    assert "Non-concentrated cannabis: 21.5 g left of 28.5 g" in cart  # the limit left for one purchase

    placed = kiosk.post("/pos/kiosk/checkout/", DETAILS)

    assert placed.status_code == 302 and placed["Location"] == "/pos/kiosk/done/"
    order = PickupOrder.objects.get()
    assert (order.channel, order.fulfilment, order.status, order.store, order.created_by) == (
        "kiosk",
        "pickup",
        "reserved",
        store,
        budtender,
    )
    assert (order.age_verification_method, order.age_verified_by, order.age_verified_by_name) == (
        "kiosk_stated",
        None,
        "The customer, at the kiosk",
    )
    assert order.get_age_verification_method_display() == "Stated at the kiosk; ID checked at the counter"
    assert order.customer.phone == "+14155550199"
    assert (order.customer.first_name, order.customer.date_of_birth) == ("Rosa", dt.date(1990, 5, 17))
    assert Package.objects.get(pk=package.pk).quantity_allocated == D("2")
    assert OutboxEvent.objects.get(name="pos.order_placed").payload["channel"] == "kiosk"
    done = kiosk.get("/pos/kiosk/done/").content.decode()
    assert f">{order.pk}<" in done and "show your ID" in done
    # The cart is empty again for the next customer; the same form sent twice places one order.
    assert "Nothing yet" in kiosk.get("/pos/kiosk/").content.decode()
    add(kiosk, product, 1)
    kiosk.post("/pos/kiosk/checkout/", DETAILS)
    assert PickupOrder.objects.count() == 1


def test_a_phone_on_file_orders_for_that_customer_without_showing_them(kiosk, organization, product, package):
    known = CustomerFactory(
        organization=organization, phone="+14155550199", first_name="Known", last_name="Person"
    )
    add(kiosk, product, 1)

    kiosk.post("/pos/kiosk/checkout/", DETAILS)

    assert PickupOrder.objects.get().customer == known
    done = kiosk.get("/pos/kiosk/done/").content.decode()
    assert "Known" not in done and "Person" not in done
    assert Customer.objects.get(pk=known.pk).first_name == "Known"  # the kiosk changes no customer


def test_a_limit_is_refused_with_the_rules_words_and_nothing_is_written(kiosk, organization, store, now):
    ounce = ProductFactory(organization=organization, price=D("100.00"))
    ProductLimitAmountFactory(product=ounce, bucket="flower_g", amount=D("28.5"))
    package = receive(store, ounce, 3)
    add(kiosk, ounce, 2)
    assert "over the limit of 28.5 g" in kiosk.get("/pos/kiosk/").content.decode()

    refused = kiosk.post("/pos/kiosk/checkout/", DETAILS)

    assert refused.status_code == 422
    page = refused.content.decode()
    assert (
        f"Line 1 (2 x {ounce.name}) would bring non-concentrated cannabis to 57 g of the 28.5 g daily limit: "
        "28.5 g over." in page
    )
    nothing_written(package)
    assert not AuditRecord.objects.filter(action="pickup_order.placed").exists()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"phone": "555"}, "Enter a mobile phone number we can text"),
        ({"date_of_birth": "2010-01-01"}, "You must be 21 or older to order"),
        ({"date_of_birth": ""}, "This field is required"),
        ({"first_name": ""}, "This field is required"),
    ],
)
def test_bad_phone_or_age_is_refused_and_changes_nothing(kiosk, product, package, change, words):
    add(kiosk, product, 1)

    refused = kiosk.post("/pos/kiosk/checkout/", {**DETAILS, **change})

    assert refused.status_code == 400
    assert words in refused.content.decode()
    nothing_written(package)
    assert product.name in kiosk.get("/pos/kiosk/").content.decode()  # the cart is kept


def test_the_kiosk_reaches_its_own_pages_only(kiosk, organization, product, package):
    CustomerFactory(organization=organization, phone="+14155550134")
    add(kiosk, product, 1)
    kiosk.post("/pos/kiosk/checkout/", DETAILS)
    order = PickupOrder.objects.get()

    for path in [
        "/pos/pickups/",
        "/pos/lookup/?phone=4155550134",
        "/pos/register/",
        "/login/",
        "/admin/",
        "/",
    ]:
        response = kiosk.get(path)
        assert (response.status_code, response["Location"]) == (302, "/pos/kiosk/"), path
    assert kiosk.post(f"/pos/pickups/{order.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert kiosk.post("/pos/queue/check-in/", {"phone": "4155550134"}).status_code == 403
    assert PickupOrder.objects.get().status == "reserved"
    # Starting the kiosk again needs a signed-in staff member, which the tablet no longer is.
    assert kiosk.post("/pos/kiosk/start/").status_code == 302


def test_kiosk_pages_need_kiosk_mode_and_starting_it_needs_the_permission(
    client, store, organization, product
):
    assert client.get("/pos/kiosk/").status_code == 403
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])
    client.force_login(driver)
    assert client.post("/pos/kiosk/start/").status_code == 403
    assert "kiosk" not in client.session


def test_leaving_kiosk_mode_takes_a_staff_sign_in_and_the_budtender_sees_the_order(
    kiosk, store, organization, budtender, product, package
):
    add(kiosk, product, 1)
    kiosk.post("/pos/kiosk/checkout/", DETAILS)
    order = PickupOrder.objects.get()
    driver = UserFactory(organization=organization, roles=["driver"], stores=[store])

    wrong = kiosk.post("/pos/kiosk/exit/", {"username": budtender.username, "password": "guess"})
    not_staff = kiosk.post(
        "/pos/kiosk/exit/", {"username": driver.username, "password": "correct horse battery"}
    )
    assert (wrong.status_code, not_staff.status_code) == (400, 400)
    assert kiosk.get("/pos/pickups/")["Location"] == "/pos/kiosk/"

    left = kiosk.post(
        "/pos/kiosk/exit/", {"username": budtender.username, "password": "correct horse battery"}
    )

    assert (left.status_code, left["Location"]) == (302, "/pos/pickups/")
    queue = kiosk.get("/pos/pickups/")
    assert queue.status_code == 200
    page = queue.content.decode()
    assert f"#{order.pk}" in page and "At the kiosk · ID to check" in page
    assert kiosk.get("/pos/kiosk/").status_code == 403  # no longer a kiosk
