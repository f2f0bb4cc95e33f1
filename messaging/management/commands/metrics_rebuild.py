"""`python manage.py metrics_rebuild [--organization SLUG] [--missing]`: compute every customer's metrics for
segments from the sales, refunds, loyalty and messages already recorded (the demo, a generated history, an
import), with a progress bar on stderr; then score RFM and judge every saved segment again. Safe to run again."""

from django.core.management.base import BaseCommand, CommandError

from dispensary.models import Organization
from messaging.metrics import metrics_rebuild
from messaging.segment_members import segments_refresh


def progress_bar(done: int, total: int, *, write, width: int = 30) -> None:
    """One line redrawn in place: [#####.....]  50% 500/1,000 customers."""
    filled = width * done // total if total else width
    percent = 100 * done // total if total else 100
    bar = f"\r[{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done:,}/{total:,} customers"
    write(bar + ("\n" if done >= total else ""))


class Command(BaseCommand):
    help = "Compute the customers' metrics for segments from history, then refresh the saved segments."

    def add_arguments(self, parser):
        parser.add_argument("--organization", default="", help="Slug of one organization (default: all).")
        parser.add_argument("--missing", action="store_true", help="Only customers without metrics yet.")
        parser.add_argument("--batch", type=int, default=1000, help="Customers per batch.")
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        organization_id = None
        if options["organization"]:
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No organization {options['organization']!r}.")
            organization_id = organization.pk
        if options["batch"] < 1:
            raise CommandError("--batch is at least 1.")
        count = metrics_rebuild(
            organization_id=organization_id,
            missing_only=options["missing"],
            batch=options["batch"],
            progress=None if options["quiet"] else self._progress,
        )
        entered = segments_refresh(organization_id=organization_id)
        self.stdout.write(f"Metrics computed for {count:,} customers; {entered:,} segment entries.")

    def _progress(self, done: int, total: int) -> None:
        progress_bar(
            done, total, write=lambda text: (self.stderr.write(text, ending=""), self.stderr.flush())
        )
