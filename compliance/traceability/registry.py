"""Which traceability provider a store reports to: real Metrc when its keys are configured, otherwise the
Metrc simulator (in process, or a running simulator server at METRC_SIMULATOR_URL)."""

import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from compliance.traceability.metrc import MetrcProvider
from compliance.traceability.simulator import DEFAULT_USER_KEY, DEFAULT_VENDOR_KEY, MetrcSimulator

_shared_lock = threading.Lock()
_shared_simulator: MetrcSimulator | None = None
_seeded_licenses: set[str] = set()  # by licence: rolled-back test databases reuse primary keys

IN_PROCESS_BASE_URL = "http://metrc-simulator.invalid"


def _config() -> dict:
    return getattr(settings, "METRC", {})


def shared_simulator() -> MetrcSimulator:
    """The process's one in-process simulator (the embedded default)."""
    global _shared_simulator
    with _shared_lock:
        if _shared_simulator is None:
            from compliance.traceability.seeding import database_package_source

            simulator = MetrcSimulator(state_file=simulator_state_file())
            simulator.add_credentials(DEFAULT_VENDOR_KEY, DEFAULT_USER_KEY)
            simulator.package_source = database_package_source
            simulator.record_requests = False  # long-running processes: keep no request log
            _shared_simulator = simulator
        return _shared_simulator


def simulator_state_file() -> Path | None:
    """Where the in-process simulator keeps its state across restarts: METRC["SIMULATOR_STATE_FILE"] when set
    ("" keeps it in memory only), else beside a SQLite database file (`db.sqlite3-metrc-simulator.jsonl`, so
    that `make clean` removes both). An in-memory database (the tests') keeps none."""
    configured = _config().get("SIMULATOR_STATE_FILE")
    if configured is not None:
        return Path(configured) if configured else None
    database = connections["default"]
    name = str(database.settings_dict.get("NAME") or "")
    if database.vendor != "sqlite" or not name or database.creation.is_in_memory_db(name):
        return None
    return Path(f"{name}-metrc-simulator.jsonl")


def reset_shared_simulator() -> None:
    """Forget the in-process simulator and its state (tests)."""
    global _shared_simulator
    with _shared_lock:
        if _shared_simulator is not None:
            _shared_simulator.close()
        _shared_simulator = None
        _seeded_licenses.clear()


def store_license(store) -> str:
    """The licence a store reports under: adult-use, or medical for a medical-only store."""
    return store.license_adult_use or store.license_medical


def user_key_for(store, employee=None) -> str:
    """The Metrc user key for a store (or one of its employees) from METRC["USER_KEYS"]: entries are keyed
    `<organization slug>/<store code>` or `<store code>`, each a key or {"key": ..., "employees": {username: key}}.
    Empty when none is configured."""
    keys = _config().get("USER_KEYS") or {}
    entry = keys.get(f"{store.organization.slug}/{store.code}", keys.get(store.code))
    if entry is None:
        return ""
    if isinstance(entry, str):
        return entry
    if employee is not None:
        employee_key = (entry.get("employees") or {}).get(employee.get_username())
        if employee_key:
            return employee_key
    return entry.get("key", "")


def provider_for_store(store, *, employee=None, license_number: str | None = None) -> MetrcProvider:
    """The provider for one store's licence (`license_number`: the medical licence where it differs)."""
    config = _config()
    license_number = license_number or store_license(store)
    common = {
        "license_number": license_number,
        "jurisdiction": store.jurisdiction,
        "timeout": float(config.get("TIMEOUT_SECONDS", 10)),
        "max_attempts": int(config.get("MAX_ATTEMPTS", 4)),
        "backoff_base": float(config.get("BACKOFF_BASE_SECONDS", 0.5)),
        "backoff_max": float(config.get("BACKOFF_MAX_SECONDS", 30)),
    }
    vendor_key, user_key = config.get("VENDOR_KEY", ""), user_key_for(store, employee)
    if vendor_key and user_key:
        base_url = (config.get("BASE_URLS") or {}).get(store.jurisdiction)
        if not base_url:
            raise ImproperlyConfigured(
                f"Metrc keys are set for {store.code} but METRC has no base URL for {store.jurisdiction}"
            )
        return MetrcProvider(base_url=base_url, vendor_key=vendor_key, user_key=user_key, **common)
    simulator_url = config.get("SIMULATOR_URL")
    if simulator_url:
        return MetrcProvider(
            base_url=simulator_url, vendor_key=DEFAULT_VENDOR_KEY, user_key=DEFAULT_USER_KEY, **common
        )
    simulator = shared_simulator()
    _seed_once(simulator, store)
    return MetrcProvider(
        base_url=IN_PROCESS_BASE_URL,
        vendor_key=DEFAULT_VENDOR_KEY,
        user_key=DEFAULT_USER_KEY,
        transport=simulator.transport(),
        **common,
    )


def _seed_once(simulator: MetrcSimulator, store) -> None:
    from compliance.traceability.seeding import simulator_seed_store, store_licenses

    licenses = store_licenses(store)
    with _shared_lock:
        if all(number in _seeded_licenses for number in licenses):
            return
        _seeded_licenses.update(licenses)
    simulator_seed_store(simulator, store, user_keys=(DEFAULT_USER_KEY,))
