"""Load the demo organization, stores, staff and customers, then every other app's demo data (idempotent),
and print one login per role."""

import importlib
import importlib.util

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from dispensary.demo import DEMO_PASSWORD, STAFF, demo_load


def app_demo_loaders():
    """Each app may ship `<app>/demo.py` with a `demo_load()`; they run in INSTALLED_APPS order, which is the
    order of the layers (inventory before compliance before pos ...). Found by name, so the core imports none
    of the apps above it."""
    for config in apps.get_app_configs():
        if (
            config.name == "dispensary"
            or not importlib.util.find_spec(config.name).submodule_search_locations
        ):
            continue
        if importlib.util.find_spec(f"{config.name}.demo") is not None:
            yield config, importlib.import_module(f"{config.name}.demo").demo_load


class Command(BaseCommand):
    help = "Load demo data (safe to run again: it adds only what is missing) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default="",
            help="The address the site is served on, to print (make run passes its HOST and PORT).",
        )

    def handle(self, *args, **options):
        # The demo's reports to the state are sent inline, right after each commit, in this process (the tests'
        # mode): the delivery demo departs a trip once the state accepted its records, and a background sender
        # still busy with the counter's demo sales would hold the store's lease meanwhile.
        with override_settings(STATE_SYNC={**settings.STATE_SYNC, "IN_PROCESS": "inline"}):
            self._load(options)

    def _load(self, options):
        added = demo_load()
        summary = ", ".join(f"{count} {kind}" for kind, count in added.items())
        self.stdout.write(f"Demo data ready (added: {summary}).")
        for config, loader in app_demo_loaders():
            app_added = loader()
            if app_added:
                summary = ", ".join(f"{count} {kind}" for kind, count in app_added.items())
                self.stdout.write(f"{config.verbose_name} demo data ready (added: {summary}).")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        width = max(len(member.username) for member in STAFF)
        for member in STAFF:
            stores = ", ".join(member.stores)
            self.stdout.write(f"  {member.username.ljust(width)}  {member.role.label:<20} {stores}")
        self.stdout.write(
            "Managers approve overrides, voids and refunds at the register by typing their PIN, which says who"
            " approves (demo: manager 2468, owner 1357)."
        )
        self.stdout.write("")
        if options["url"]:
            self.stdout.write(f"Open {options['url']} and sign in; budtenders sell at /pos/register/.")
        else:
            self.stdout.write("Serve the site (make run) and sign in; budtenders sell at /pos/register/.")
