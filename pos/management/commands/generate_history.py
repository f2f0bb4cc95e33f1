"""`python manage.py generate_history --stores 3 --days 365 --lines 1000000 --seed 1`: a realistic history
(stores in three states, customers, a year of sales with voids and refunds, stock received and sold) for an
organization, written in batches with progress on stderr. See pos.history."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from dispensary.inputs import date_problem
from inventory.selectors import ledger_mismatch_list
from pos.history import HistoryRefused, history_generate, stderr_progress


class Command(BaseCommand):
    help = "Generate a realistic history of sales, stock and state reports for an organization."

    def add_arguments(self, parser):
        parser.add_argument(
            "--organization", default="history", help="Slug of the organization (created if missing)."
        )
        parser.add_argument("--stores", type=int, default=3)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--lines", type=int, default=1_000_000, help="Sale lines to make, about.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--end", default="", help="Last day of the history (YYYY-MM-DD); default: today (UTC)."
        )
        parser.add_argument(
            "--allow-existing-sales",
            action="store_true",
            help="Add to an organization that already has sales.",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress lines.")

    def handle(self, *args, **options):
        end = self._end(options["end"])
        try:
            summary = history_generate(
                organization_slug=options["organization"],
                stores=options["stores"],
                days=options["days"],
                lines=options["lines"],
                seed=options["seed"],
                end=end,
                allow_existing_sales=options["allow_existing_sales"],
                progress=None if options["quiet"] else stderr_progress,
            )
        except HistoryRefused as error:
            raise CommandError(str(error)) from None
        mismatches = sum(len(ledger_mismatch_list(store=store)) for store in summary.stores)
        if mismatches:
            raise CommandError(f"The ledger does not balance for {mismatches} packages.")
        self.stdout.write(
            f"{summary.organization.slug}: {summary.sales:,} sales with {summary.lines:,} lines "
            f"({summary.voids:,} voided, {summary.refunds:,} refunds), {summary.customers:,} customers, "
            f"{summary.packages:,} packages, {summary.movements:,} movements in {len(summary.stores)} stores over "
            f"{options['days']} days to {end:%Y-%m-%d}, in {summary.seconds:.1f} s "
            f"({summary.lines_per_second:,.0f} lines/s); the ledger balances."
        )

    @staticmethod
    def _end(text: str) -> dt.date:
        from django.utils import timezone

        if not text:
            return timezone.localdate(timezone=dt.UTC)
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise CommandError(f"--end {text!r} is not a date (YYYY-MM-DD).") from None
        problem = date_problem(day)
        if problem:
            raise CommandError(f"--end: {problem}")
        return day
