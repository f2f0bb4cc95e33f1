"""Fixtures of the compliance reports' tests: a compliance officer, a clock to place ledger rows in time, and a
state whose packages the test chooses (or that cannot be reached)."""

import datetime as dt
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission

from compliance.traceability import registry
from compliance.traceability.base import StatePackage, TransientFailure
from tests.clock import at as clock_at
from tests.factories import UserFactory
from tests.inventory.factories import ProductFactory

LA = ZoneInfo("America/Los_Angeles")
# Being added to the compliance officer's role (dispensary/roles.py) by the pages work; granted here meanwhile.
REPORT_PERMISSIONS = ["compliance.view_syncrecord", "compliance.view_patientregistration"]


def grant(user, *names):
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return type(user).objects.get(pk=user.pk)  # a fresh object: permissions are cached per instance


@pytest.fixture
def officer(organization, store):
    user = UserFactory(
        organization=organization, roles=["compliance_officer"], stores=[store], username="officer"
    )
    return grant(user, *REPORT_PERMISSIONS)


@pytest.fixture
def login(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def product(organization):
    return ProductFactory(
        organization=organization, name="Blue Dream 3.5g", sku="FLW-BD35", category="flower"
    )


@contextmanager
def at(year, month, day, hour=12, minute=0):
    """Everything written inside happens at this Los Angeles wall-clock time."""
    moment = dt.datetime(year, month, day, hour, minute, tzinfo=LA).astimezone(dt.UTC)
    with clock_at(moment):
        yield moment


class FakeProvider:
    def __init__(self, packages=None, error=None):
        self.packages, self.error = packages or {}, error

    def active_packages(self, **kwargs):
        if self.error:
            raise self.error
        return [
            StatePackage(label=label, quantity=quantity, unit_of_measure="Each")
            for label, quantity in self.packages.items()
        ]


@pytest.fixture
def state(monkeypatch):
    """state(packages={tag: quantity}) or state(unreachable=True): what provider_for_store answers."""

    def configure(packages=None, unreachable=False):
        error = TransientFailure("Metrc did not answer in 10 s", status_code=None) if unreachable else None
        provider = FakeProvider(packages, error)
        monkeypatch.setattr(registry, "provider_for_store", lambda store, **kwargs: provider)
        return provider

    return configure
