"""Callers of the API: staff with tokens, API clients with chosen scopes and stores, a second organization."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from dispensary.scopes import SCOPES
from dispensary.services import api_client_create, staff_token_create
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    # Throttle counters live in the cache; no test may inherit another's.
    cache.clear()
    yield
    cache.clear()


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def make_api_client(organization, store):
    """An API client of the organization with the given scopes (default all) and stores (default `store`)."""

    def make(*, scopes=tuple(SCOPES), stores=None, organization=organization):
        client, key = api_client_create(
            organization=organization,
            actor=None,
            name="Menu sync",
            scopes=scopes,
            stores=[store] if stores is None else stores,
        )
        return client, bearer(key)

    return make


@pytest.fixture
def staff_caller():
    """An APIClient authenticated with a fresh staff token of the given user."""

    def make(user, **kwargs):
        _, key = staff_token_create(user=user, name="tests", **kwargs)
        return bearer(key)

    return make


@pytest.fixture
def other_store(organization):
    return StoreFactory(organization=organization)


@pytest.fixture
def other_organization(db):
    return OrganizationFactory()


@pytest.fixture
def foreign_store(other_organization):
    return StoreFactory(organization=other_organization)


@pytest.fixture
def foreign_manager(other_organization, foreign_store):
    return UserFactory(organization=other_organization, roles=["manager"], stores=[foreign_store])


@pytest.fixture
def customer(organization, store):
    return CustomerFactory(
        organization=organization,
        phone="+14155550134",
        first_name="Ada",
        last_name="Lovelace",
        home_store=store,
    )


@pytest.fixture
def foreign_customer(other_organization):
    return CustomerFactory(
        organization=other_organization, phone="+14155550134", first_name="Eve", last_name="Other"
    )
