"""In the full stack the per-key budget lives in Redis, so every web process shares it."""

import os

import pytest
import redis

from tests.api.test_authentication import assert_error
from tests.conftest import require_service

pytestmark = [pytest.mark.services, pytest.mark.django_db]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_cache(settings):
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
        available = True
    except redis.RedisError:
        available = False
    require_service("Redis", available, REDIS_URL)
    prefix = f"chairside-test-{os.getpid()}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": prefix}}
    settings.API_RATE_LIMITS = {"records": 3, "default": 100}
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_the_budget_is_counted_in_redis(api, locations, redis_cache, rate_window_frozen):
    client, prefix = redis_cache
    params = {"subdomain": api.subdomain, "location_id": locations[0].pk}

    statuses = [api.get("patients", params).status_code for _ in range(2)]
    counters = [key.decode() for key in client.scan_iter(f"{prefix}:*api-rate*records*")]
    # Another web process spends one request of the same budget (3): the next one here is the fourth.
    client.incr(counters[0])

    assert statuses == [200, 200]
    assert len(counters) == 1
    assert_error(api.get("patients", params), 429)
