"""The core API's callers (staff tokens, API clients with chosen scopes and stores, another organization)."""

from tests.dispensary.api.conftest import (  # noqa: F401 - fixtures
    _fresh_throttle_cache,
    anonymous,
    foreign_store,
    make_api_client,
    other_organization,
    staff_caller,
)
