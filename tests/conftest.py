import pytest

import tests.dispensary.outbox_handlers  # noqa: F401 - registers the probe handlers
from tests.factories import OrganizationFactory, StoreFactory, UserFactory


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def store(organization):
    return StoreFactory(organization=organization)


@pytest.fixture
def manager(organization, store):
    return UserFactory(organization=organization, roles=["manager"], stores=[store])


@pytest.fixture
def budtender(organization, store):
    return UserFactory(organization=organization, roles=["budtender"], stores=[store])
