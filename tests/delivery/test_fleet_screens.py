"""The drivers, vehicles and shifts screens: owners and managers of that store only (object-level), the
licence number masked in the list and shown in full only on a manager's opening of the driver, each opening
logged; shifts planned, edited and cancelled from the day view; a driver sees and clocks only their own shift
(another driver's is 403 and unchanged); bounded queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from delivery.models import DriverProfile, DriverShift, Vehicle
from dispensary.models import AuditRecord
from tests.delivery.fleet import local, make_driver, make_shift, make_vehicle
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 10)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(store, suffix):
    return f"/delivery/fleet/stores/{store.pk}/{suffix}"


@pytest.fixture
def dana(store):
    return make_driver(store, username="dana", first_name="Dana", last_name="Cruz", licence="D7654321")


def test_only_owners_and_managers_of_that_store(organization, store, manager, budtender, dana):
    vehicle = make_vehicle(store)
    shift = make_shift(store, dana, vehicle, DAY)
    elsewhere = UserFactory(
        organization=organization, roles=["manager"], stores=[StoreFactory(organization=organization)]
    )
    stranger_org = OrganizationFactory()
    stranger = UserFactory(
        organization=stranger_org, roles=["manager"], stores=[StoreFactory(organization=stranger_org)]
    )
    owner = UserFactory(organization=organization, roles=["owner"], stores=[store])
    addresses = [
        "drivers/",
        f"drivers/{dana.pk}/",
        "vehicles/",
        f"vehicles/{vehicle.pk}/",
        "shifts/",
        f"shifts/{shift.pk}/",
    ]
    for address in addresses:
        assert signed_in(manager).get(page(store, address)).status_code == 200, address
        assert signed_in(owner).get(page(store, address)).status_code == 200, address
        for user in (elsewhere, budtender, dana.user, stranger):
            assert signed_in(user).get(page(store, address)).status_code == 403, (address, user)
    for user in (elsewhere, budtender, dana.user, stranger):
        client = signed_in(user)
        assert client.post(page(store, f"shifts/{shift.pk}/cancel/")).status_code == 403
        assert client.post(page(store, "vehicles/"), {"make": "X"}).status_code == 403
    shift.refresh_from_db()
    assert shift.cancelled_at is None
    assert Vehicle.objects.count() == 1


def test_licence_masked_in_the_list_full_for_a_manager_and_each_read_logged(store, manager, dana):
    client = signed_in(manager)
    listing = client.get(page(store, "drivers/")).content.decode()
    assert "•••321" in listing and "D7654321" not in listing
    assert not AuditRecord.objects.filter(action="driver.licence_viewed").exists()
    opened = client.get(page(store, f"drivers/{dana.pk}/")).content.decode()
    assert 'value="D7654321"' in opened
    client.get(page(store, f"drivers/{dana.pk}/"))
    reads = AuditRecord.objects.filter(action="driver.licence_viewed", object_id=str(dana.pk))
    assert reads.count() == 2
    assert {(read.actor_id, read.store_id) for read in reads} == {(manager.pk, store.pk)}


def test_driver_added_and_edited_from_the_screen(organization, store, manager):
    member = UserFactory(
        organization=organization, roles=["driver"], stores=[store], first_name="Eli", last_name="Ford"
    )
    client = signed_in(manager)
    values = {
        "user": member.pk,
        "licence_number": "E1112223",
        "licence_region": "CA",
        "licence_expires": "2030-01-01",
        "date_of_birth": "1999-02-03",
        "phone": "415 555 0177",
        "is_active": "on",
    }
    bad = client.post(page(store, "drivers/"), {**values, "phone": "12"})
    assert bad.status_code == 400 and "is not a valid phone number" in bad.content.decode()
    assert not DriverProfile.objects.exists()
    assert client.post(page(store, "drivers/"), values).status_code == 302
    profile = DriverProfile.objects.get()
    assert (profile.user, profile.phone) == (member, "+14155550177")
    del values["user"]
    saved = client.post(page(store, f"drivers/{profile.pk}/"), {**values, "licence_number": "E9998887"})
    assert saved.status_code == 302
    profile.refresh_from_db()
    assert (profile.licence_number, profile.is_active) == ("E9998887", True)


def test_vehicle_added_with_a_taken_plate_refused(store, manager):
    make_vehicle(store, plate="8ABC123")
    client = signed_in(manager)
    values = {
        "make": "Kia",
        "model": "Niro",
        "year": "2022",
        "colour": "Blue",
        "plate": "8abc-123",
        "capacity": "8",
    }
    refused = client.post(page(store, "vehicles/"), values)
    assert refused.status_code == 400
    assert "Another vehicle of the organization has the plate 8ABC123." in refused.content.decode()
    assert client.post(page(store, "vehicles/"), {**values, "plate": "8KIA222"}).status_code == 302
    assert sorted(Vehicle.objects.values_list("plate", flat=True)) == ["8ABC123", "8KIA222"]


def test_shift_planned_edited_and_cancelled_from_the_day_view(clock, store, manager, dana):
    clock.move_to(local(store, DAY, 8))
    vehicle = make_vehicle(store)
    client = signed_in(manager)
    form = {"driver": dana.pk, "vehicle": vehicle.pk, "day": "2026-06-10", "start": "10:00", "end": "18:00"}
    assert client.post(page(store, "shifts/"), form).status_code == 302
    shift = DriverShift.objects.get()
    assert (shift.starts_at, shift.ends_at, shift.all_zones) == (
        local(store, DAY, 10),
        local(store, DAY, 18),
        True,
    )
    day_view = client.get(page(store, "shifts/?day=2026-06-10")).content.decode()
    assert "Dana Cruz" in day_view and "10:00 AM – 6:00 PM" in day_view and "8ABC123" in day_view
    # A second shift for the same vehicle is refused with the reason, and nothing is written.
    other = make_driver(store, first_name="Eli", last_name="Ford")
    clash = client.post(
        page(store, "shifts/"), {**form, "driver": other.pk, "start": "17:00", "end": "22:00"}
    )
    assert clash.status_code == 400
    assert "is already assigned to Dana Cruz from 10:00 AM to 6:00 PM." in clash.content.decode()
    assert DriverShift.objects.count() == 1
    # An end before the start is the next morning.
    overnight = {**form, "driver": other.pk, "vehicle": "", "start": "20:00", "end": "02:00"}
    assert client.post(page(store, "shifts/"), overnight).status_code == 302
    late = DriverShift.objects.get(driver=other)
    assert late.ends_at == local(store, DAY + dt.timedelta(days=1), 2)
    edited = client.post(
        page(store, f"shifts/{shift.pk}/"),
        {"vehicle": vehicle.pk, "day": "2026-06-10", "start": "11:00", "end": "19:00"},
    )
    assert edited.status_code == 302
    shift.refresh_from_db()
    assert shift.starts_at == local(store, DAY, 11)
    assert client.post(page(store, f"shifts/{shift.pk}/cancel/")).status_code == 302
    shift.refresh_from_db()
    assert shift.status == "cancelled"


def test_a_driver_sees_and_clocks_only_their_own_shift(clock, organization, store, manager, dana):
    eli = make_driver(store, username="eli", first_name="Eli", last_name="Ford")
    mine = make_shift(store, dana, make_vehicle(store), DAY, 10, 18)
    theirs = make_shift(store, eli, make_vehicle(store, plate="8XYZ999"), DAY, 10, 18)
    clock.move_to(local(store, DAY, 9, 50))
    client = signed_in(dana.user)
    home = client.get("/delivery/").content.decode()
    assert f'data-my-shift="{mine.pk}"' in home and f'data-my-shift="{theirs.pk}"' not in home
    assert "8XYZ999" not in home and "Eli Ford" not in home
    assert client.post(f"/delivery/shifts/{theirs.pk}/clock-in/").status_code == 403
    assert client.post(f"/delivery/shifts/{theirs.pk}/clock-out/").status_code == 403
    theirs.refresh_from_db()
    assert theirs.clocked_in_at is None
    clocked = client.post(f"/delivery/shifts/{mine.pk}/clock-in/", follow=True)
    assert "You clocked in at 9:50 AM." in clocked.content.decode()
    mine.refresh_from_db()
    assert (mine.clocked_in_at, mine.clocked_in_by) == (local(store, DAY, 9, 50), dana.user)
    again = client.post(f"/delivery/shifts/{mine.pk}/clock-in/", follow=True)
    assert "Already clocked in at 9:50 AM." in again.content.decode()
    # A manager of the store clocks a driver out; a manager of another organization may not.
    stranger_org = OrganizationFactory()
    stranger = UserFactory(
        organization=stranger_org, roles=["manager"], stores=[StoreFactory(organization=stranger_org)]
    )
    assert signed_in(stranger).post(f"/delivery/shifts/{mine.pk}/clock-out/").status_code == 403
    clock.move_to(local(store, DAY, 18, 2))
    assert signed_in(manager).post(f"/delivery/shifts/{mine.pk}/clock-out/").status_code == 302
    mine.refresh_from_db()
    assert (mine.clocked_out_at, mine.clocked_out_by) == (local(store, DAY, 18, 2), manager)


def test_day_view_reads_a_bounded_number_of_queries(clock, store, manager):
    clock.move_to(local(store, DAY, 8))
    client = signed_in(manager)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page(store, "shifts/?day=2026-06-10")).status_code == 200
        return len(queries)

    make_shift(store, make_driver(store), make_vehicle(store, plate="1AAA001"), DAY)
    few = count()
    for index in range(5):
        make_shift(store, make_driver(store), make_vehicle(store, plate=f"2BBB{index:03}"), DAY)
    assert count() == few


def test_a_far_off_day_shows_today_and_a_far_off_shift_is_refused(clock, store, manager, dana):
    clock.move_to(local(store, DAY, 8))
    client = signed_in(manager)
    shown = client.get(page(store, "shifts/?day=9999-12-31"))
    assert shown.status_code == 200 and shown.context["day"] == DAY
    form = {"driver": dana.pk, "day": "9999-12-31", "start": "20:00", "end": "02:00"}
    refused = client.post(page(store, "shifts/"), form)
    assert refused.status_code == 400
    assert refused.context["form"].errors["day"] == ["Give a date between 1900 and 2199."]
    refused = client.post(page(store, "shifts/"), {**form, "day": "2150-01-01"})
    assert "Choose a day between the years 2000 and 2100." in refused.content.decode()
    assert not DriverShift.objects.exists()


@pytest.mark.parametrize("listing", ["drivers/", "vehicles/"])
def test_driver_and_vehicle_lists_read_a_bounded_number_of_queries(store, manager, listing):
    client = signed_in(manager)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page(store, listing)).status_code == 200
        return len(queries)

    make_driver(store)
    make_vehicle(store, plate="1AAA001")
    few = count()
    for index in range(5):
        make_driver(store)
        make_vehicle(store, plate=f"2BBB{index:03}")
    assert count() == few
