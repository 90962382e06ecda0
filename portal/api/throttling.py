"""Per-key request budgets per minute, counted in the shared cache (Redis in the full stack)."""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)


def count_in_window(key: str, window_seconds: int = 60) -> tuple[int, float]:
    """Increment a fixed-window counter; returns the count and the seconds left in the window."""
    now = time.time()
    window = int(now // window_seconds)
    cache_key = f"{key}:{window}"
    if hasattr(cache, "incr_window"):  # Redis: one round trip
        return cache.incr_window(cache_key, window_seconds * 2), window_seconds - (now % window_seconds)
    if cache.add(cache_key, 1, timeout=window_seconds * 2):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=window_seconds * 2)
            count = 1
    return count, window_seconds - (now % window_seconds)


class ApiKeyRateThrottle(BaseThrottle):
    """1,000 requests a minute per key for patients and appointments, 2,000 for the rest (settings.API_RATE_LIMITS)."""

    def allow_request(self, request, view) -> bool:
        client = getattr(request, "user", None)
        if client is None or not getattr(client, "is_authenticated", False):
            return True
        bucket = getattr(view, "rate_bucket", "default")
        limit = settings.API_RATE_LIMITS[bucket]
        try:
            count, self._wait = count_in_window(f"api-rate:{client.api_key.pk}:{bucket}")
        except Exception:  # the cache is down: serve rather than fail every request
            logger.warning("Rate-limit cache unavailable; request allowed", exc_info=True)
            return True
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


def failed_key_attempts_exceeded(ip: str | None) -> bool:
    """Too many bad API keys from one address recently (checked before the key is looked at).
    The cache down: not exceeded, so token renewal keeps working through a Redis outage (fails open, logged)."""
    try:
        count = cache.get(f"api-auth-failures:{ip}:{int(time.time() // 60)}") or 0
    except Exception:
        logger.warning("Failed-key counter unavailable; attempt allowed", exc_info=True)
        return False
    return count >= settings.API_FAILED_KEY_LIMIT


def record_failed_key_attempt(ip: str | None) -> None:
    try:
        count_in_window(f"api-auth-failures:{ip}")
    except Exception:
        logger.warning("Failed-key counter unavailable; attempt not counted", exc_info=True)
