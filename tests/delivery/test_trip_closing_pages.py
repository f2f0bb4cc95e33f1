# ruff: noqa: F811 - the fixtures imported are parameters of the tests
"""The trip return on the trip page: what is still pending shows and the trip cannot end; the store's managers
end it with the cash counted (over/short shown and kept); budtenders, the driver and another store's managers
get 403 and change nothing; a bad count changes nothing and says why."""

from decimal import Decimal as D

import pytest
from django.db import transaction
from django.test import Client

from delivery.models import Trip
from delivery.services_closing import trip_balance
from pos.models import DrawerSession
from tests.delivery.closing_fixtures import deliver_two_return_one, fresh, hand_over, road, road_stock  # noqa: F401
from tests.delivery.order_fixtures import now, product, zone  # noqa: F401 - fixtures
from tests.delivery.trip_fixtures import organization, simulator, store  # noqa: F401
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(trip, suffix=""):
    return f"/delivery/trips/{trip.pk}/{suffix}"


def test_a_pending_stop_shows_and_the_trip_cannot_end(store, manager, simulator, road):
    trip = road["trip"]
    alice, *_ = road["stops"]
    hand_over(road["driver"], alice, alice.order.order.estimated_total)
    text = signed_in(manager).get(url(trip)).content.decode()
    assert "Trip return" in text and "The trip cannot end yet" in text
    assert "Stop 2 (Bob) is still to deliver" in text and "Stop 3 (Cy) is still to deliver" in text
    assert 'type="submit" disabled>End trip' in text
    response = signed_in(manager).post(
        url(trip, "end/"), {"counted_cash": "10", "version": fresh(trip).version}
    )
    assert response.status_code == 302
    assert fresh(trip).status == "departed" and DrawerSession.objects.get().status == "open"


def test_only_the_stores_managers_end_the_trip(store, organization, manager, simulator, road):
    trip = road["trip"]
    deliver_two_return_one(road)
    other_store = StoreFactory(organization=organization)
    others = [
        UserFactory(organization=organization, roles=["budtender"], stores=[store]),
        UserFactory(organization=organization, roles=["manager"], stores=[other_store]),
        road["driver"],
    ]
    for user in others:
        response = signed_in(user).post(
            url(trip, "end/"), {"counted_cash": "0", "version": fresh(trip).version}
        )
        assert response.status_code == 403, user
    # The driver reads the page without the form.
    text = signed_in(road["driver"]).get(url(trip)).content.decode()
    assert "Trip return" in text and "End trip" not in text
    assert fresh(trip).status == "departed" and DrawerSession.objects.get().status == "open"

    client = signed_in(manager)
    bad = client.post(
        url(trip, "end/"), {"counted_cash": "lots", "version": fresh(trip).version}, follow=True
    )
    assert "Give an amount such as 200 or 35.50" in bad.content.decode()
    assert fresh(trip).status == "departed"

    expected = trip_balance(fresh(trip)).expected_cash
    response = client.post(
        url(trip, "end/"),
        {"counted_cash": str(expected - D("1")), "version": fresh(trip).version},
        follow=True,
    )
    text = response.content.decode()
    assert fresh(trip).status == Trip.Status.RETURNED
    assert f"Trip {trip.pk} ended" in text and "Short $1.00" in text
    assert f"${expected:.2f}" in text and "back in stock" in text
    # The stops and packages the trip carried include the stop brought back, marked as such.
    stops = fresh(trip).stops.count()
    assert f">{stops} stops</h2>" in text and 'badge--amber">Not delivered</span></p>' in text
    drawer = DrawerSession.objects.get()
    assert (drawer.status, drawer.over_short, drawer.closed_by_id) == ("closed", D("-1.00"), manager.pk)


def test_the_trip_return_reads_a_fixed_number_of_queries_however_many_stops_are_closed(
    store, manager, simulator, road
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    trip = road["trip"]
    alice, bob, cy = road["stops"]
    hand_over(road["driver"], alice, alice.order.order.estimated_total)
    loaded = Trip.objects.select_related("store").get(pk=trip.pk)
    with CaptureQueriesContext(connection) as one_closed:
        trip_balance(loaded)
    hand_over(road["driver"], bob, bob.order.order.estimated_total)
    hand_over(road["driver"], cy, cy.order.order.estimated_total)
    loaded = Trip.objects.select_related("store").get(pk=trip.pk)
    with CaptureQueriesContext(connection) as all_closed:
        balance = trip_balance(loaded)
    assert len(balance.delivered) == 3 and balance.problems == []
    assert len(all_closed.captured_queries) == len(one_closed.captured_queries) == 9


def end_form(text: str) -> dict:
    """The End trip form's hidden fields as the page rendered them."""
    import re

    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', text))
    return {name: value for name, value in fields.items() if name != "csrfmiddlewaretoken"}


def test_the_end_goes_through_when_only_the_states_answers_moved_the_trip_on(store, manager, simulator, road):
    """The state's answers about the door sales bump the trip's version after the manager opened the page: the
    count still ends the trip, since nothing the manager counted changed."""
    from delivery.services_trips import trip_state_settle

    trip = road["trip"]
    deliver_two_return_one(road)
    client = signed_in(manager)
    form = end_form(client.get(url(trip)).content.decode())
    assert set(form) == {"balance"}
    version = fresh(trip).version
    with transaction.atomic():  # as the sync queue records the state's answer
        trip_state_settle(trip_id=trip.pk, kind="retailer_delivery.sale", accepted=True, ids=[], message="")
    assert fresh(trip).version == version + 1
    expected = trip_balance(fresh(trip)).expected_cash
    response = client.post(url(trip, "end/"), {**form, "counted_cash": str(expected)}, follow=True)
    assert fresh(trip).status == Trip.Status.RETURNED
    assert "ended: the cash is counted" in response.content.decode()
    assert DrawerSession.objects.get().over_short == D("0")


def test_a_count_made_on_figures_that_changed_is_refused_with_the_fresh_form(store, manager, simulator, road):
    """The page was opened with a stop still to deliver; the stop closes before the count is sent: the figures
    the manager saw are not the trip's any more, so nothing changes and the page says so, with the fresh form."""
    trip = road["trip"]
    alice, bob, cy = road["stops"]
    hand_over(road["driver"], alice, alice.order.order.estimated_total + alice.order.fee)
    hand_over(road["driver"], bob, bob.order.order.estimated_total)
    client = signed_in(manager)
    seen = end_form(client.get(url(trip)).content.decode())
    hand_over(road["driver"], cy, cy.order.order.estimated_total)
    expected = trip_balance(fresh(trip)).expected_cash
    response = client.post(url(trip, "end/"), {**seen, "counted_cash": str(expected)}, follow=True)
    text = response.content.decode()
    assert fresh(trip).status == Trip.Status.DEPARTED
    assert DrawerSession.objects.get().status == "open"
    assert (
        "The trip changed since you opened the page (a stop, a package or the cash expected): check the figures "
        f"now shown and count again; the drawer should now hold ${expected:.2f}."
    ) in text
    fresh_form = end_form(text)
    assert fresh_form["balance"] != seen["balance"]
    client.post(url(trip, "end/"), {**fresh_form, "counted_cash": str(expected)})
    assert fresh(trip).status == Trip.Status.RETURNED
