"""Events the core publishes."""

from dataclasses import dataclass

from dispensary.events import Event


@dataclass(frozen=True)
class CustomerCreated(Event):
    name = "customer.created"
    version = 1
    customer_id: int
    organization_id: int
    customer_type: str
    home_store_id: int | None = None


@dataclass(frozen=True)
class CustomerUpdated(Event):
    name = "customer.updated"
    version = 1
    customer_id: int
    organization_id: int
    changed_fields: list[str]
