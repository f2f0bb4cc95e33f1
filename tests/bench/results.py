"""The figures of one `make bench` run, written to `bench-results.json` in the checkout's root as well as
printed. Every bench module records what it prints here under the issue's keys:

    pgbench_tps, service_sales_per_s, http_sales_per_s      by registers ({"1": ..., "4": ...})
    http_request_ms_p50, http_request_ms_p95                by registers
    queries_per_sale, queries_per_scan, limit_check_ms_median
    report_ms                                                by report
    messaging          messages_enqueued_per_s, messages_gated_sent_per_s
    segment_count_ms   a 3-condition segment of 100,000 customers counted (median of 5)
    machine                                                  cores, memory, database version

Nothing here is asserted on time: the file is for people comparing runs and machines."""

import json
import os
import pathlib
import platform
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[2]
PATH = pathlib.Path(os.environ.get("BENCH_RESULTS", ROOT / "bench-results.json"))

RESULTS: dict[str, Any] = {}


def record(key: str, value: Any, *, by: object = None) -> None:
    """Keep `value` under `key`, or under `key` then `by` (registers, a report's name)."""
    if isinstance(value, float):
        value = round(value, 3)
    if by is None:
        RESULTS[key] = value
    else:
        RESULTS.setdefault(key, {})[str(by)] = value


def memory_gib() -> float | None:
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def machine(database: str) -> dict:
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "database": database,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def write(database: str) -> pathlib.Path:
    RESULTS["machine"] = machine(database)
    PATH.write_text(json.dumps(RESULTS, indent=2, sort_keys=True) + "\n")
    print(f"bench: figures written to {PATH}")
    return PATH
