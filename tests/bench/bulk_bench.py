"""CSV bulk upload benchmark: check and import 5,000 and 50,000 rows; print rows per second and peak memory.

Run with `make bench` (or `.venv/bin/python tests/bench/bulk_bench.py [5000 50000 ...]`). It uses a throwaway
SQLite database (or DATABASE_URL) set up by the test runner, the real services (the same the views and the Celery
task call) and 2,000 live institutions of another organization for the matching to search. Each size runs twice
with fresh practices: once timed, once under tracemalloc for the peak memory (tracemalloc slows Python down).
"""

import csv
import io
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="chairside-bulk-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")

import django  # noqa: E402

django.setup()

from django.test.runner import DiscoverRunner  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

SYSTEMS = ("opendental", "dentrix", "athena", "dolphin", "curve2", "eaglesoft")


def csv_content(count: int, offset: int) -> bytes:
    """`count` rows; every 10th practice has a second sync (two rows with the same institution columns)."""
    from institutions.bulk import COLUMNS

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    n = offset
    written = 0
    while written < count:
        institution = [f"Practice {n:06d} Dental", f"{n % 9000 + 100} Main Street", "", "Austin", "TX",
                       f"{78000 + n % 900:05d}", f"(512) {200 + n // 10000 % 800:03d}-{n % 10000:04d}",
                       f"front@practice{n}.example", f"https://practice{n}.example", "Dana Office",
                       f"it@practice{n}.example", "no"]
        for k in range(2 if n % 10 == 0 else 1):
            if written < count:
                writer.writerow([*institution, SYSTEMS[(n + k) % len(SYSTEMS)]])
                written += 1
        n += 1
    return out.getvalue().encode()


def live_elsewhere(organization, count: int) -> None:
    from institutions.models import Institution, InstitutionAccess
    from syncs.models import Sync, SyncStatus

    institutions = Institution.objects.bulk_create(
        Institution(name=f"Elsewhere {n} Dental", subdomain=f"elsewhere-{n}", zip_code=f"{10000 + n:05d}",
                    phone_number=f"212{n:07d}", street_address=f"{n} Broadway", website=f"https://elsewhere{n}.example")
        for n in range(count))
    InstitutionAccess.objects.bulk_create(InstitutionAccess(organization=organization, institution=i, via="created")
                                          for i in institutions)
    Sync.objects.bulk_create(Sync(institution=i, ehr="dentrix", status=SyncStatus.ACTIVE) for i in institutions)


def run(organization, user, count: int, offset: int, *, trace: bool) -> tuple[float, float, int]:
    from institutions import bulk
    from institutions.models import BulkUpload

    content = csv_content(count, offset)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    upload, _ = bulk.bulk_upload_create(organization=organization, actor=user, filename=f"bench-{count}.csv",
                                        content=content)
    checked = time.perf_counter()
    assert upload.ready_count == count, (upload.ready_count, upload.error_count, upload.match_count)
    BulkUpload.objects.filter(pk=upload.pk).update(status="importing", confirmed_by=user)
    created = bulk.bulk_upload_import(upload.pk)  # what the Celery task runs
    imported = time.perf_counter()
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert created == count and BulkUpload.objects.get(pk=upload.pk).status == "done"
    return checked - started, imported - checked, peak


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [5_000, 50_000]
    setup_test_environment()
    runner = DiscoverRunner(verbosity=0, interactive=False)
    databases = runner.setup_databases()
    try:
        from portal.models import User
        from portal.services import organization_create, organization_enable_production

        user = User.objects.create_user(email="bench@example.com", password="x-long-password")
        organization = organization_create(name="Bench", admin=user)
        organization_enable_production(organization=organization, actor=None)
        other = organization_create(name="Elsewhere", admin=User.objects.create_user(email="else@example.com"))
        live_elsewhere(other, 2_000)

        print("CSV bulk upload: check (read, validate, match, store rows) and import (Celery task body)")
        print(f"{'rows':>8} {'check s':>8} {'check rows/s':>13} {'import s':>9} {'import rows/s':>14} {'peak MB':>8}")
        offset = 0
        for size in sizes:
            check, load, _ = run(organization, user, size, offset, trace=False)
            offset += size
            _, _, peak = run(organization, user, size, offset, trace=True)
            offset += size
            print(f"{size:>8,} {check:>8.2f} {size / check:>13,.0f} {load:>9.2f} {size / load:>14,.0f} "
                  f"{peak / 1024 / 1024:>8.1f}")
        # The operator's number: the whole process's peak resident memory (kB on Linux), Django and the data included.
        print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        runner.teardown_databases(databases)


if __name__ == "__main__":
    main()
