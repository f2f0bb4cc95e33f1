"""Eight registers selling at once on the embedded default's SQLite file, each in its own thread and connection.

Run by tests/dispensary/test_sqlite_concurrency.py in a subprocess (`python -m tests.dispensary.sqlite_registers
ARGS_JSON`) with DATABASE_URL pointing at a copy of the test database, so that the settings the platform really
runs with (WAL, busy timeout, IMMEDIATE transactions) are the ones tested. Prints one JSON line: how many sales
succeeded, how many were refused with an application error (and why), and any other error."""

import json
import sys
import threading
from decimal import Decimal


def main(arguments: dict) -> dict:
    import datetime as dt

    import django
    import time_machine

    # The parent's "now" (a test run may have moved its clock): the ID check it made is from that local day.
    time_machine.travel(dt.datetime.fromisoformat(arguments["now"]), tick=True).start()

    django.setup()
    from django.db import connections

    from compliance.models import IdVerification
    from dispensary.errors import ApplicationError
    from dispensary.models import Store, User
    from pos.models import Register
    from pos.selectors.quote import QuoteLineInput
    from pos.services import TenderInput
    from tests.pos.sale_helpers import checkout

    store = Store.objects.get(pk=arguments["store"])
    staff = User.objects.get(pk=arguments["staff"])
    verification = IdVerification.objects.get(pk=arguments["id_verification"])
    registers = list(Register.objects.filter(pk__in=arguments["registers"]).order_by("pk"))
    barrier = threading.Barrier(len(registers))
    lock = threading.Lock()
    outcome = {"sold": 0, "refused": {}, "errors": []}
    connections.close_all()

    def sell(index: int, register: Register) -> None:
        try:
            barrier.wait()
            for number in range(arguments["sales_per_register"]):
                try:
                    checkout(
                        store=store,
                        register=register,
                        staff=staff,
                        customer=None,
                        customer_type="adult_use",
                        lines=[QuoteLineInput(arguments["product"], Decimal("1"))],
                        tenders=[TenderInput("cash", Decimal("50"))],
                        idempotency_key=f"sqlite-register-{index}-{number}",
                        id_verification=verification,
                    )
                except ApplicationError as error:
                    with lock:
                        name = type(error).__name__
                        outcome["refused"][name] = outcome["refused"].get(name, 0) + 1
                else:
                    with lock:
                        outcome["sold"] += 1
        except Exception as error:  # noqa: BLE001 - every other failure is the finding this run reports
            with lock:
                outcome["errors"].append(f"{type(error).__name__}: {error}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sell, args=(i, r)) for i, r in enumerate(registers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcome


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
