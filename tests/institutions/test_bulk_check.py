"""The CSV check runs in a Celery task, never in the upload request: the request stores the file and publishes the
check; the check reports progress on the import's bar and is resumed like the import when its worker dies."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from institutions import bulk, tasks
from institutions.models import BulkUpload, BulkUploadFile, BulkUploadRow
from portal.services import organization_enable_production
from tests.conftest import require_service
from tests.institutions.test_bulk_upload import csv_bytes, latest_upload, practice, upload_file
from tests.institutions.test_import_resumes import start_worker, wait_for
from tests.portal.test_celery_worker import redis_answers, redis_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(cast, alice_client):
    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    return cast.acme


@pytest.fixture
def no_validation(monkeypatch):
    """Validating a row in this process fails the test: the row rules and the rows' checker raise if called."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a row was validated in the web process")

    monkeypatch.setattr(bulk.services, "validate_rows", refuse)
    monkeypatch.setattr(bulk.rows, "clean_row", refuse)
    monkeypatch.setattr(bulk.rows, "validate_rows", refuse)
    return calls


def test_the_upload_request_stores_the_file_and_validates_no_row(alice_client, production, no_validation, monkeypatch):
    content = csv_bytes([practice(n) for n in range(1, 301)] + [practice(301, zip_code="nope")])
    published = []
    monkeypatch.setattr(tasks.check_bulk_upload, "apply_async", lambda args: published.append(tuple(args)))

    # Celery is eager in tests: what runs inside the request is what the request itself does plus what it
    # publishes on commit. Capture the commit callbacks (do not run them) and look at both.
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks, \
            CaptureQueriesContext(connection) as queries:
        response = upload_file(alice_client, content, check=False)

    upload = latest_upload()
    assert response.status_code == 302 and response["Location"] == reverse("institutions:bulk_detail",
                                                                            args=[upload.public_id])
    assert no_validation == []
    assert (upload.status, upload.row_count, upload.ready_count, upload.error_count) == ("uploaded", 301, 0, 0)
    assert not BulkUploadRow.objects.exists()
    assert not any("bulk_upload_row" in query["sql"].lower() and "insert" in query["sql"].lower()
                   for query in queries.captured_queries)
    assert bytes(BulkUploadFile.objects.get(upload=upload).content) == content  # nothing lost until it is checked
    # The only thing left for after the commit is publishing the check: to the broker, not run here.
    assert len(callbacks) == 1
    callbacks[0]()
    assert published == [(upload.pk,)]
    assert no_validation == [] and not BulkUploadRow.objects.exists()

    monkeypatch.undo()  # the worker's side
    assert bulk.bulk_upload_check(upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.row_count, upload.ready_count, upload.error_count) == ("validated", 301, 300, 1)
    assert BulkUploadRow.objects.filter(upload=upload).count() == 301
    assert not BulkUploadFile.objects.filter(upload=upload).exists()  # the rows hold it now


def test_while_the_check_runs_the_page_shows_the_imports_progress_bar_then_the_rows(alice_client, production):
    upload_file(alice_client, csv_bytes([practice(1), practice(2, emr_name="nope")]), check=False)
    upload = latest_upload()
    BulkUpload.objects.filter(pk=upload.pk).update(row_count=1000, processed_count=1500, check_started_at=timezone.now())
    url = reverse("institutions:bulk_progress", args=[upload.public_id])

    page = alice_client.get(reverse("institutions:bulk_detail", args=[upload.public_id])).content.decode()
    assert "Checking…" in page and 'id="bulk-progress-bar"' in page and f'hx-get="{url}"' in page
    assert "Confirm import" not in page and "Errors (" not in page
    fragment = alice_client.get(url, headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert 'max="3000" value="1500"' in body and "50% of 1,000 rows checked" in body
    assert 'hx-trigger="every 1s"' in body and "HX-Refresh" not in fragment

    BulkUpload.objects.filter(pk=upload.pk).update(row_count=2, processed_count=0)
    assert bulk.bulk_upload_check(upload.pk)
    done = alice_client.get(url, headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true"  # the page reloads into the check's rows
    page = alice_client.get(reverse("institutions:bulk_detail", args=[upload.public_id])).content.decode()
    assert "Errors (1)" in page and "Confirm import" in page and "hx-trigger" not in page


def test_the_check_writes_its_progress_as_it_goes(cast, production, monkeypatch):
    upload, _ = bulk.bulk_upload_create(organization=cast.acme, actor=cast.alice, filename="f.csv",
                                        content=csv_bytes([practice(n) for n in range(1, 11)]))
    seen = []
    real_insert = bulk.services.bulk_insert

    def watch(model, rows, *args, **kwargs):
        seen.append(BulkUpload.objects.values_list("processed_count", flat=True).get(pk=upload.pk))
        return real_insert(model, rows, *args, **kwargs)

    monkeypatch.setattr(bulk.services, "bulk_insert", watch)
    real_validate = bulk.services.validate_rows
    monkeypatch.setattr(bulk.services, "validate_rows",
                        lambda **kwargs: real_validate(**kwargs, every=3))  # report every 3 rows

    assert bulk.bulk_upload_check(upload.pk, batch_rows=4)

    assert seen == [24, 28, 30]  # validated (10) + matched (10) + stored so far, of 30
    upload.refresh_from_db()
    assert (upload.status, upload.processed_count, upload.check_started_at) == ("validated", 0, None)


def test_a_check_that_died_half_way_is_published_again_and_starts_over(cast, production, monkeypatch):
    content = csv_bytes([practice(n) for n in range(1, 11)])
    upload, _ = bulk.bulk_upload_create(organization=cast.acme, actor=cast.alice, filename="f.csv", content=content)
    real_insert, calls = bulk.services.bulk_insert, []

    def dies_at_the_second_batch(model, rows, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real_insert(model, rows, *args, **kwargs)

    monkeypatch.setattr(bulk.services, "bulk_insert", dies_at_the_second_batch)
    with pytest.raises(RuntimeError):
        bulk.bulk_upload_check(upload.pk, batch_rows=4)
    monkeypatch.undo()
    assert BulkUpload.objects.get(pk=upload.pk).status == "uploaded" and BulkUploadRow.objects.count() == 4
    assert BulkUploadFile.objects.filter(upload=upload).exists()  # nothing lost

    published = []
    monkeypatch.setattr(bulk.services, "enqueue_on_commit", lambda task, *args: published.append((task.name, args)))
    now = timezone.now()
    BulkUpload.objects.filter(pk=upload.pk).update(heartbeat_at=now - timedelta(seconds=30))
    assert tasks.resume_stalled_bulk_uploads() == 0  # a worker that still beats is left alone
    BulkUpload.objects.filter(pk=upload.pk).update(heartbeat_at=now - timedelta(seconds=46))
    assert tasks.resume_stalled_bulk_uploads() == 1
    assert published == [("institutions.tasks.check_bulk_upload", (upload.pk,))]
    assert tasks.resume_stalled_bulk_uploads() == 0  # claimed: not published twice

    assert tasks.check_bulk_upload.delay(upload.pk).get()  # what the worker runs when it takes it

    upload.refresh_from_db()
    assert (upload.status, upload.row_count, upload.ready_count) == ("validated", 10, 10)
    assert sorted(BulkUploadRow.objects.values_list("number", flat=True)) == list(range(2, 12))  # none twice
    assert settings.CELERY_BEAT_SCHEDULE["resume-stalled-bulk-uploads"]["schedule"] <= timedelta(seconds=20)


def test_a_check_taken_over_by_another_run_stops_writing(cast, production, monkeypatch):
    upload, _ = bulk.bulk_upload_create(organization=cast.acme, actor=cast.alice, filename="f.csv",
                                        content=csv_bytes([practice(n) for n in range(1, 11)]))
    real_validate = bulk.services.validate_rows

    def taken_over_meanwhile(**kwargs):
        rows = real_validate(**kwargs)
        BulkUpload.objects.filter(pk=upload.pk).update(check_started_at=timezone.now())  # another run claimed it
        return rows

    monkeypatch.setattr(bulk.services, "validate_rows", taken_over_meanwhile)

    assert not bulk.bulk_upload_check(upload.pk)
    assert BulkUpload.objects.get(pk=upload.pk).status == "uploaded" and not BulkUploadRow.objects.exists()


def test_uploading_a_file_that_is_being_checked_leads_to_its_check(alice_client, production):
    content = csv_bytes([practice(1), practice(2)])
    upload_file(alice_client, content, check=False)
    response = upload_file(alice_client, content, "again.csv", check=False)

    upload = BulkUpload.objects.get()
    assert response["Location"] == reverse("institutions:bulk_detail", args=[upload.public_id])
    assert upload.status == "uploaded" and upload.filename == "practices.csv"


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_file_is_kept_and_the_page_says_the_check_waits(cast, celery_broker):
    from tests.conftest import client_for

    organization_enable_production(organization=cast.acme, actor=None)
    client = client_for(cast.alice)
    client.post(reverse("mode_switch"), {"test_mode": "off"})
    celery_broker("redis://127.0.0.1:1/0")  # nothing listens there: every publish is refused

    started = time.monotonic()
    response = upload_file(client, csv_bytes([practice(1), practice(2)]), check=False)

    assert response.status_code == 302 and time.monotonic() - started < 5
    upload = latest_upload()
    assert upload.status == "uploaded" and BulkUploadFile.objects.filter(upload=upload).exists()
    page = client.get(response["Location"]).content.decode()
    assert "the check starts by itself as soon as it is back" in page and "Waiting for a worker" in page
    # The stall check publishes it again once the broker answers; here, run what the worker would.
    assert bulk.bulk_upload_check(upload.pk)
    assert BulkUpload.objects.get(pk=upload.pk).ready_count == 2


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_with_a_real_worker_the_request_only_queues_and_the_worker_checks(cast, celery_broker, no_validation):
    require_service("Redis", redis_answers(redis_url()), redis_url())
    from tests.conftest import client_for

    queue = f"chairside-check-{time.time_ns()}"
    celery_broker(redis_url(), task_default_queue=queue)
    organization_enable_production(organization=cast.acme, actor=None)
    client = client_for(cast.alice)
    client.post(reverse("mode_switch"), {"test_mode": "off"})
    rows = 3000
    worker = start_worker(queue)
    try:
        started = time.monotonic()
        response = upload_file(client, csv_bytes([practice(n) for n in range(1, rows + 1)]), check=False)
        took = time.monotonic() - started

        assert response.status_code == 302 and no_validation == []  # this process validated nothing
        upload = latest_upload()
        checked = lambda: BulkUpload.objects.get(pk=upload.pk).status == "validated"
        assert wait_for(checked, 60, every=0.2), "the worker did not check the file"
    finally:
        worker.terminate()
        worker.wait(timeout=10)

    assert took < 1, f"the upload request took {took:.2f} s"
    upload.refresh_from_db()
    assert (upload.row_count, upload.ready_count) == (rows, rows)
    assert BulkUploadRow.objects.filter(upload=upload).count() == rows
