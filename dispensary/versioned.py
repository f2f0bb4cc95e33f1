"""Reads that rarely change (jurisdiction rules, tax rates, promotions, the loyalty program), kept per process
under a version number that any change of their rows bumps, so a quote costs no query for them.

The version of each name lives in Django's cache (Redis when CACHE_URL is set, so every process sees a bump;
local memory in the embedded single process). A process keeps `(version, data)` per key in a dict and reads
the data again when the version it finds in the cache is not the one it kept. A change bumps the version at
once (its own transaction then reads its own rows) and again when its transaction commits (another process may
have read the old rows in between and kept them under the first bump). Data read inside a transaction that
changed it is not kept: that transaction may still roll back.

With a cache other processes cannot see (local memory, the default without CACHE_URL), a process also reads
its kept data again every VERSIONED_LOCAL_SECONDS (30), so that the other processes of a deployment without
Redis see a change within that time.

    RULES = Versioned("rules")
    RULES.watch(TaxRate, AgeRule)                  # post_save, post_delete (and m2m_changed) bump "rules"
    RULES.get(("US-CA", day), lambda: load(...))   # read once per version
"""

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

_PREFIX = "versioned:"


def _local_seconds() -> float | None:
    """With a cache other processes cannot see (local memory), a bump reaches this process only: kept data is
    then read again after this many seconds (VERSIONED_LOCAL_SECONDS, 30), so other processes of one
    deployment see a change within that time. None with a shared cache (Redis), where the version alone
    decides."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache")):
        return float(getattr(settings, "VERSIONED_LOCAL_SECONDS", 30))
    return None


_local = threading.local()
_registry: dict[str, "Versioned"] = {}


def _changed_in_transaction() -> set[str]:
    names = getattr(_local, "changed", None)
    if names is None:
        names = _local.changed = set()
    return names


class Versioned:
    """One named family of cached reads and the rows that invalidate it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._kept: dict[Hashable, tuple[int, Any, float]] = {}  # key: (version, data, kept at)
        self._lock = threading.Lock()
        _registry[name] = self

    @property
    def cache_key(self) -> str:
        return f"{_PREFIX}{self.name}"

    def version(self) -> int:
        """The current version (the one pinned by `pinned` inside its block). A version lost from the cache
        (cleared, evicted, restarted) starts again from the clock's nanoseconds, a number no process can have
        kept data under."""
        pinned_versions = getattr(_local, "pinned", None)
        if pinned_versions is not None and self.name in pinned_versions:
            return pinned_versions[self.name]
        value = cache.get(self.cache_key)
        if value is None:
            cache.add(self.cache_key, time.time_ns(), timeout=None)
            value = cache.get(self.cache_key) or time.time_ns()
        return int(value)

    def bump(self) -> None:
        try:
            cache.incr(self.cache_key)
        except ValueError:  # not in the cache: a fresh number is a change too
            cache.set(self.cache_key, time.time_ns(), timeout=None)

    def changed(self, **_) -> None:
        """A row of this family changed: bump now and again on commit."""
        self.bump()
        if connection.in_atomic_block:
            _changed_in_transaction().add(self.name)
            transaction.on_commit(self._committed)

    def _committed(self) -> None:
        _changed_in_transaction().discard(self.name)
        self.bump()

    def get(self, key: Hashable, load: Callable[[], Any], *, version: int | None = None) -> Any:
        """The data of `key` under the current version, loaded by `load()` when this process has not kept it.
        The data must not be changed by callers (frozen dataclasses and tuples)."""
        current = self.version() if version is None else version
        kept = self._kept.get(key)
        if self._fresh(kept, current):
            return kept[1]
        data = load()
        self._keep({key: data}, current)
        return data

    def get_many(self, keys, load: Callable[[list], dict], *, version: int | None = None) -> dict:
        """The data of each of `keys` under the current version; `load(missing keys)` reads the ones this
        process has not kept, in one go, and returns them by key (a key it leaves out is not kept)."""
        current = self.version() if version is None else version
        found, missing = {}, []
        for key in keys:
            kept = self._kept.get(key)
            if self._fresh(kept, current):
                found[key] = kept[1]
            else:
                missing.append(key)
        if missing:
            loaded = load(missing)
            found.update(loaded)
            self._keep(loaded, current)
        return found

    @staticmethod
    def _fresh(kept, current: int) -> bool:
        if kept is None or kept[0] != current:
            return False
        seconds = _local_seconds()
        return seconds is None or time.monotonic() - kept[2] < seconds

    def _keep(self, loaded: dict, current: int) -> None:
        if connection.in_atomic_block and self.name in _changed_in_transaction():
            return  # read inside the transaction that changed it, which may still roll back
        now = time.monotonic()
        with self._lock:
            if len(self._kept) > 10_000:  # dated keys accumulate over the days a process lives
                self._kept.clear()
            for key, data in loaded.items():
                self._kept[key] = (current, data, now)

    def forget(self) -> None:
        with self._lock:
            self._kept.clear()

    def watch(self, *models, m2m=()) -> "Versioned":
        """Bump this family whenever a row of `models` is saved or deleted, or an m2m `through` changes."""
        for model in models:
            post_save.connect(
                self.changed, sender=model, weak=False, dispatch_uid=f"{self.name}:{model}:save"
            )
            post_delete.connect(
                self.changed, sender=model, weak=False, dispatch_uid=f"{self.name}:{model}:delete"
            )
        for through in m2m:
            m2m_changed.connect(
                self.changed, sender=through, weak=False, dispatch_uid=f"{self.name}:{through}"
            )
        return self


def versions(*names: str) -> dict[str, int]:
    """The current versions of several families in one cache round trip (none when `pinned` already holds
    them all)."""
    pinned_versions = getattr(_local, "pinned", None)
    if pinned_versions is not None and all(name in pinned_versions for name in names):
        return {name: pinned_versions[name] for name in names}
    keys = {f"{_PREFIX}{name}": name for name in names}
    found = cache.get_many(list(keys))
    result = {}
    for key, name in keys.items():
        result[name] = int(found[key]) if key in found else _registry[name].version()
    return result


@contextmanager
def pinned(found: Mapping[str, int]):
    """Inside the block, this thread reads the families named in `found` (from `versions`, one cache round
    trip) under those versions instead of asking the cache again for each read: a quote reads all it needs
    under the versions it records. For blocks that only read (a change made inside would not be seen)."""
    previous = getattr(_local, "pinned", None)
    _local.pinned = found
    try:
        yield
    finally:
        _local.pinned = previous


def family_names() -> tuple[str, ...]:
    """Every family this process has defined (each module defines its own when imported)."""
    return tuple(_registry)


def forget_all() -> None:
    """Drop every process-kept read (tests, between which the database is rolled back)."""
    for family in _registry.values():
        family.forget()
    _changed_in_transaction().clear()
