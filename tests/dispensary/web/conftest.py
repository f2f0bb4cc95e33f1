import pytest

from dispensary.models import EventDelivery, OutboxEvent
from tests.factories import CustomerFactory, OrganizationFactory, StoreFactory, UserFactory


@pytest.fixture
def staff(organization, store):
    """Make a member of the organization with the given roles, working at the given stores."""

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
def other_store(db):
    return StoreFactory(organization=OrganizationFactory(), name="Elsewhere Store")


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
def dead_letter():
    def make(
        organization, *, error="RuntimeError: boom", handler="messaging.handlers.on_sale_completed_text"
    ):
        event = OutboxEvent.objects.create(
            name="sale.completed", organization=organization, payload={"sale_id": 1}
        )
        return EventDelivery.objects.create(
            event=event, handler=handler, status=EventDelivery.Status.DEAD, attempts=8, last_error=error
        )

    return make
