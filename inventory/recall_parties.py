"""Who bought recalled stock. The ledger knows which sale or delivery took units out of a package; the apps
that own those references (pos for sales, delivery for orders) register a resolver here in their
AppConfig.ready(), so inventory finds customers without importing the layers above it."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Party:
    """The customer (and delivery, if any) behind one sale or order reference."""

    customer_id: int | None
    customer_name: str
    customer_phone: str
    delivery_id: int | None = None


Resolver = Callable[[Iterable[str]], dict[str, Party]]
_RESOLVERS: dict[str, Resolver] = {}


def register_party_resolver(reference_type: str, resolver: Resolver) -> None:
    """`resolver(reference_ids)` returns {reference_id: Party} for the ids it knows, in a bounded number of
    queries."""
    _RESOLVERS[reference_type] = resolver


def resolve_parties(reference_type: str, reference_ids: Iterable[str]) -> dict[str, Party]:
    resolver = _RESOLVERS.get(reference_type)
    return resolver(list(reference_ids)) if resolver else {}
