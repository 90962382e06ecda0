"""`make bench` is not part of `make test`; this keeps its scripts importable and its baseline answering."""

import importlib

import pytest
from django.test import Client, override_settings


@pytest.mark.parametrize("module", ["http_bench", "profile_split", "seed", "bulk_bench"])
def test_the_bench_scripts_import(module):
    importlib.import_module(f"tests.bench.{module}")


def test_wrk_output_is_read_into_rates_and_percentiles():
    from tests.bench.http_bench import parse_wrk

    run = parse_wrk("x", "  Latency     2.10ms  1.00ms  20.00ms   90%\n  Latency Distribution\n     50%    1.50ms\n"
                         "     75%    2.00ms\n     90%    3.00ms\n     99%   12.00ms\n  1000 requests in 1.00s\n"
                         "  Non-2xx or 3xx responses: 2\nRequests/sec:   1000.50\n")

    assert (run.rps, run.p50_ms, run.p99_ms, run.errors, run.requests) == (1000.5, 1.5, 12.0, 2, 1000)


@override_settings(ROOT_URLCONF="tests.bench.urls")
def test_the_bare_baseline_view_answers(db):
    response = Client().get("/bench/bare")

    assert response.status_code == 200 and response.json() == {"data": {"ok": True}, "code": True}
