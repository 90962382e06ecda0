"""A large CSV is checked by a real Celery worker: the upload answers at once and the page's progress bar moves
(htmx polling) until the page turns into the check's rows. Eager tasks could not show this: the bar would never
be seen between empty and full."""

import os
import re
import time

import pytest
from playwright.sync_api import expect

from institutions.models import BulkUpload
from portal.services import organization_enable_production
from tests.conftest import require_service
from tests.e2e.test_api_keys_and_sandbox import sign_in
from tests.e2e.test_consent_and_bulk import csv_file
from tests.institutions.test_bulk_upload import practice
from tests.institutions.test_import_resumes import start_worker
from tests.portal.test_celery_worker import redis_answers, redis_url

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROWS = 15_000  # a few seconds of checking: a dozen progress writes, several polls


def test_the_check_of_a_large_file_shows_its_progress_bar_moving(live_server, browser, cast, celery_broker,
                                                                   screenshot):
    require_service("Redis", redis_answers(redis_url()), redis_url())
    queue = f"chairside-e2e-check-{os.getpid()}-{time.time_ns()}"
    celery_broker(redis_url(), task_default_queue=queue)  # the live server publishes to the worker's queue
    organization_enable_production(organization=cast.acme, actor=None)
    worker = start_worker(queue)
    try:
        page = browser.new_context().new_page()
        sign_in(page, live_server, "alice@acme.example")
        page.get_by_role("switch").click()
        page.goto(f"{live_server.url}/institutions/upload/")
        page.get_by_label("CSV file").set_input_files(csv_file([practice(n) for n in range(1, ROWS + 1)]))

        started = time.monotonic()
        page.get_by_role("button", name="Check file").click()
        expect(page.get_by_role("heading", name="Checking…")).to_be_visible()
        answered = time.monotonic() - started

        bar = page.locator("#bulk-progress-bar")
        seen: list[int] = []  # what the browser's bar showed
        written: list[int] = []  # what the worker had written, read every 100 ms
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not page.get_by_role("button", name="Confirm import").is_visible():
            try:
                value = bar.get_attribute("value", timeout=200)
            except Exception:  # noqa: BLE001 - swapped by htmx or the page reloading into the rows
                value = None
            if value is not None and (not seen or int(value) != seen[-1]):
                seen.append(int(value))
                if len(seen) == 3:
                    screenshot(page, "bulk-check-progress")
            stored = BulkUpload.objects.filter(status=BulkUpload.Status.UPLOADED).values_list(
                "processed_count", flat=True).first()
            if stored and (not written or stored != written[-1]):
                written.append(stored)
            page.wait_for_timeout(100)

        expect(page.get_by_role("button", name="Confirm import")).to_be_visible()
    finally:
        worker.terminate()
        worker.wait(timeout=10)

    assert answered < 5, f"the upload page took {answered:.1f} s to answer"  # the request only stores the file
    # The worker writes its progress in steps and the page's polling shows them. The browser polls once a second, so
    # on a fast machine it may catch only one step between empty and full; the steps themselves are read here.
    steps = [value for value in written if 0 < value < 3 * ROWS]
    assert len(steps) >= 3 and steps == sorted(steps), f"the check did not write its progress as it went: {written}"
    moving = [value for value in seen if 0 < value < 3 * ROWS]
    assert moving and moving == sorted(moving), f"the bar did not move: {seen}"
    upload = BulkUpload.objects.get()
    assert (upload.status, upload.ready_count) == ("validated", ROWS)
    expect(page.get_by_text(re.compile(r"Ready \(15,000\)"))).to_be_visible()
