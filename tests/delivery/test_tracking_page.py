# ruff: noqa: F811 - the fixtures imported from the delivery and messaging tests are parameters of the tests
"""The customer's tracking page, by its unguessable link: the order's status in plain words, the window, the
ETA, and the driver's position only while the driver is on the way to this customer (their stop is the next on
a trip on the road): none before, none after, none while the driver serves someone else. A guessed token is a
404; the page shows no other customer; noindex, no-store; the refresh endpoint reads a bounded number of rows."""

import uuid

import pytest

from delivery.models import TripStop
from delivery.tracking_links import tracking_token, tracking_token_order_id
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import local, now, package, product, zone  # noqa: F401 - fixtures
from tests.delivery.test_driver_app import GOOD_ID, PROOF, send
from tests.messaging.delivery_helpers import green_leaf, outboxes, road  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def page(client, delivery_order_id=None, token=None):
    return client.get(f"/delivery/t/{token or tracking_token(delivery_order_id)}/")


def status(client, delivery_order_id=None, token=None):
    return client.get(f"/delivery/t/{token or tracking_token(delivery_order_id)}/status.json")


def stops_of(road):
    return list(road["trip"].stops.select_related("order").order_by("sequence"))


def drive_to(road, clock, minute=5):
    """On the road at 13:30, the phone's position a few minutes later between the store and Ada."""
    clock.move_to(local(13, 30))
    road["depart"](local(13, 30))
    clock.move_to(local(13, 30 + minute))
    send(road["dana"].user, "position", trip=road["trip"], latitude="37.755", longitude="-122.440")


def test_a_token_is_long_and_only_ours_opens_the_page(road, client):
    first = stops_of(road)[0].order
    token = tracking_token(first.pk)
    assert len(token.partition("-")[2]) == 24 and tracking_token_order_id(token) == first.pk
    answer = page(client, first.pk)
    assert answer.status_code == 200
    assert answer["X-Robots-Tag"].startswith("noindex") and "no-store" in answer["Cache-Control"]
    assert b'<meta name="robots" content="noindex' in answer.content
    number, _, mac = token.partition("-")
    other = stops_of(road)[1].order
    for wrong in (
        f"{other.pk}-{mac}",  # another order with this order's code
        f"{number}-{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # one character changed
        f"{number}-{'A' * 24}",
        number,
        "x" * 40,
        f"{10**30}-{mac}",
    ):
        assert page(client, token=wrong).status_code == 404, wrong
        assert status(client, token=wrong).status_code == 404, wrong
    assert b"not valid" in page(client, token=f"{other.pk}-{mac}").content


def test_before_departure_the_window_and_the_plan_but_no_position(road, client):
    first = stops_of(road)[0].order
    body = status(client, first.pk).json()
    assert body["status"] == "scheduled" and body["position"] is None and body["destination"] is None
    assert body["eta_text"] == "Planned around 2:00 PM"
    html = page(client, first.pk).content.decode()
    assert "Tuesday, March 10, 2:00 PM – 4:00 PM" in html
    assert "Green Leaf" in html and "Scheduled" in html
    assert "37.75" not in html  # no coordinates at all


def test_the_position_only_while_the_driver_is_on_the_way_to_this_customer(road, client, clock):
    first, second, third = stops_of(road)
    drive_to(road, clock)
    ada = status(client, first.order_id).json()
    assert ada["status"] == "on_the_way" and ada["driver_first_name"] == "Dana"
    assert (ada["position"]["latitude"], ada["position"]["longitude"]) == (37.755, -122.44)
    assert ada["destination"] == {
        "latitude": float(first.order.latitude),
        "longitude": float(first.order.longitude),
    }
    assert ada["eta_text"].startswith("Expected around ")
    # Bob and Cy: the driver is serving someone else first; no position, and nothing of anyone else.
    for stop, before in ((second, 1), (third, 2)):
        other = status(client, stop.order_id).json()
        assert other["status"] == "on_the_road" and other["position"] is None and other["destination"] is None
        assert f"{before} stop" in other["detail"]
        html = page(client, stop.order_id).content.decode()
        assert "37.755" not in html and "-122.44" not in html
        for person, _ in road["people"]:
            assert person.first_name not in html and person.last_name not in html
        assert "Market St" not in html
    # Ada's stop delivered: her page shows the receipt and no position; Bob's driver is now on the way to him.
    clock.move_to(local(14, 5))
    dana = road["dana"].user
    send(dana, "arrived", first)
    send(dana, "id_checked", first, **GOOD_ID)
    send(dana, "proof", first, **PROOF)
    send(dana, "delivered", first, collected="60.00")
    ada = status(client, first.order_id).json()
    assert ada["status"] == "delivered" and ada["position"] is None and ada["driver_first_name"] == ""
    html = page(client, first.order_id).content.decode()
    assert "Receipt " in html and "37.755" not in html and "Delivered" in html
    bob = status(client, second.order_id).json()
    assert bob["status"] == "on_the_way" and bob["position"] is not None
    # Bob not delivered: no position for him either, the reason and what happens next in plain words.
    send(dana, "arrived", second)
    send(dana, "returned", second, reason="nobody_home")
    bob = status(client, second.order_id).json()
    assert (bob["status"], bob["position"], bob["headline"]) == ("returned", None, "Not delivered")
    assert bob["detail"] == (
        "We could not deliver your order: nobody was home when the driver came. The goods go back to the store "
        "and you were not charged. You are welcome to order again."
    )


def test_the_refresh_reads_a_bounded_number_of_rows(road, client, clock, django_assert_num_queries):
    first, second, _ = stops_of(road)
    drive_to(road, clock)
    # The order, its stop with the trip and driver, the latest position, the remaining stops (the estimate
    # itself is kept 20 s for the trip's other customers).
    for stop in (first, second, first):
        with django_assert_num_queries(4):
            assert status(client, stop.order_id).status_code == 200
    clock.move_to(local(14, 5))
    dana = road["dana"].user
    send(dana, "arrived", first)
    send(dana, "id_checked", first, **GOOD_ID)
    send(dana, "proof", first, **PROOF)
    send(dana, "delivered", first, collected="60.00")
    with django_assert_num_queries(8):  # the order, its stop, and the receipt's six
        assert page(client, first.order_id).status_code == 200


def test_the_link_expires_a_week_after_the_window(road, client, clock):
    first = stops_of(road)[0].order
    clock.move_to(local(16, day=17))
    assert status(client, first.pk).status_code == 200
    clock.move_to(local(16, 1, day=17))
    assert status(client, first.pk).status_code == 404


def test_too_many_requests_from_one_address_are_refused(road, client, settings):
    settings.DELIVERY_TRACKING_RATE_PER_MINUTE = 3
    first = stops_of(road)[0].order
    codes = [status(client, first.pk).status_code for _ in range(3)]
    codes.append(status(client, token=f"{first.pk}-{uuid.uuid4().hex[:24]}").status_code)
    assert codes == [200, 200, 200, 429]


def test_a_cancelled_order_says_so(road, client):
    first = stops_of(road)[0]
    TripStop.objects.filter(pk=first.pk).delete()
    first.order.order.status = "cancelled"
    first.order.order.save(update_fields=["status"])
    body = status(client, first.order_id).json()
    assert (body["status"], body["position"]) == ("cancelled", None)
