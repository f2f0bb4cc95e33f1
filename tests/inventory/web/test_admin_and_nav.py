"""The Django admin for inventory (movements read-only, never deleted) and the Inventory entry of the top bar."""

import pytest
from django.contrib import admin

from inventory.models import Package, StockMovement
from tests.factories import UserFactory
from tests.inventory.factories import receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(organization, store):
    return UserFactory(organization=organization, is_staff=True, is_superuser=True, stores=[store])


def test_admin_lists_every_inventory_model(client, superuser, store, product):
    package = receive(store, product, 3)
    client.force_login(superuser)
    for model in (
        "product",
        "package",
        "stockmovement",
        "incomingtransfer",
        "receivingdiscrepancy",
        "wasterecord",
        "inventorycount",
        "recall",
    ):
        assert client.get(f"/admin/inventory/{model}/").status_code == 200, model
    assert client.get(f"/admin/inventory/package/{package.pk}/change/").status_code == 200


def test_movements_are_read_only_in_the_admin(client, superuser, store, product, rf):
    package = receive(store, product, 3)
    movement = StockMovement.objects.get(package=package)
    model_admin = admin.site._registry[StockMovement]
    request = rf.get("/admin/")
    request.user = superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, movement)
    assert not model_admin.has_delete_permission(request, movement)
    client.force_login(superuser)
    assert (
        client.post(f"/admin/inventory/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert StockMovement.objects.filter(pk=movement.pk).exists()
    package_admin = admin.site._registry[Package]
    assert not package_admin.has_delete_permission(request, package)
    assert "quantity_on_hand" in package_admin.readonly_fields


@pytest.mark.parametrize(
    ("role", "page", "shown"),
    [
        ("budtender", "/customers/", True),
        ("inventory_manager", "/inventory/", True),
        ("driver", "/delivery/", False),
    ],
)
def test_inventory_nav_entry_follows_view_package(client, login, staff, role, page, shown):
    content = login(staff(role)).get(page).content.decode()
    assert ('class="nav__link is-active" href="/inventory/"' in content) is (page == "/inventory/")
    assert ('href="/inventory/"' in content) is shown
