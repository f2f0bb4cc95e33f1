"""API rate limits with CACHE_URL: every worker process counts in the same Redis, so a caller's rate is one
rate across the deployment. A second process (another worker) spends the caller's allowance; this one then
refuses the caller."""

import os
import subprocess
import sys
import textwrap

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from dispensary.api.throttling import PrincipalRateThrottle

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

OTHER_WORKER = textwrap.dedent(
    """
    import sys
    from types import SimpleNamespace
    import django
    django.setup()
    from django.conf import settings
    from dispensary.api.throttling import PrincipalRateThrottle
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache"), settings.CACHES
    PrincipalRateThrottle.THROTTLE_RATES = {"principal": "3/min"}
    caller = SimpleNamespace(user=SimpleNamespace(pk=int(sys.argv[1]), is_authenticated=True), META={})
    print([PrincipalRateThrottle().allow_request(caller, None) for _ in range(2)])
    """
)


def test_a_second_worker_spends_the_same_allowance(manager, staff_caller, monkeypatch):
    url = os.environ["TEST_CELERY_BROKER_URL"]
    key = f":1:throttle_principal_user:{manager.pk}"
    redis.Redis.from_url(url).delete(key)
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "3/min"})
    caller = staff_caller(manager)
    try:
        with override_settings(
            CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
        ):
            assert caches["default"].__class__.__name__ == "RedisCache"
            assert caller.get("/api/v1/stores").status_code == 200

            other = subprocess.run(
                [sys.executable, "-c", OTHER_WORKER, str(manager.pk)],
                env={**os.environ, "CACHE_URL": url, "DJANGO_SETTINGS_MODULE": "dispensary.settings"},
                cwd=settings.BASE_DIR,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert other.returncode == 0, other.stderr
            # The other process saw this one's request: it had two of the three left.
            assert other.stdout.strip().splitlines()[-1] == "[True, True]"

            response = caller.get("/api/v1/stores")
            assert response.status_code == 429
            assert response.json()["code"] == "throttled"
    finally:
        redis.Redis.from_url(url).delete(key)
