"""The driver's start page: drivers and managers only, their stores with today's hours."""

import datetime as dt

import pytest

from tests.factories import StoreFactory


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/delivery/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/delivery/"


@pytest.mark.parametrize("role", ["budtender", "compliance_officer", "inventory_manager"])
def test_other_roles_get_403(client, login, staff, role):
    login(staff(role))
    assert client.get("/delivery/").status_code == 403


@pytest.mark.parametrize("role", ["driver", "manager", "owner"])
def test_drivers_and_managers_see_it(client, login, staff, role):
    login(staff(role))
    assert client.get("/delivery/").status_code == 200


def test_lists_the_drivers_stores_with_hours_and_phone(client, login, staff, organization, store, clock):
    store.phone = "+14155550100"
    store.opening_hours = {"sat": [["09:00", "21:00"]]}
    store.save()
    night = StoreFactory(organization=organization, name="Night Store", time_zone="America/New_York")
    night.opening_hours = {"sat": [["09:00", "21:00"]], "sun": [["10:00", "18:00"]]}
    night.save()
    StoreFactory(organization=organization, name="Not granted")
    # Saturday 20:30 in Los Angeles is Saturday 23:30 in New York.
    clock.move_to(dt.datetime(2026, 11, 22, 4, 30, tzinfo=dt.UTC))
    login(staff("driver", stores=[store, night]))
    response = client.get("/delivery/")
    stores = {today.store.name: today for today in response.context["stores"]}
    assert set(stores) == {store.name, "Night Store"}
    assert stores[store.name].is_open is True
    assert stores["Night Store"].is_open is False
    content = response.content.decode()
    assert 'href="tel:+14155550100"' in content
    assert "9:00 AM – 9:00 PM" in content
    assert "8:30 PM local" in content
    assert "11:30 PM local" in content
    assert "Not granted" not in content
