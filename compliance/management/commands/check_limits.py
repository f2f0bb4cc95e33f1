"""Check a cart against a jurisdiction's purchase limits from a JSON file and print the verdict as JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from compliance.management.commands._json_request import json_request_read
from compliance.rules import check_request_parse
from compliance.selectors import purchase_limits_verdict_get
from dispensary.errors import ApplicationError
from dispensary.models import Store


class Command(BaseCommand):
    help = (
        "Check a cart against the purchase limits: FILE is JSON with jurisdiction, date, customer, history and "
        'cart (see README, "Purchase limits"). Prints the verdict as JSON; exits 1 on a bad file.'
    )

    stealth_options = ("stdin",)  # tests pass standard input as a stream

    def add_arguments(self, parser):
        parser.add_argument("file", help='path of the JSON request, or "-" for standard input')

    def handle(self, *args, **options):
        name = options["file"]
        request = json_request_read(name, options.get("stdin"), check_request_parse)
        store = None
        if request.store is not None:
            store = Store.objects.filter(pk=request.store).first()
            if store is None:
                raise CommandError(f"{name}: store: no store with id {request.store}.")
        try:
            verdict = purchase_limits_verdict_get(request=request, store=store)
        except ApplicationError as error:
            raise CommandError(f"{name}: {error.message}") from error
        self.stdout.write(json.dumps(verdict.as_dict(), indent=2))
