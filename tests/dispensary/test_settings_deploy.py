"""Production mode (DISPENSARY_ENV=production): Django's deployment checks are clean, and the settings refuse
to start without the secrets they need. Each case runs manage.py in a fresh process, as a deployment would."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Settings read these from the environment; a developer's or CI's own values must not leak into the checks.
INHERITED_SETTINGS = {
    "DISPENSARY_ENV",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
}


def manage(*arguments: str, **environment: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in INHERITED_SETTINGS}
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=REPO_ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dispensary.settings", **environment},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DISPENSARY_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="example.org",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in output
    assert "security." not in output


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DISPENSARY_ENV="production", ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DISPENSARY_ENV=production." in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = manage("check", DISPENSARY_ENV="production", SECRET_KEY=secrets.token_urlsafe(64))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DISPENSARY_ENV=production." in result.stderr


def test_check_deploy_flags_a_weak_configuration():
    # The guard above is only worth something if check --deploy does report problems: a short key and DEBUG on.
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DISPENSARY_ENV="production",
        SECRET_KEY="short",
        ALLOWED_HOSTS="example.org",
        DEBUG="true",
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr  # SECRET_KEY too short or simple
    assert "security.W018" in result.stderr  # DEBUG on in deployment
