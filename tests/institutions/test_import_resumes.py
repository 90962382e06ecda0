"""A worker killed in the middle of a CSV import: another worker resumes it within about a minute (real Celery,
real Redis), through the stall check on the importing worker's heartbeat, never by redelivering early."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from institutions import bulk
from institutions.models import BulkUpload, BulkUploadRow, Institution
from portal.services import organization_enable_production
from syncs.models import Sync
from tests.conftest import require_service
from tests.institutions.test_bulk_upload import csv_bytes, practice
from tests.portal.test_celery_worker import ROOT, database_url_of_test_db, redis_answers, redis_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROWS = 200


def start_worker(queue: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_ENV": "test",
           "DATABASE_URL": database_url_of_test_db(), "REDIS_URL": redis_url(), "CELERY_TASK_ALWAYS_EAGER": "false",
           "BULK_IMPORT_BATCH_ROWS": "5"}  # many small transactions: the kill lands half-way
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--concurrency=1", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-Q", queue, "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(condition, seconds: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def test_a_killed_import_is_resumed_by_another_worker_within_about_a_minute(cast, celery_broker):
    require_service("Redis", redis_answers(redis_url()), redis_url())
    require_service("PostgreSQL", connection.vendor == "postgresql", "two processes writing at once")
    queue = f"chairside-import-{os.getpid()}-{time.time_ns()}"
    celery_broker(redis_url(), task_default_queue=queue)
    organization_enable_production(organization=cast.acme, actor=None)
    upload, _ = bulk.bulk_upload_create(organization=cast.acme, actor=cast.alice, filename="big.csv",
                                        content=csv_bytes([practice(n) for n in range(1, ROWS + 1)]))
    assert bulk.bulk_upload_check(upload.pk)  # the check task, here; the one published finds it done
    upload.refresh_from_db()
    first = start_worker(queue)
    second = None
    try:
        assert bulk.bulk_upload_confirm(upload=upload, actor=cast.alice)
        progress = lambda: BulkUpload.objects.get(pk=upload.pk).processed_count  # noqa: E731
        assert wait_for(lambda: progress() >= 20, 60), "the first worker never started importing"
        first.send_signal(signal.SIGKILL)  # no goodbye: its message stays unacknowledged, its heartbeat stops
        first.wait(timeout=10)
        killed_at, done_before = time.monotonic(), progress()
        assert 0 < done_before < ROWS and BulkUpload.objects.get(pk=upload.pk).status == BulkUpload.Status.IMPORTING

        second = start_worker(queue)  # idle, ready to take the import once the stall check publishes it again

        def resumed() -> bool:
            bulk.bulk_uploads_resume_stalled()  # what beat runs every 15 seconds
            return progress() > done_before

        assert wait_for(resumed, 120, every=15), "the import was not resumed"
        took = time.monotonic() - killed_at
        done = lambda: BulkUpload.objects.get(pk=upload.pk).status == BulkUpload.Status.DONE  # noqa: E731
        assert wait_for(done, 120, every=0.5), "the resumed import did not finish"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=10)

    # The stall threshold is 45 s and beat checks every 15 s: about a minute, with room for a loaded CI machine.
    assert took < 80, f"resumed {took:.0f} s after the kill"
    # Nothing lost, nothing twice: one institution and one sync per row.
    assert Institution.objects.filter(name__startswith="Practice ", is_sandbox=False).count() == ROWS
    assert Sync.objects.filter(institution__is_sandbox=False).count() == ROWS
    assert BulkUploadRow.objects.filter(upload=upload, result=BulkUploadRow.Result.CREATED).count() == ROWS
