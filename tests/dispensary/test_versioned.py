"""dispensary.versioned: reads kept per process under a version that changes of their rows move."""

import pytest
from django.core.cache import cache

from dispensary.models import Organization
from dispensary.versioned import Versioned, forget_all, pinned, versions

# Real transactions: a change made inside the test's own transaction would not be kept (it may roll back).
pytestmark = pytest.mark.django_db(transaction=True)

NAMES = Versioned("test-organization-names").watch(Organization)


def names() -> tuple[str, ...]:
    return NAMES.get("all", lambda: tuple(Organization.objects.order_by("pk").values_list("name", flat=True)))


def test_kept_until_a_row_changes_and_then_read_again(organization, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = names()
        assert names() == first
    organization.name = "Renamed"
    organization.save()
    with django_assert_num_queries(1):
        assert "Renamed" in names()


def test_a_change_bumps_again_on_commit_so_others_drop_what_they_kept_meanwhile(organization):
    from django.db import transaction

    before = versions(NAMES.name)[NAMES.name]
    with transaction.atomic():
        organization.name = "Committed"
        organization.save()
        assert versions(NAMES.name)[NAMES.name] == before + 1  # its own transaction reads its own rows
    assert versions(NAMES.name)[NAMES.name] == before + 2


def test_a_lost_version_never_matches_what_was_kept(organization, django_assert_num_queries):
    names()
    cache.clear()  # Redis restarted or the key evicted
    with django_assert_num_queries(1):
        names()


def test_with_a_local_cache_kept_reads_expire_after_their_time(organization, settings, monkeypatch):
    import time

    settings.VERSIONED_LOCAL_SECONDS = 5
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    forget_all()
    names()
    Organization.objects.filter(pk=organization.pk).update(name="Changed elsewhere")  # no signal here
    assert "Changed elsewhere" not in names()
    clock[0] += 6
    assert "Changed elsewhere" in names()


def test_a_pinned_block_reads_under_the_versions_given_without_asking_the_cache(
    organization, django_assert_num_queries, monkeypatch
):
    names()
    found = versions(NAMES.name)
    asked = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *args, **kwargs: asked.append(key) or real_get(key, *args))
    with pinned(found):
        with django_assert_num_queries(0):
            first = names()
        Organization.objects.filter(pk=organization.pk).update(name="Changed elsewhere")
        NAMES.bump()  # another process's change: seen by the next read, not inside the block
        with django_assert_num_queries(0):
            assert names() == first
    assert asked == []
    with django_assert_num_queries(1):
        assert "Changed elsewhere" in names()
    assert asked == [NAMES.cache_key]


@pytest.mark.parametrize(
    ("path", "pins"),
    [
        ("/pos/register/carts/7/scan/", True),
        ("/pos/register/carts/7/", True),
        ("/pos/sales/7/receipt/", True),
        ("/pos/register/carts/7/complete/", False),  # its re-check must see a version moved since the quote
        ("/pos/sales/7/refund/", False),
        ("/settings/promotions/", False),
    ],
)
def test_the_registers_requests_read_every_version_in_one_round_trip(rf, monkeypatch, path, pins):
    from dispensary import versioned
    from dispensary.middleware import PinnedVersionsMiddleware

    NAMES.bump()
    expected = NAMES.version()
    round_trips = []
    real_get = cache.get

    def counted_get(*args, **kwargs):
        round_trips.append(args)
        return real_get(*args, **kwargs)

    def view(request):
        monkeypatch.setattr(versioned.cache, "get", counted_get)
        return NAMES.version(), versions(NAMES.name)[NAMES.name]

    seen = PinnedVersionsMiddleware(view)(rf.get(path))
    assert seen == (expected, expected)
    assert (round_trips == []) is pins
