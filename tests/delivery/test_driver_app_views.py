# ruff: noqa: F811 - the fixtures imported from order_fixtures and driver_fixtures are parameters of the tests
"""The driver app's pages and endpoints: only the signed-in driver's trips (404 for anyone else's), the sync
endpoint's answers and CSRF, the service worker and manifest."""

import json
import uuid

import pytest
from django.test import Client

from delivery.models import DriverAction
from pos.models import Sale
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    customer,
    now,
    package,
    product,
    zone,
)
from tests.factories import StoreFactory, UserFactory


def client_for(user, *, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def sync(client, *actions, **headers):
    return client.post(
        "/delivery/driver/sync/",
        json.dumps({"actions": list(actions)}),
        content_type="application/json",
        **headers,
    )


def test_the_driver_opens_the_app_and_downloads_their_trip(route):
    client = client_for(route["dana"].user)
    page = client.get("/delivery/driver/")
    assert page.status_code == 200
    assert b"data-driver-app" in page.content and b"/delivery/driver/sw.js" in page.content
    today = client.get("/delivery/driver/today.json").json()
    assert [trip["id"] for trip in today["trips"]] == [route["trip"].pk]
    assert b'href="/delivery/driver/"' in client.get("/delivery/").content  # the shift card links to the app
    one = client.get(f"/delivery/driver/trips/{route['trip'].pk}.json")
    assert one.json()["trips"][0]["stops"][0]["customer"] == "Ada L."


def test_another_drivers_trip_and_stops_are_not_found(route, budtender, manager, store):
    other_store = StoreFactory(organization=store.organization)
    elsewhere = UserFactory(organization=store.organization, roles=["manager"], stores=[other_store])
    trip = route["trip"]
    stop = trip.stops.first()
    for user in (route["eve"].user, budtender, manager, elsewhere):
        client = client_for(user)
        assert client.get(f"/delivery/driver/trips/{trip.pk}.json").status_code == 404
        answer = sync(client, {"key": str(uuid.uuid4()), "kind": "arrived", "stop_id": stop.pk})
        assert answer.status_code == 404 or answer.json()["results"][0]["status"] == 404
    # Eve's own list shows her trip only; members without a driver's profile have no app.
    assert [
        t["id"] for t in client_for(route["eve"].user).get("/delivery/driver/today.json").json()["trips"]
    ] == [route["other"].pk]
    assert client_for(budtender).get("/delivery/driver/").status_code == 403
    assert client_for(budtender).get("/delivery/driver/today.json").status_code == 403
    assert DriverAction.objects.count() == 0


def test_signed_out_is_sent_to_sign_in(route):
    assert Client().get("/delivery/driver/today.json").status_code == 302
    assert Client().post("/delivery/driver/sync/", "{}", content_type="application/json").status_code == 302


def test_sync_needs_the_csrf_token_the_page_gave(route):
    client = client_for(route["dana"].user, csrf=True)
    page = client.get("/delivery/driver/")
    token = page.content.decode().split('data-csrf="')[1].split('"')[0]
    stop = route["trip"].stops.first()
    action = {"key": str(uuid.uuid4()), "kind": "arrived", "stop_id": stop.pk}
    assert sync(client, action).status_code == 403
    answer = sync(client, action, HTTP_X_CSRFTOKEN=token)
    again = sync(client, action, HTTP_X_CSRFTOKEN=token)
    assert answer.json()["results"][0]["outcome"] == "applied"
    assert again.json()["results"][0]["replayed"] is True
    assert DriverAction.objects.count() == 1


def test_sync_answers_each_action_in_order(route):
    client = client_for(route["dana"].user)
    first = route["trip"].stops.first()
    results = sync(
        client,
        {"key": str(uuid.uuid4()), "kind": "arrived", "stop_id": first.pk},
        {
            "key": str(uuid.uuid4()),
            "kind": "id_checked",
            "stop_id": first.pk,
            "payload": {"date_of_birth": "1990-05-17", "expires_on": "2030-01-01"},
        },
        {
            "key": str(uuid.uuid4()),
            "kind": "proof",
            "stop_id": first.pk,
            "payload": {"no_signature_reason": "Refused to sign"},
        },
        {
            "key": str(uuid.uuid4()),
            "kind": "delivered",
            "stop_id": first.pk,
            "payload": {"collected": "55.01"},
        },
        {"key": "nope", "kind": "arrived", "stop_id": first.pk},
    ).json()["results"]
    assert [(r["status"], r["outcome"]) for r in results] == [
        (200, "applied"),
        (200, "applied"),
        (200, "applied"),
        (200, "applied"),
        (400, "invalid"),
    ]
    assert Sale.objects.count() == 1


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"actions": "x"}'])
def test_sync_refuses_bad_bodies(route, body):
    answer = client_for(route["dana"].user).post(
        "/delivery/driver/sync/", body, content_type="application/json"
    )
    assert answer.status_code == 400
    assert DriverAction.objects.count() == 0


def test_the_service_worker_and_manifest(route):
    client = Client()
    worker = client.get("/delivery/driver/sw.js")
    assert worker["Content-Type"] == "application/javascript"
    assert b"workbox-7.4.1/workbox-routing.prod.js" in worker.content
    manifest = json.loads(client.get("/delivery/driver/manifest.webmanifest").content)
    assert (manifest["start_url"], manifest["display"]) == ("/delivery/driver/", "standalone")


def test_the_trips_json_costs_the_same_queries_for_one_stop_or_three(route):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for driver in ("eve", "dana"):  # Eve's trip has one stop, Dana's three
        client = client_for(route[driver].user)
        client.get("/delivery/driver/today.json")  # the session's first request loads the member's roles
        with CaptureQueriesContext(connection) as queries:
            stops = client.get("/delivery/driver/today.json").json()["trips"][0]["stops"]
        counts.append((len(stops), len(queries)))
    assert [n for n, _ in counts] == [1, 3]
    assert counts[0][1] == counts[1][1]
    assert counts[1][1] <= 12
