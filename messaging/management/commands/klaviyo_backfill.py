"""Send an organization's history to Klaviyo: profiles (with their confirmed consent), then the sales as Placed
Order and Ordered Product events, with a progress bar on stderr. Run it again to resume where it stopped:

    python manage.py klaviyo_backfill --organization green-leaf [--since 2026-01-01] [--batch 100]
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from dispensary.models import Organization
from messaging.klaviyo_backfill import BackfillStopped, klaviyo_backfill_create, klaviyo_backfill_run
from messaging.models import KlaviyoAccount, KlaviyoBackfill

BAR_WIDTH = 30


def _bar(done: int, total: int) -> str:
    share = 1 if not total else min(1, done / total)
    filled = int(BAR_WIDTH * share)
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} ({int(share * 100)}%)"


class Command(BaseCommand):
    help = "Send the history (profiles, then Placed Order and Ordered Product events) to Klaviyo; resumable."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="the organization's slug")
        parser.add_argument("--since", default="", help="sales from this day on (YYYY-MM-DD); default: all")
        parser.add_argument("--batch", type=int, default=0, help="customers or sales per batch")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}.")
        since = None
        if options["since"]:
            try:
                since = dt.date.fromisoformat(options["since"])
            except ValueError as error:
                raise CommandError(
                    f"--since must be a day like 2026-01-31, not {options['since']!r}."
                ) from error
        if options["batch"] < 0:
            raise CommandError("--batch must be positive.")
        account = KlaviyoAccount.objects.filter(organization=organization, enabled=True).first()
        if account is None:
            raise CommandError(
                "Klaviyo sync is off for this organization: turn it on at /messaging/integrations/klaviyo/."
            )
        backfill = klaviyo_backfill_create(account=account, since=since, actor=None)
        if backfill.customer_cursor or backfill.sale_cursor:
            self.stderr.write(
                f"Resuming backfill {backfill.pk} after customer {backfill.customer_cursor}, sale {backfill.sale_cursor}."
            )

        def progress(row: KlaviyoBackfill) -> None:
            if row.phase == KlaviyoBackfill.Phase.PROFILES:
                line = f"Profiles {_bar(row.customers_done, row.customers_total)}"
            else:
                line = f"Orders   {_bar(row.sales_done, row.sales_total)} events {row.events_sent}"
            self.stderr.write(f"\r{line}", ending="")
            self.stderr.flush()

        try:
            backfill = klaviyo_backfill_run(
                backfill_id=backfill.pk, batch=options["batch"] or None, progress=progress
            )
        except BackfillStopped as error:
            self.stderr.write("")
            raise CommandError(f"Stopped: {error}") from error
        self.stderr.write("")
        self.stdout.write(
            f"Done: {backfill.customers_done} profiles, {backfill.sales_done} sales, {backfill.events_sent} events sent."
        )
