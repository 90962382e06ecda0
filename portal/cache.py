"""The shared cache (Redis) fails open: an outage degrades rate limits, never sign-in or token renewal.

The cache only holds rate-limit counters and allauth's rate-limit locks, so answering "nothing stored, added
anyway" during an outage lets requests through without a limit, which is the lesser harm. After a failure the
backend stops calling Redis for BREAK_SECONDS (a frozen Redis would otherwise cost a socket timeout per call,
and a sign-in makes several), then tries again. Each outage is logged once when it starts.
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
BREAK_SECONDS = 10.0


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _call(self, name: str, fallback, *args, **kwargs):
        return self._guarded(fallback, getattr(super(), name), *args, **kwargs)

    def _guarded(self, fallback, function, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return function(*args, **kwargs)
        except OUTAGE_ERRORS as exc:
            with self._lock:
                first = time.monotonic() >= self._down_until
                self._down_until = time.monotonic() + BREAK_SECONDS
            if first:
                logger.warning("Cache unavailable (%s: %s); rate limits fail open for the next %ss",
                               exc.__class__.__name__, exc, int(BREAK_SECONDS))
            return fallback

    @property
    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def incr_window(self, key: str, timeout: int) -> int:
        """A fixed-window counter's next value: INCR and EXPIRE in one round trip (every API request counts one).
        During an outage: 1, so the limit fails open like the rest of the cache."""
        def incr():
            full_key = self.make_and_validate_key(key)
            pipeline = self._cache.get_client(full_key, write=True).pipeline(transaction=False)
            pipeline.incr(full_key)
            pipeline.expire(full_key, timeout, nx=True)
            return pipeline.execute()[0]

        return self._guarded(1, incr)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", True, key, value, timeout, version)  # "added": a lock is taken, a counter starts

    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", None, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", False, key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", delta, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", [], data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, keys, version)

    def clear(self):
        return self._call("clear", False)
