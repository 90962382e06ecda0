"""Where one request's time goes, in process: middleware and framework, authentication, throttling, queries,
serialization, rendering and the view's own code. Run by http_bench.py in a child process against the benchmark's
database (PostgreSQL and Redis when set), so the split is measured on the same stack as the throughput.

Each category's time is exclusive: a query run by the authentication counts as a query, not twice. Everything not
inside a named category (Django's handler, the middleware, DRF's dispatch, the test client) is "framework".
`--cprofile` also prints the 12 functions with the most own time for each request.

Usage (internal): python tests/bench/profile_split.py '<json: [[label, method, path, headers, body], ...]>'
"""

from __future__ import annotations

import cProfile
import functools
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = ("framework", "auth", "throttle", "query", "serialize", "render", "view")


class Split:
    """A stack of open categories; each one's own time excludes the categories opened inside it."""

    def __init__(self) -> None:
        self.totals = dict.fromkeys(CATEGORIES, 0.0)
        self.stack: list[list] = []

    def enter(self, category: str) -> None:
        self.stack.append([category, time.perf_counter(), 0.0])

    def leave(self) -> None:
        category, started, nested = self.stack.pop()
        spent = time.perf_counter() - started
        self.totals[category] += spent - nested
        if self.stack:
            self.stack[-1][2] += spent


SPLIT = Split()


def timed(category: str, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        SPLIT.enter(category)
        try:
            return function(*args, **kwargs)
        finally:
            SPLIT.leave()

    return wrapper


def instrument() -> None:
    from django.db import connection
    from django.template import Template
    from rest_framework import renderers, serializers, views

    from portal.api import auth, throttling

    patches = [
        (auth.BearerTokenAuthentication, "authenticate", "auth"),
        (throttling.ApiKeyRateThrottle, "allow_request", "throttle"),
        (serializers.Serializer, "data", "serialize"),
        (serializers.ListSerializer, "data", "serialize"),
        (renderers.JSONRenderer, "render", "render"),
        (Template, "render", "render"),
        (views.APIView, "initial", "framework"),
    ]
    for owner, name, category in patches:
        attribute = owner.__dict__[name]
        if isinstance(attribute, property):
            setattr(owner, name, property(timed(category, attribute.fget)))
        else:
            setattr(owner, name, timed(category, attribute))
    for name in ("dumps",):  # plain-Django JSON answers (JsonResponse, the fast paths) serialize with json.dumps
        setattr(json, name, timed("render", getattr(json, name)))

    def in_query(execute, sql, params, many, context):
        SPLIT.enter("query")
        try:
            return execute(sql, params, many, context)
        finally:
            SPLIT.leave()

    connection.execute_wrappers.append(in_query)
    # Views: everything a view does that is not a named category.
    original = views.APIView.dispatch
    views.APIView.dispatch = timed("view", original)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    use_cprofile = "--cprofile" in sys.argv
    plan = json.loads(next(a for a in sys.argv[1:] if not a.startswith("--")))
    instrument()
    client = Client(raise_request_exception=True, HTTP_HOST="127.0.0.1")
    results = {}
    for label, method, path, headers, body in plan:
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k.lower() != "cookie"}
        if "Cookie" in headers:
            name, _, value = headers["Cookie"].partition("=")
            client.cookies[name] = value

        def send():
            if method == "POST":
                return client.post(path, data=body, content_type="application/json", **extra)
            return client.get(path, **extra)

        for _ in range(2 if "10000" in label else 3):  # warm: imports, connections, caches
            response = send()
            assert response.status_code == 200, (label, response.status_code, response.content[:300])
        runs = 20 if "10000" not in label else 3
        SPLIT.totals = dict.fromkeys(CATEGORIES, 0.0)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            profiler = cProfile.Profile() if use_cprofile else None
            for _ in range(runs):
                if profiler:
                    profiler.enable()
                SPLIT.enter("framework")
                send()
                SPLIT.leave()
                if profiler:
                    profiler.disable()
            total = (time.perf_counter() - started) / runs
        results[label] = {"total_ms": total * 1000, "queries": len(queries) / runs,
                          **{k: v * 1000 / runs for k, v in SPLIT.totals.items()}}
        client.cookies.clear()
        if profiler:
            print(f"--- {label}: top functions by own time, {runs} requests", file=sys.stderr)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(12)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
