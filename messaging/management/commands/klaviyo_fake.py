"""Serve the local fake of Klaviyo's API until interrupted:

    python manage.py klaviyo_fake --port 8026 [--api-key pk_...] [--fault 429 --fault lose]

Point the platform at it with KLAVIYO_API_URL=http://127.0.0.1:8026 and save the fake's key on
/messaging/integrations/klaviyo/. What it holds: http://127.0.0.1:8026/_fake/state."""

from django.core.management.base import BaseCommand, CommandError

from messaging.fake_klaviyo import DEV_API_KEY, FakeKlaviyo


class Command(BaseCommand):
    help = "Run the local fake of Klaviyo's API (profiles, subscriptions, events)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8026)
        parser.add_argument(
            "--api-key", action="append", default=[], help=f"a key it accepts (default {DEV_API_KEY})"
        )
        parser.add_argument("--retry-after", type=int, default=2, help="seconds its 429 answers ask to wait")
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            choices=["429", "500", "503", "lose", "slow"],
            help="answer the next request so (repeatable, in order)",
        )

    def handle(self, *args, **options):
        fake = FakeKlaviyo(
            api_keys=tuple(options["api_key"] or [DEV_API_KEY]),
            host=options["host"],
            port=options["port"],
            faults=options["fault"],
            retry_after=options["retry_after"],
        )
        try:
            fake.start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {error}") from error
        self.stdout.write(
            f"Fake Klaviyo on {fake.url} (key {', '.join(sorted(fake.api_keys))}). Set KLAVIYO_API_URL={fake.url}. "
            f"What it holds: {fake.url}/_fake/state. Ctrl-C stops it."
        )
        self.stdout.flush()
        try:
            fake.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            fake.stop()
