"""Load the demo organization, stores, staff and customers (idempotent) and print one login per role."""

from django.core.management.base import BaseCommand

from dispensary.demo import DEMO_PASSWORD, STAFF, demo_load


class Command(BaseCommand):
    help = "Load demo data (safe to run again: it adds only what is missing) and print the demo logins."

    def handle(self, *args, **options):
        added = demo_load()
        summary = ", ".join(f"{count} {kind}" for kind, count in added.items())
        self.stdout.write(f"Demo data ready (added: {summary}).")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        width = max(len(member.username) for member in STAFF)
        for member in STAFF:
            stores = ", ".join(member.stores)
            self.stdout.write(f"  {member.username.ljust(width)}  {member.role.label:<20} {stores}")
        self.stdout.write("")
        self.stdout.write("Open http://127.0.0.1:8000 and sign in.")
