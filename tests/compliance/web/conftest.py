"""Fixtures of the compliance pages: staff by role, a fake state that refuses, fails or accepts, and reports
queued through the sync queue as the event handlers queue them."""

import itertools

import pytest
from django.db import transaction

from compliance.reporting.sync import sync_record_create
from compliance.traceability import registry
from compliance.traceability.base import Operation, Rejected, RowError, SubmitResult, TransientFailure
from tests.factories import OrganizationFactory, StoreFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def staff(organization, store):
    def make(*roles, stores=None):
        return UserFactory(
            organization=organization, roles=list(roles), stores=[store] if stores is None else stores
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
    return StoreFactory(organization=organization, name="Sister Store")


@pytest.fixture
def other_organization():
    return OrganizationFactory(name="Elsewhere Cannabis")


class FakeState:
    """What the state answers: "reject" (400 with a row error), "down" (retry later) or "accept"."""

    def __init__(self):
        self.mode = "reject"
        self.sent: list[tuple[str, list[dict]]] = []

    def submit(self, operation, objects):
        self.sent.append((str(operation), objects))
        if self.mode == "reject":
            raise Rejected(
                "The state refused 1 of 1 objects.",
                status_code=400,
                errors=[RowError(row=0, message=f"Package {objects[0].get('Label')} is not in inventory.")],
            )
        if self.mode == "down":
            raise TransientFailure("The state's API did not answer.", status_code=503)
        return SubmitResult(ids=[1])

    def package_get(self, label):  # the quantity before an adjustment: this state knows no packages
        return None


@pytest.fixture
def state(monkeypatch, settings):
    settings.STATE_SYNC = {**settings.STATE_SYNC, "BACKOFF_BASE_SECONDS": 600, "BACKOFF_MAX_SECONDS": 900}
    fake = FakeState()
    monkeypatch.setattr(registry, "provider_for_store", lambda store, **kwargs: fake)
    return fake


_tags = itertools.count(1)


@pytest.fixture
def queue(state, django_capture_on_commit_callbacks):
    """Queue reports of package adjustments at a store; the state answers as `mode` says when they are sent
    (on commit, as in the embedded runtime)."""

    def make(store, *, mode="reject", count=1):
        state.mode = mode
        records = []
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                for _ in range(count):
                    tag = f"1A4000000000000000{next(_tags):06d}"
                    records.append(
                        sync_record_create(
                            store=store,
                            kind=Operation.PACKAGE_ADJUST.value,
                            payload=[{"Label": tag, "Quantity": -1, "UnitOfMeasure": "Each"}],
                            order_keys=[tag],
                            reference=("movement", str(next(_tags))),
                        )
                    )
        for record in records:
            record.refresh_from_db()
        return records

    return make
