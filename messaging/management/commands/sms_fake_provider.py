"""Serve the local fake SMS provider until interrupted, or post one inbound reply to the platform:

    python manage.py sms_fake_provider --port 8025
    python manage.py sms_fake_provider --reply +15551234567 "STOP" --to +15005550006 \
        --url http://127.0.0.1:8000/messaging/sms/inbound/

Point the platform at it with SMS_BACKEND=twilio (outside production the account, token, number and
SMS_API_URL=http://127.0.0.1:8025 default to the fake's own)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from messaging.fake_sms import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, FakeSmsProvider


class Command(BaseCommand):
    help = "Run the local fake of a Twilio-compatible SMS provider, or send it an inbound reply (--reply)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument("--account-sid", default=settings.SMS_ACCOUNT_SID or DEV_ACCOUNT_SID)
        parser.add_argument("--auth-token", default=settings.SMS_AUTH_TOKEN or DEV_AUTH_TOKEN)
        parser.add_argument(
            "--callback-delay", type=float, default=1.0, help="seconds between a message's status callbacks"
        )
        parser.add_argument(
            "--error-code",
            default="",
            help="end every message's callbacks with this carrier error (30003, 30005, 30006, 30007, 21610)",
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            choices=["429", "500", "lose"],
            help="answer the next request so (repeatable, in order): 429, 500, or lose (accept, then no answer)",
        )
        parser.add_argument(
            "--reply", nargs=2, metavar=("FROM", "BODY"), help="post one inbound text from FROM, then exit"
        )
        parser.add_argument("--to", default=settings.SMS_FROM_NUMBER, help="the number the reply is sent to")
        parser.add_argument(
            "--url",
            default="",
            help="where replies go (default: PUBLIC_SITE_URL + /messaging/sms/inbound/)",
        )

    def handle(self, *args, **options):
        fake = FakeSmsProvider(
            account_sid=options["account_sid"],
            auth_token=options["auth_token"],
            host=options["host"],
            port=options["port"],
            callback_delay=options["callback_delay"],
            error_code=options["error_code"],
            faults=options["fault"],
        )
        if options["reply"]:
            from_number, body = options["reply"]
            if not options["to"]:
                raise CommandError("Give --to, the number the customer replies to.")
            url = options["url"] or f"{settings.PUBLIC_SITE_URL.rstrip('/')}/messaging/sms/inbound/"
            status = fake.inbound_send(from_number=from_number, to=options["to"], body=body, url=url)
            if not status:
                raise CommandError(f"Could not reach {url}.")
            self.stdout.write(f"Posted {body!r} from {from_number} to {url}: HTTP {status}")
            if status >= 400:
                raise CommandError(f"The platform answered {status}.")
            return
        try:
            fake.start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {error}") from error
        self.stdout.write(
            f"Fake SMS provider on {fake.url} (account {fake.account_sid}). Set SMS_BACKEND=twilio "
            f"SMS_API_URL={fake.url}. Sent messages: {fake.url}/_fake/messages. Ctrl-C stops it."
        )
        self.stdout.flush()
        try:
            fake.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            fake.stop()
