import pytest

from tests.factories import StoreFactory, UserFactory
from tests.inventory.factories import ProductFactory


@pytest.fixture
def staff(organization, store):
    """A member of the organization with the given roles, working at the given stores."""

    def make(*roles, stores=None, **fields):
        return UserFactory(
            organization=organization,
            roles=list(roles),
            stores=[store] if stores is None else stores,
            **fields,
        )

    return make


@pytest.fixture
def login(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def sister_store(organization):
    """Another store of the same organization."""
    return StoreFactory(organization=organization, name="Sister Store")


@pytest.fixture
def product(organization):
    return ProductFactory(
        organization=organization, name="Blue Dream 3.5g", sku="FLW-BD35", category="flower"
    )


HTMX = {"HTTP_HX_REQUEST": "true"}
