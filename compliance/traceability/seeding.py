"""Load the platform's packages into a Metrc simulator, as the state would know them."""

from decimal import Decimal

from django.db.models import Q, Sum

from compliance.traceability.metrc import STATE_QUANTITY_PLACES, metrc_unit
from compliance.traceability.simulator import MetrcSimulator
from dispensary.models import Store
from dispensary.units import quantity_convert
from inventory.models import Package, StockMovement


def store_licenses(store: Store) -> list[str]:
    """The store's Metrc facilities: its adult-use and medical licence numbers (one if they are the same)."""
    return list(
        dict.fromkeys(number for number in (store.license_adult_use, store.license_medical) if number)
    )


def state_package_fields(package: Package) -> dict:
    """seed_package() keywords for a platform package. The state's quantity is what was received, in the unit
    the state holds it in: every later sale, adjustment, waste and finishing reaches the state through the sync
    queue, which the simulator then applies."""
    received = package.movements.filter(kind=StockMovement.Kind.RECEIVED).aggregate(total=Sum("quantity"))[
        "total"
    ]
    quantity = received if received is not None else package.quantity_on_hand
    state_unit = package.state_unit or package.unit
    if state_unit != package.unit:  # the state holds it in the manifest's unit (pounds, ounces)
        quantity = quantity_convert(quantity, package.unit, state_unit, places=STATE_QUANTITY_PLACES)
    if package.product.category == "accessory":
        lab_state = "NotRequired"
    else:
        lab_state = {
            Package.LabStatus.PASSED: "TestPassed",
            Package.LabStatus.FAILED: "TestFailed",
        }.get(package.lab_status, "TestPending")
    return {
        "quantity": Decimal(quantity),
        "unit": metrc_unit(state_unit),
        "item": package.product.name,
        "item_category": package.product.category,
        "lab_testing_state": lab_state,
        "on_hold": package.status in (Package.Status.ON_HOLD, Package.Status.RECALLED),
        # As received: its finishing, like every sale and adjustment after, reaches the state through the queue.
        "finished": False,
    }


def simulator_seed_store(simulator: MetrcSimulator, store: Store, *, user_keys: tuple[str, ...] = ()) -> int:
    """Register the store's licences with the simulator and load its packages; answers the packages loaded."""
    licenses = store_licenses(store)
    for number in licenses:
        simulator.add_facility(number, jurisdiction=store.jurisdiction, name=store.name, user_keys=user_keys)
    for number in licenses[1:]:  # the platform keeps one inventory per store: its licences share it
        simulator.share_packages(number, licenses[0])
    loaded = 0
    for package in Package.objects.filter(store=store).select_related("product").order_by("tag"):
        for number in licenses:
            if simulator.package(number, package.tag) is None:
                simulator.seed_package(number, package.tag, **state_package_fields(package))
                loaded += 1
    return loaded


def database_package_source(license_number: str, label: str) -> dict | None:
    """For MetrcSimulator.package_source: a package received after the store was loaded."""
    package = (
        Package.objects.filter(tag=label)
        .filter(Q(store__license_adult_use=license_number) | Q(store__license_medical=license_number))
        .select_related("product")
        .order_by("pk")
        .first()
    )
    return None if package is None else state_package_fields(package)
