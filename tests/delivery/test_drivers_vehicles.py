"""Driver profiles and vehicles: an employee with the driver role only, licence and phone normalized, the
licence masked in the audit log; plates normalized and unique per organization; bad input changes nothing."""

import datetime as dt

import pytest

from delivery.fleet import driver_profile_create, driver_profile_update, plate_normalize, vehicle_create
from delivery.models import DriverProfile, Vehicle
from dispensary.errors import ValidationFailed
from dispensary.models import AuditRecord
from tests.delivery.fleet import make_driver, make_vehicle
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def profile_values(**overrides):
    return {
        "licence_number": "d123-4567",
        "licence_region": "ca",
        "licence_expires": dt.date(2030, 1, 31),
        "date_of_birth": dt.date(1990, 5, 17),
        "phone": "415.555.0134",
        **overrides,
    }


def test_profile_for_an_employee_with_the_driver_role(organization, store):
    member = UserFactory(organization=organization, roles=["driver"], stores=[store], first_name="Dana")
    profile = driver_profile_create(organization=organization, actor=None, user=member, **profile_values())
    assert (profile.licence_number, profile.licence_region, profile.phone) == (
        "D1234567",
        "CA",
        "+14155550134",
    )
    assert profile.licence_masked == "•••567"
    record = AuditRecord.objects.get(action="driver.created")
    assert record.after["licence_number"] == "•••567"
    assert "D1234567" not in str(record.after)


def test_profile_refused_without_the_role_or_for_another_organization(organization, store, budtender):
    with pytest.raises(ValidationFailed, match="does not have the driver role"):
        driver_profile_create(organization=organization, actor=None, user=budtender, **profile_values())
    outsider = UserFactory(organization=OrganizationFactory(), roles=["driver"])
    with pytest.raises(ValidationFailed, match="not an employee"):
        driver_profile_create(organization=organization, actor=None, user=outsider, **profile_values())
    assert not DriverProfile.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("licence_number", "x", "4 to 30 letters and digits"),
        ("licence_region", "California", "two letters"),
        ("phone", "12", "not a valid phone number"),
        ("date_of_birth", dt.date(1890, 1, 1), "check the year"),
        ("licence_expires", dt.date(9999, 12, 31), "not a licence's"),
    ],
)
def test_bad_profile_input_is_refused(organization, store, field, value, message):
    member = UserFactory(organization=organization, roles=["driver"], stores=[store])
    with pytest.raises(ValidationFailed, match=message) as refused:
        driver_profile_create(
            organization=organization, actor=None, user=member, **profile_values(**{field: value})
        )
    assert field in refused.value.details
    assert not DriverProfile.objects.exists()


def test_one_profile_per_employee_and_update(organization, store):
    profile = make_driver(store)
    with pytest.raises(ValidationFailed, match="already has a driver profile"):
        driver_profile_create(organization=organization, actor=None, user=profile.user, **profile_values())
    driver_profile_update(
        profile=profile, actor=None, is_active=False, **profile_values(licence_number="Z9999999")
    )
    profile.refresh_from_db()
    assert (profile.licence_number, profile.is_active) == ("Z9999999", False)
    record = AuditRecord.objects.get(action="driver.updated")
    assert (record.before["licence_number"], record.after["licence_number"]) == ("•••567", "•••999")


def test_plates_are_normalized_and_unique_per_organization(organization, store):
    assert plate_normalize(" 7abc-123 ") == "7ABC123"
    vehicle = make_vehicle(store, plate="7abc 123")
    assert vehicle.plate == "7ABC123"
    other_store = StoreFactory(organization=organization)
    with pytest.raises(ValidationFailed, match="Another vehicle of the organization has the plate 7ABC123"):
        make_vehicle(other_store, plate="7ABC-123")
    # Another organization may have the same plate (another state's plate, say).
    make_vehicle(StoreFactory(), plate="7ABC123")
    assert Vehicle.objects.filter(plate="7ABC123").count() == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("capacity", 0, "1 to 200"),
        ("year", 1950, "model year"),
        ("vin", "123", "17 letters and digits"),
        ("vin", "1HGCM82633A00435O", "never I, O or Q"),
        ("plate", "!", "2 to 10 letters"),
        ("make", "", "Give the make"),
    ],
)
def test_bad_vehicle_input_is_refused(store, field, value, message):
    values = {
        "make": "Kia",
        "model": "Niro",
        "year": 2022,
        "colour": "Blue",
        "plate": "8XYZ123",
        "capacity": 8,
    }
    values[field] = value
    with pytest.raises(ValidationFailed, match=message):
        vehicle_create(store=store, actor=None, **values)
    assert not Vehicle.objects.exists()


def test_vehicle_with_vin(store):
    vehicle = vehicle_create(
        store=store,
        actor=None,
        make="Honda",
        model="Accord",
        year=2019,
        colour="Grey",
        plate="6TRJ244",
        vin="1hgcm82633a004352",
        capacity=10,
    )
    assert vehicle.vin == "1HGCM82633A004352"
    assert AuditRecord.objects.filter(action="vehicle.created", object_id=str(vehicle.pk)).exists()
