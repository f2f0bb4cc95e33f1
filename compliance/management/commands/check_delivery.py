"""Judge a delivery against a jurisdiction's rules alone from a JSON file and print {"allowed", "reasons"}."""

import json

from django.core.management.base import BaseCommand, CommandError

from compliance.management.commands._json_request import json_request_read
from compliance.rules.delivery import delivery_check, delivery_request_parse
from compliance.selectors import jurisdiction_rules_get
from dispensary.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Check a delivery against a jurisdiction's delivery rules (hours, driver's return, vehicle value caps): "
        'FILE is JSON with jurisdiction, date, window, vehicle and order_value (see README, "Delivery rules"). '
        'Prints {"allowed": bool, "reasons": [...]}; exits 1 on a bad file.'
    )

    stealth_options = ("stdin",)  # tests pass standard input as a stream

    def add_arguments(self, parser):
        parser.add_argument("file", help='path of the JSON request, or "-" for standard input')

    def handle(self, *args, **options):
        name = options["file"]
        request = json_request_read(name, options.get("stdin"), delivery_request_parse)
        try:
            rules = jurisdiction_rules_get(jurisdiction=request.jurisdiction, on=request.on)
        except ApplicationError as error:
            raise CommandError(f"{name}: {error.message}") from error
        verdict = delivery_check(rules, request)
        self.stdout.write(json.dumps(verdict.as_dict(), indent=2))
