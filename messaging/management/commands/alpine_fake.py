"""Serve the local fake of Alpine IQ until interrupted:

    python manage.py alpine_fake --port 8031 [--members 3] [--fault lose@/adjust/loyaltyPoints]

Then on /messaging/integrations/loyalty/ set Alpine IQ's API address to http://127.0.0.1:8031, the key to
"development-only-alpine-key" and the user id to 1000."""

from django.core.management.base import BaseCommand, CommandError

from messaging.fake_alpine import DEV_API_KEY, DEV_UID, FakeAlpine


class Command(BaseCommand):
    help = "Run the local fake of Alpine IQ's API (personas, transactions, points, audiences)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8031)
        parser.add_argument("--members", type=int, default=0, help="start with this many sample personas")
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            help='answer the next write so (repeatable, in order): "429", "500", or "lose" (apply, then no '
            'answer); "lose@/path/part" waits for a matching path',
        )

    def handle(self, *args, **options):
        fake = FakeAlpine(host=options["host"], port=options["port"], faults=options["fault"])
        contacts = [
            fake.persona_add(
                phone=f"415555{7000 + n:04d}", first_name=f"Member{n}", last_name="Sample", points=10 * n
            )
            for n in range(1, options["members"] + 1)
        ]
        if contacts:
            fake.audience_add("1", "Sample audience", contacts)
        try:
            fake.start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {error}") from error
        self.stdout.write(
            f"Fake Alpine IQ on {fake.url} (key {DEV_API_KEY}, uid {DEV_UID}). Ctrl-C stops it."
        )
        self.stdout.flush()
        try:
            fake.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            fake.stop()
