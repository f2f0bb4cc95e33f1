"""Serve the local fake of Springbig's POS API until interrupted:

    python manage.py springbig_fake --port 8032 [--members 3] [--fault lose@/pos/v1/visits]

Then on /messaging/integrations/loyalty/ set Springbig's API address to http://127.0.0.1:8032, the key to
"development-only-springbig-key" and the auth token to "development-only-springbig-token"."""

from django.core.management.base import BaseCommand, CommandError

from messaging.fake_springbig import DEV_API_KEY, DEV_AUTH_TOKEN, FakeSpringbig


class Command(BaseCommand):
    help = "Run the local fake of Springbig's POS API (members, visits, points, segments)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8032)
        parser.add_argument("--members", type=int, default=0, help="start with this many sample members")
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            help='answer the next write so (repeatable, in order): "429", "500", or "lose" (apply, then no '
            'answer); "lose@/path/part" waits for a matching path',
        )

    def handle(self, *args, **options):
        fake = FakeSpringbig(host=options["host"], port=options["port"], faults=options["fault"])
        phones = [f"415555{8000 + n:04d}" for n in range(1, options["members"] + 1)]
        for n, phone in enumerate(phones, start=1):
            fake.member_add(phone=phone, first_name=f"Member{n}", last_name="Sample", points=10 * n)
        if phones:
            fake.segment_add("1", "Sample segment", phones)
        try:
            fake.start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {error}") from error
        self.stdout.write(
            f"Fake Springbig on {fake.url} (key {DEV_API_KEY}, token {DEV_AUTH_TOKEN}). Ctrl-C stops it."
        )
        self.stdout.flush()
        try:
            fake.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            fake.stop()
