"""`migrate`, run as the database's owner role when DATABASE_OWNER_URL is set, then granting the application's
role (the user of DATABASE_URL) its row privileges (dispensary/database_roles.py). Without DATABASE_OWNER_URL
it is Django's migrate unchanged."""

import dj_database_url
from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from dispensary.database_roles import privileges_grant

CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


class Command(migrate.Command):
    help = (
        migrate.Command.help + " With DATABASE_OWNER_URL, as the owner role, granting the application's role."
    )

    def handle(self, *args, **options):
        owner_url = settings.DATABASE_OWNER_URL
        if not owner_url or options["database"] != DEFAULT_DB_ALIAS:
            return super().handle(*args, **options)
        connection = connections[DEFAULT_DB_ALIAS]
        owner = dj_database_url.parse(owner_url)
        if owner["ENGINE"] != connection.settings_dict["ENGINE"] or connection.vendor != "postgresql":
            raise CommandError("DATABASE_OWNER_URL is for PostgreSQL, with DATABASE_URL on the same server.")
        app_settings = {key: connection.settings_dict[key] for key in CREDENTIALS}
        app_role = app_settings["USER"]
        if not app_role or app_role == owner["USER"]:
            raise CommandError(
                "DATABASE_OWNER_URL and DATABASE_URL must name two roles: the owner, and the application's role."
            )
        # The same database (the connection's name, so a test database works too) through the owner's login.
        connection.close()
        connection.settings_dict.update({key: owner[key] for key in CREDENTIALS})
        try:
            super().handle(*args, **options)
            privileges_grant(connection, app_role)
            if options["verbosity"] >= 1:
                self.stdout.write(
                    f"Granted row privileges on every table to the application's role {app_role}."
                )
        finally:
            connection.close()
            connection.settings_dict.update(app_settings)
