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


@dataclass(frozen=True)
class SmsConsentConfirmationRequested(Event):
    """A grant of marketing texts waits for the customer's YES (double opt-in): messaging asks for it, once per
    grant."""

    name = "customer.sms_consent_confirmation_requested"
    version = 1
    customer_id: int
    organization_id: int
    consent_id: int
    store_id: int | None = None


@dataclass(frozen=True)
class MarketingConsentRecorded(Event):
    """A row was added to the consent ledger (a grant, a revocation or a confirmation by reply). Consumers read
    the current state from the ledger (messaging.consent): deliveries may arrive late or out of order."""

    name = "customer.marketing_consent_recorded"
    version = 1
    customer_id: int
    organization_id: int
    consent_id: int
    channel: str  # "sms" or "email"
    purpose: str  # "marketing" or "transactional"
    granted: bool
    awaiting_confirmation: bool
