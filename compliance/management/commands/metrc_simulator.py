"""Serve the Metrc simulator on loopback until interrupted: `python manage.py metrc_simulator --port 8765`.

Point the platform at it with METRC_SIMULATOR_URL=http://127.0.0.1:8765 (keys: the simulator's defaults)."""

from django.core.management.base import BaseCommand

from compliance.traceability.simulator import (
    DEFAULT_USER_KEY,
    DEFAULT_VENDOR_KEY,
    Faults,
    MetrcSimulator,
    make_simulator_server,
)


class Command(BaseCommand):
    help = "Run the local Metrc (API v2) simulator as an HTTP server until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--vendor-key", default=DEFAULT_VENDOR_KEY)
        parser.add_argument("--user-key", default=DEFAULT_USER_KEY)
        parser.add_argument(
            "--license",
            action="append",
            default=[],
            metavar="NUMBER[:US-XX]",
            help="a facility licence the user key may act for (repeatable), optionally with its jurisdiction",
        )
        parser.add_argument(
            "--seed-demo",
            action="store_true",
            help="register every active store's licences and load its packages from the database",
        )
        parser.add_argument("--seed", type=int, default=0, help="seed for the random faults")
        parser.add_argument("--fail-every", type=int, default=None, help="answer every Nth call with a 500")
        parser.add_argument("--fail-probability", type=float, default=0.0)
        parser.add_argument("--timeout-every", type=int, default=None, help="let every Nth call time out")
        parser.add_argument("--timeout-probability", type=float, default=0.0)
        parser.add_argument("--timeout-seconds", type=float, default=30.0)
        parser.add_argument(
            "--lose-after-probability",
            type=float,
            default=0.0,
            help="apply this share of writes, then lose their answer",
        )
        parser.add_argument(
            "--lost-answer",
            choices=["timeout", "drop", "504"],
            default="timeout",
            help="how a lost answer shows",
        )
        parser.add_argument(
            "--fail-status",
            type=int,
            action="append",
            default=[],
            help="status of a failing call (repeatable, chosen at random; default 500), e.g. 429 and 500",
        )
        parser.add_argument(
            "--retry-after", default=None, help="Retry-After sent with an injected 429 or 503"
        )
        parser.add_argument(
            "--state-file", default="", help="keep the simulator's state in this journal across restarts"
        )
        parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
        parser.add_argument(
            "--get-rate-limit", type=int, default=50, help="GETs per second per facility; 0: none"
        )
        parser.add_argument("--verbose-requests", action="store_true")

    def handle(self, *args, **options):
        faults = Faults(
            fail_every=options["fail_every"],
            fail_probability=options["fail_probability"],
            timeout_every=options["timeout_every"],
            timeout_probability=options["timeout_probability"],
            timeout_seconds=options["timeout_seconds"],
            latency_seconds=options["latency"],
            get_rate_limit=options["get_rate_limit"] or None,
            lose_after_probability=options["lose_after_probability"],
            lost_answer=options["lost_answer"],
            fail_statuses=tuple(options["fail_status"]),
            fail_retry_after=options["retry_after"],
        )
        simulator = MetrcSimulator(
            seed=options["seed"], faults=faults, state_file=options["state_file"] or None
        )
        simulator.record_requests = False
        vendor_key, user_key = options["vendor_key"], options["user_key"]
        simulator.add_credentials(vendor_key, user_key)
        for entry in options["license"]:
            number, _, jurisdiction = entry.partition(":")
            simulator.add_facility(number, jurisdiction=jurisdiction or "US-CA", user_keys=[user_key])
        if options["seed_demo"]:
            from compliance.traceability.seeding import database_package_source, simulator_seed_store
            from dispensary.models import Store

            simulator.package_source = database_package_source
            for store in Store.objects.filter(is_active=True).order_by("pk"):
                loaded = simulator_seed_store(simulator, store, user_keys=(user_key,))
                self.stdout.write(f"{store.code} ({store.jurisdiction}): {loaded} packages")
        server = make_simulator_server(
            simulator, options["host"], options["port"], verbose=options["verbose_requests"]
        )
        self.stdout.write(
            f"Metrc simulator on http://{options['host']}:{server.server_port} "
            f"(vendor key {vendor_key!r}, user key {user_key!r}; licences {', '.join(sorted(simulator.facilities)) or 'none'})",
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopped")
        finally:
            server.server_close()
