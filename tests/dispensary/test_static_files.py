"""Static files as production serves them: collected under hashed names (STATICFILES_MANIFEST, on by default in
production), linked by `{% static %}` from the register's page and served by WhiteNoise as immutable for a year
or more, so a register downloads them once. Runs in fresh processes, as a deployment would."""

import re

from tests.dispensary.test_settings_deploy import manage

SERVE = """
from django.template import engines
from django.test import Client
links = engines["django"].from_string(
    "{% load static %}{% static 'pos/register.js' %} {% static 'pos/register.css' %}"
).render({}).split()
for link in links:
    answer = Client().get(link)
    print(link, answer.status_code, answer["Cache-Control"])
"""


def test_the_registers_assets_have_hashed_names_and_are_cached_for_good(tmp_path):
    environment = {"DEBUG": "false", "STATICFILES_MANIFEST": "true", "STATIC_ROOT": str(tmp_path)}
    collected = manage("collectstatic", "--noinput", "-v", "0", **environment)
    assert collected.returncode == 0, collected.stderr
    served = manage("shell", "-c", SERVE, **environment)
    assert served.returncode == 0, served.stderr
    lines = [line for line in served.stdout.split("\n") if line.startswith("/static/")]
    for line, extension in zip(lines, ("js", "css"), strict=True):
        link, status, cache = line.split(" ", 2)
        assert re.fullmatch(r"/static/pos/register\.[0-9a-f]{12}\." + extension, link), link
        assert status == "200"
        assert "immutable" in cache and int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600


def test_the_development_server_keeps_the_plain_names(tmp_path):
    served = manage("shell", "-c", SERVE, DEBUG="true")
    assert served.returncode == 0, served.stderr
    assert "/static/pos/register.js 200" in served.stdout
