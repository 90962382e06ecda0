"""Health sweep benchmark (`make bench`): 100,000 active syncs of which 100 are past their deadline; prints how long
one sweep takes and how many syncs it read. Not a test: it prints, it asserts nothing about time.

Uses a throwaway database set up by the test runner: SQLite, or PostgreSQL when DATABASE_URL is set.
Usage: python tests/bench/monitoring_bench.py [syncs] [due]
"""

import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="chairside-sweep-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.runner import DiscoverRunner  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def main() -> None:
    total, due = (int(a) for a in (sys.argv[1:3] if len(sys.argv) > 2 else ("100000", "100")))
    setup_test_environment()
    runner = DiscoverRunner(verbosity=0, interactive=False)
    databases = runner.setup_databases()
    try:
        from django.utils import timezone

        from institutions.models import Institution
        from syncs.models import Sync, SyncStatus
        from syncs.monitoring import health_sweep

        now = timezone.now()
        started = time.perf_counter()
        institutions = Institution.objects.bulk_create(
            (Institution(name=f"Sweep {n:06d}", subdomain=f"sweep-{n}", is_sandbox=False) for n in range(total)),
            batch_size=5000)
        fresh, stale = now - timedelta(minutes=1), now - timedelta(hours=2)
        Sync.objects.bulk_create(
            (Sync(institution=i, ehr="opendental", status=SyncStatus.ACTIVE,
                  last_read_at=stale if n < due else fresh, last_write_at=stale if n < due else fresh,
                  # What heartbeats leave: the silent ones' deadline passed, the others' lies ahead.
                  health_deadline_at=stale + timedelta(minutes=30) if n < due else fresh + timedelta(minutes=30))
             for n, i in enumerate(institutions)), batch_size=5000)
        seeded = time.perf_counter() - started
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            recorded = health_sweep(now)
            first = time.perf_counter() - started
        started = time.perf_counter()
        again = health_sweep(now)
        second = time.perf_counter() - started
        print(f"Health sweep on {connection.vendor}: {total:,} active syncs, {due} past their deadline "
              f"(seeded in {seeded:.1f} s)")
        print(f"  first sweep:  {first * 1000:8.1f} ms, {recorded} changes recorded, {len(queries)} queries "
              "(target < 1 s)")
        print(f"  second sweep: {second * 1000:8.1f} ms, {again} changes (nothing due any more)")
    finally:
        runner.teardown_databases(databases)


if __name__ == "__main__":
    main()
