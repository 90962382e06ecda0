"""CSV bulk upload benchmark: the upload request, the check task and the import task for 5,000 and 50,000 rows;
prints seconds, rows per second and each task's peak resident memory.

Run with `make bench` (or `.venv/bin/python tests/bench/bulk_bench.py [5000 50000 ...] [--profile]`). It uses a
throwaway database set up by the test runner: PostgreSQL when DATABASE_URL is set, else SQLite (a file, so the
task processes share it), and 2,000 live institutions of another organization for the matching to search.

- upload request: the page's POST through Django's test client, as a signed-in developer; the broker publish is
  recorded instead of sent (a Redis LPUSH), so the time is the request's own work. Target: under 1 s.
- check and import: each task's body (the same function the Celery worker runs, heartbeat thread included) in a
  fresh Python process, as a worker process runs it; its peak RSS is that process's ru_maxrss (Django and the
  data included). Import target: 50,000 rows in under 30 s, peak RSS under 300 MB.
- end to end: upload request + check + confirm + import, as a developer waits for them with an idle worker.
`--profile` prints each task's top functions (cProfile, cumulative) from inside its process (stderr).
"""

import csv
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="chairside-bulk-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402
from django.test.runner import DiscoverRunner  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

SYSTEMS = ("opendental", "dentrix", "athena", "dolphin", "curve2", "eaglesoft")
PROFILE = "--profile" in sys.argv


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
    from institutions.board import board_sections_refresh_for
    from institutions.models import Institution, InstitutionAccess
    from syncs.models import Sync, SyncStatus

    institutions = Institution.objects.bulk_create(
        Institution(name=f"Elsewhere {n} Dental", subdomain=f"elsewhere-{n}", zip_code=f"{10000 + n:05d}",
                    phone_number=f"212{n:07d}", street_address=f"{n} Broadway", website=f"https://elsewhere{n}.example")
        for n in range(count))
    InstitutionAccess.objects.bulk_create(InstitutionAccess(organization=organization, institution=i, via="created")
                                          for i in institutions)
    Sync.objects.bulk_create(Sync(institution=i, ehr="dentrix", status=SyncStatus.ACTIVE) for i in institutions)
    board_sections_refresh_for(i.pk for i in institutions)  # bulk_create skips the receivers


TASK_PROCESS = """
import cProfile, os, pstats, sys, time
import django
django.setup()
from institutions import tasks
task = getattr(tasks, sys.argv[1])
profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
started, cpu = time.perf_counter(), time.process_time()
if profiler:
    profiler.enable()
task.run(int(sys.argv[2]))  # not eager: the heartbeat thread runs, as in the worker
took, cpu = time.perf_counter() - started, time.process_time() - cpu
if profiler:
    profiler.disable()
    print(f"--- {task.name}: top functions (cumulative) ---", file=sys.stderr)
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
import resource
print(took, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def database_url() -> str:
    """The test database, for the task processes."""
    db = connections["default"].settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def in_task_process(task, upload_id: int) -> tuple[float, float, int]:
    """Run a Celery task's body in a fresh Python process, as a worker process runs it (Django loaded, nothing
    else). Returns (seconds, its own CPU seconds, its peak RSS in kB: its own ru_maxrss). The CPU seconds leave out
    the database server's work and time lost to other processes on a busy machine.

    Started by a shell that forks it: a process this bench execs directly would inherit the bench's own peak in
    its ru_maxrss (Linux carries the high-water mark across fork and exec), a fork of the small shell does not.
    """
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_ENV": "test",
           "DATABASE_URL": database_url(), "CELERY_TASK_ALWAYS_EAGER": "false", "REDIS_URL": ""}
    if PROFILE:
        env["BENCH_PROFILE"] = "1"
    output = subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c", TASK_PROCESS,
                             task.__name__, str(upload_id)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
                            check=True).stdout
    took, cpu, peak = output.strip().splitlines()[-1].split()
    return float(took), float(cpu), int(peak)


def run(client, organization, user, count: int, offset: int) -> dict:
    from django.urls import reverse

    from institutions import bulk, tasks
    from institutions.models import BulkUpload

    content = csv_content(count, offset)
    published = []
    for task in (tasks.check_bulk_upload, tasks.import_bulk_upload):  # what the broker would receive
        task.apply_async = lambda args, _name=task.name: published.append((_name, args))
    upload_file = io.BytesIO(content)
    upload_file.name = f"bench-{count}-{offset}.csv"
    started = time.perf_counter()
    response = client.post(reverse("institutions:bulk_upload"), {"file": upload_file})
    request = time.perf_counter() - started
    assert response.status_code == 302, response.content.decode().split('id="main"')[-1][:1000]
    upload = BulkUpload.objects.latest("id")
    assert published == [("institutions.tasks.check_bulk_upload", (upload.pk,))] and upload.status == "uploaded"

    check, check_cpu, check_rss = in_task_process(tasks.check_bulk_upload, upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.ready_count) == ("validated", count), (upload.status, upload.ready_count,
                                                                         upload.error_count, upload.match_count)
    started = time.perf_counter()
    assert bulk.bulk_upload_confirm(upload=upload, actor=user)
    confirm = time.perf_counter() - started
    load, import_cpu, import_rss = in_task_process(tasks.import_bulk_upload, upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.created_sync_count) == ("done", count), (upload.status, upload.created_sync_count)
    return {"request": request, "check": check, "check_cpu": check_cpu, "check_rss": check_rss, "confirm": confirm,
            "import": load, "import_cpu": import_cpu, "import_rss": import_rss}


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:] if not arg.startswith("--")] or [5_000, 50_000]
    setup_test_environment()
    runner = DiscoverRunner(verbosity=0, interactive=False)
    databases = runner.setup_databases()
    try:
        from allauth.account.models import EmailAddress
        from django.test import Client

        from portal.models import User
        from portal.services import organization_create, organization_enable_production

        user = User.objects.create_user(email="bench@example.com", password="x-long-password")
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        organization = organization_create(name="Bench", admin=user)
        organization_enable_production(organization=organization, actor=None)
        other = organization_create(name="Elsewhere", admin=User.objects.create_user(email="else@example.com"))
        live_elsewhere(other, 2_000)
        client = Client()
        client.force_login(user)
        client.post("/mode/", {"test_mode": "off"})

        vendor = connections["default"].vendor
        print(f"CSV bulk upload on {vendor}: the upload request, then each task in a fresh process "
              "(targets: request < 1 s; 50,000-row import < 30 s, peak RSS < 300 MB)")
        print(f"{'rows':>8} {'request s':>10} {'check s':>8} {'(cpu)':>6} {'check rows/s':>13} {'check RSS MB':>13} "
              f"{'import s':>9} {'(cpu)':>6} {'import rows/s':>14} {'import RSS MB':>14} {'end to end s':>13}")
        offset = 0
        for size in sizes:
            r = run(client, organization, user, size, offset)
            offset += size
            total = r["request"] + r["check"] + r["confirm"] + r["import"]
            print(f"{size:>8,} {r['request']:>10.3f} {r['check']:>8.2f} {r['check_cpu']:>6.1f} "
                  f"{size / r['check']:>13,.0f} {r['check_rss'] / 1024:>13.0f} {r['import']:>9.2f} "
                  f"{r['import_cpu']:>6.1f} {size / r['import']:>14,.0f} "
                  f"{r['import_rss'] / 1024:>14.0f} {total:>13.2f}", flush=True)
        print(f"bench process (upload requests, file generation) peak RSS: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        runner.teardown_databases(databases)


if __name__ == "__main__":
    main()
