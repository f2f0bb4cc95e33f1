"""Verify that every package's on-hand and allocated quantities equal the sum of its movements."""

from django.core.management.base import BaseCommand, CommandError

from dispensary.models import Store
from inventory.selectors import ledger_mismatch_list


class Command(BaseCommand):
    help = "Check the stock ledger of one store (--store CODE) or of every store; exits 1 on any mismatch."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="store code; all stores when omitted")

    def handle(self, *args, **options):
        stores = Store.objects.order_by("pk")
        if options["store"]:
            stores = stores.filter(code=options["store"])
            if not stores.exists():
                raise CommandError(f"No store with code {options['store']!r}.")
        problems = 0
        for store in stores:
            mismatches = ledger_mismatch_list(store=store)
            problems += len(mismatches)
            self.stdout.write(
                f"{store.code}: {'ledger balances' if not mismatches else f'{len(mismatches)} mismatches'}"
            )
            for m in mismatches:
                self.stdout.write(
                    f"  {m.tag}: on hand {m.on_hand} vs movements {m.movements_on_hand}; "
                    f"allocated {m.allocated} vs movements {m.movements_allocated}"
                )
        if problems:
            raise CommandError(f"{problems} package(s) do not match their movements.")
