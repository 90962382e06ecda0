import csv
import io
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from institutions import bulk
from institutions.models import BulkUpload, BulkUploadRow, Institution, InstitutionAccess, TimelineEvent
from portal.models import AuditEvent
from portal.services import organization_enable_production
from syncs import services
from syncs.models import Sync, SyncStatus
from tests.factories import InstitutionFactory, SyncFactory

pytestmark = pytest.mark.django_db

COLUMNS = list(bulk.COLUMNS)


def practice(n: int, **overrides) -> dict:
    row = {
        "institution_name": f"Practice {n:05d} Dental", "street_address": f"{n} Main St", "street_address_2": "",
        "city": "Austin", "state": "TX", "zip_code": "78701", "phone_number": f"512-555-{n % 10000:04d}",
        "email": f"front@practice{n}.example", "website": f"practice{n}.example", "contact_name": "Dana Office",
        "contact_email": f"it@practice{n}.example", "is_parent_organization": "no", "emr_name": "opendental",
    }
    return {**row, **overrides}


def csv_bytes(rows: list[dict], *, columns=COLUMNS, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=delimiter, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload_file(client, content: bytes, name="practices.csv", *, check=True):
    """Upload as the page does; the check task the upload publishes on commit then runs (Celery is eager here)."""
    with TestCase.captureOnCommitCallbacks(execute=check):
        return client.post(reverse("institutions:bulk_upload"), {"file": SimpleUploadedFile(name, content, "text/csv")})


def create_checked(organization, actor, content: bytes, filename="f.csv") -> BulkUpload:
    """The service behind the page, then the check its task runs."""
    upload, _ = bulk.bulk_upload_create(organization=organization, actor=actor, filename=filename, content=content)
    bulk.bulk_upload_check(upload.pk)
    upload.refresh_from_db()
    return upload


def latest_upload() -> BulkUpload:
    return BulkUpload.objects.latest("id")


def row_errors(upload: BulkUpload, number: int) -> dict:
    return upload.rows.get(number=number).errors


@pytest.fixture
def production(cast, alice_client, bob_client):
    organization_enable_production(organization=cast.acme, actor=None)
    for client in (alice_client, bob_client):
        client.post(reverse("mode_switch"), {"test_mode": "off"})
    return cast.acme


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Confirming publishes the import once the transaction commits; run it (Celery is eager in tests)."""
    def confirm(client, upload):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("institutions:bulk_confirm", args=[upload.public_id]))
    return confirm


def created_institutions():
    return Institution.objects.filter(is_sandbox=False, accesses__isnull=False)


def production_syncs():
    return Sync.objects.filter(institution__is_sandbox=False)


# --- The page and the sample -------------------------------------------------------------------------------------

def test_the_sample_csv_has_exactly_the_columns_and_two_rows_that_pass_the_check(alice_client, production):
    response = alice_client.get(reverse("institutions:bulk_sample"))

    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == COLUMNS and len(rows) == 3
    upload_file(alice_client, response.content, "sample.csv")
    upload = latest_upload()
    assert (upload.status, upload.row_count, upload.ready_count, upload.error_count) == ("validated", 2, 2, 0)


def test_members_and_admins_may_upload(bob_client, production):
    page = bob_client.get(reverse("institutions:bulk_upload"))
    assert page.status_code == 200 and "Download the sample CSV" in page.content.decode()

    response = upload_file(bob_client, csv_bytes([practice(1)]))

    upload = latest_upload()
    assert response["Location"] == reverse("institutions:bulk_detail", args=[upload.public_id])
    assert upload.uploaded_by.email == "bob@acme.example" and upload.organization.name == "Acme Dental Apps"
    assert AuditEvent.objects.filter(verb="bulk_upload.checked").exists()


def test_in_test_mode_the_page_explains_that_uploads_create_production_institutions(alice_client, cast):
    page = alice_client.get(reverse("institutions:bulk_upload")).content.decode()
    assert "Uploads create production institutions" in page and 'type="file"' not in page

    response = upload_file(alice_client, csv_bytes([practice(1)]))
    assert response.status_code == 400 and not BulkUpload.objects.exists()
    organization_enable_production(organization=cast.acme, actor=None)  # production, but still in test mode
    response = upload_file(alice_client, csv_bytes([practice(1)]))
    assert response.status_code == 400 and "Switch Test mode off (top right)" in response.content.decode()


def test_another_organizations_upload_is_not_found(alice_client, olivia_client, production):
    upload_file(alice_client, csv_bytes([practice(1)]))
    upload = latest_upload()

    for name in ("bulk_detail", "bulk_progress", "bulk_result_csv"):
        assert olivia_client.get(reverse(f"institutions:{name}", args=[upload.public_id])).status_code == 404
    assert olivia_client.post(reverse("institutions:bulk_confirm", args=[upload.public_id])).status_code == 404
    assert BulkUpload.objects.get().status == "validated"


# --- Reading the file ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty"),
    (b"institution_name,city\n", "missing columns street_address, street_address_2, state"),
    (csv_bytes([], columns=COLUMNS + ["notes"]), "unknown column notes"),
    (csv_bytes([], columns=COLUMNS + ["city"]), "repeated column city"),
    (b"name;town\nA;B\n", "The first row must be the header"),
    (csv_bytes([]), "no rows"),
    (b"PK\x03\x04\x14\x00\x06\x00 rest of a workbook", "This is an Excel workbook"),
    (b"institution_name\n\x81\x8d\x8f\n", "encoding could not be read"),
    (b"institution_name,\x00\x00\n", "binary data"),
])
def test_unreadable_files_get_a_clear_message_never_a_500(alice_client, production, content, message):
    response = upload_file(alice_client, content)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BulkUpload.objects.exists()


def test_size_and_row_limits(alice_client, production, monkeypatch):
    monkeypatch.setattr(bulk.reader, "MAX_ROWS", 3)
    response = upload_file(alice_client, csv_bytes([practice(n) for n in range(1, 5)]))
    assert response.status_code == 400 and "more than 3 rows" in response.content.decode()

    monkeypatch.setattr(bulk, "MAX_BYTES", 1024 * 1024)  # the view refuses a large file before reading it
    monkeypatch.setattr(bulk.reader, "MAX_BYTES", 1024 * 1024)
    response = upload_file(alice_client, csv_bytes([practice(n) for n in range(1, 8000)]))
    assert response.status_code == 400
    assert "The file is 1.2 MB; the limit is 1 MB" in response.content.decode()
    assert "Split it into several files" in response.content.decode()
    with pytest.raises(bulk.UploadRefused, match="the limit is 1 MB"):  # the service checks too
        bulk.read_csv(b"x" * (1024 * 1024 + 1))
    assert not BulkUpload.objects.exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_common_encodings_are_read(alice_client, production, encoding):
    upload_file(alice_client, csv_bytes([practice(1, institution_name="Peña Family Dental", city="Española")],
                                        encoding=encoding))

    data = latest_upload().rows.get().data
    assert data["institution_name"] == "Peña Family Dental" and data["city"] == "Española"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_comma_semicolon_and_tab_separated_files_are_read(alice_client, production, delimiter):
    upload_file(alice_client, csv_bytes([practice(1, street_address="1 Main St, Suite 2"), practice(2)],
                                        delimiter=delimiter))

    upload = latest_upload()
    assert upload.ready_count == 2
    assert upload.rows.get(number=2).data["street_address"] == "1 Main St, Suite 2"


def test_headers_in_any_case_and_order_and_blank_lines_are_fine(alice_client, production):
    columns = [c.upper().replace("_", " ") for c in reversed(COLUMNS)]
    rows = [{c.upper().replace("_", " "): v for c, v in practice(1).items()}]
    content = csv_bytes(rows, columns=columns) + b"\r\n,,,,\r\n"

    upload_file(alice_client, content)

    assert latest_upload().ready_count == 1 and latest_upload().row_count == 1


def test_a_row_with_too_many_cells_says_to_quote(alice_client, production):
    content = csv_bytes([practice(1)]) + ",".join(practice(2).values()).replace("Main St", "Main St, Suite 2").encode()

    upload_file(alice_client, content)

    assert "put values that contain a comma in double quotes" in row_errors(latest_upload(), 3)["row"][0]


# --- Checking every row ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("column, value, message", [
    ("institution_name", "", "This column is required."),
    ("contact_email", "", "This column is required."),
    ("emr_name", "", "This column is required."),
    ("emr_name", "dentrix9", 'Unknown system "dentrix9": use one of athena, cloud9,'),
    ("phone_number", "555-0100", "Enter a 10-digit US phone number"),
    ("zip_code", "7870", "Enter a 5-digit ZIP code, like 78701. Spreadsheets drop leading zeros"),
    ("zip_code", "ABCDE", "Enter a 5-digit ZIP code"),
    ("email", "front@", "Enter a valid email address"),
    ("contact_email", "it at practice", "Enter a valid email address"),
    ("website", "not a site", "Enter a web address"),
    ("state", "Texas", "Enter a two-letter US state code"),
    ("is_parent_organization", "maybe", 'Enter "yes" or "no"'),
    ("institution_name", "x" * 201, "At most 200 characters (this has 201)."),
])
def test_each_bad_cell_is_explained_in_its_column(alice_client, production, column, value, message):
    upload_file(alice_client, csv_bytes([practice(1), practice(2, **{column: value})]))

    upload = latest_upload()
    assert (upload.ready_count, upload.error_count) == (1, 1)
    errors = row_errors(upload, 3)
    assert list(errors) == [column] and errors[column][0].startswith(message)
    page = alice_client.get(reverse("institutions:bulk_detail", args=[upload.public_id])).content.decode()
    assert "Errors (1)" in page and f"<code>{column}</code>" in page


def test_values_are_normalized_and_case_does_not_matter(alice_client, production, run_on_commit):
    upload_file(alice_client, csv_bytes([practice(1, state="wa", emr_name="OpenDental", is_parent_organization="YES",
                                                  phone_number="+1 (206) 555 0100", website="www.p1.example/")]))
    run_on_commit(alice_client, latest_upload())

    institution = Institution.objects.get(name="Practice 00001 Dental")
    assert (institution.state, institution.phone_number, institution.website) == ("WA", "2065550100", "https://www.p1.example/")
    assert institution.is_parent_organization and institution.tz == "America/Los_Angeles"


def test_identical_rows_are_duplicates(alice_client, production):
    upload_file(alice_client, csv_bytes([practice(1), practice(2), practice(1)]))

    upload = latest_upload()
    assert row_errors(upload, 4) == {"row": ["Duplicate of row 2: each row creates a sync, so remove the repeated row."]}
    assert (upload.ready_count, upload.error_count) == (2, 1)  # the first one is still imported


def test_same_name_and_zip_with_different_details_is_an_error(alice_client, production):
    upload_file(alice_client, csv_bytes([practice(1), practice(2, institution_name="Practice 00001 Dental ")]))

    assert "Row 2 has the same institution name and ZIP code" in row_errors(latest_upload(), 3)["institution_name"][0]


def test_an_institution_the_organization_already_has_is_an_error(alice_client, production, cast):
    InstitutionFactory(name="Practice 00001 Dental", subdomain="p1", zip_code="78701", created_by=cast.acme)

    upload_file(alice_client, csv_bytes([practice(1), practice(2)]))

    message = row_errors(latest_upload(), 2)["institution_name"][0]
    assert message.startswith("You already have an institution called Practice 00001 Dental at ZIP 78701 (subdomain p1)")


def test_an_institution_created_after_the_check_is_not_created_twice(alice_client, production, cast, run_on_commit):
    upload_file(alice_client, csv_bytes([practice(1), practice(1, emr_name="athena"), practice(2)]))
    meanwhile = InstitutionFactory(name="practice 00001 dental", subdomain="p1", zip_code="78701", created_by=cast.acme)

    run_on_commit(alice_client, latest_upload())

    upload = latest_upload()
    assert list(upload.rows.values_list("result", flat=True)) == ["skipped_exists", "skipped_exists", "created"]
    assert (upload.status, upload.created_institution_count, upload.processed_count) == ("done", 1, 3)
    assert not meanwhile.syncs.exists() and created_institutions().count() == 2


def test_a_bad_row_holds_back_its_whole_institution(alice_client, production):
    upload_file(alice_client, csv_bytes([practice(1), practice(1, emr_name="nope"), practice(2)]))

    upload = latest_upload()
    assert row_errors(upload, 2) == {"row": ["Row 3 of the same institution has errors: fix it first, so the "
                                             "institution is created with all its syncs."]}
    assert (upload.ready_count, upload.error_count) == (1, 2)


def test_practices_already_live_are_flagged_with_the_reason_and_skipped(alice_client, production, cast, run_on_commit):
    SyncFactory(ehr="dentrix", institution=InstitutionFactory(
        subdomain="live-one", name="Sunrise Dental", zip_code="30301", street_address="9 Peach St",
        phone_number="4045550100", created_by=cast.other))
    upload_file(alice_client, csv_bytes([practice(1, phone_number="(404) 555-0100"),
                                         practice(1, phone_number="(404) 555-0100", emr_name="athena"), practice(2)]))

    upload = latest_upload()
    assert (upload.ready_count, upload.match_count, upload.error_count) == (1, 2, 0)
    row = upload.rows.get(number=2)
    assert row.state == "match" and row.match[0]["name"] == "Sunrise Dental"
    assert row.match[0]["reasons"] == ["Same phone number (404) 555-0100"]
    page = alice_client.get(reverse("institutions:bulk_detail", args=[upload.public_id]) + "?show=matches").content.decode()
    assert "Already live (2)" in page and "Same phone number (404) 555-0100" in page and "Request access" in page
    live = Institution.objects.get(name="Sunrise Dental")
    assert reverse("institutions:request_access", args=[live.subdomain]) in page

    run_on_commit(alice_client, upload)

    assert not Institution.objects.filter(name="Practice 00001 Dental").exists()
    assert Institution.objects.filter(name="Practice 00002 Dental").exists()
    assert set(upload.rows.filter(state="match").values_list("result", flat=True)) == {"skipped_match"}


# --- Import -------------------------------------------------------------------------------------------------------

def test_confirming_imports_institutions_with_their_syncs(alice_client, production, cast, run_on_commit):
    upload_file(alice_client, csv_bytes([practice(1), practice(1, emr_name="athena"), practice(2, emr_name="dolphin"),
                                         practice(3, emr_name="x")]))
    upload = latest_upload()

    response = run_on_commit(alice_client, upload)

    assert response["Location"] == reverse("institutions:bulk_detail", args=[upload.public_id])
    upload.refresh_from_db()
    assert (upload.status, upload.created_institution_count, upload.created_sync_count) == ("done", 2, 3)
    assert upload.processed_count == upload.ready_count == 3 and upload.finished_at is not None
    first = Institution.objects.get(name="Practice 00001 Dental")
    assert first.subdomain == "practice-00001-dental" and first.tz == "America/Chicago" and not first.is_sandbox
    assert InstitutionAccess.objects.get(institution=first).organization == cast.acme
    syncs = {sync.ehr: sync for sync in production_syncs()}
    assert syncs["opendental"].status == SyncStatus.AWAITING_INSTALL and services.product_key_of(syncs["opendental"])
    assert syncs["athena"].status == SyncStatus.AWAITING_CREDENTIALS and services.extension_token_of(syncs["athena"])
    assert syncs["dolphin"].status == SyncStatus.AWAITING_SCHEDULE and syncs["dolphin"].created_by == cast.alice
    assert set(TimelineEvent.objects.filter(institution=first).values_list("verb", flat=True)) == {
        "institution.created", "sync.created"}
    assert TimelineEvent.objects.filter(institution=first, verb="institution.created").get().message.endswith(
        "from the CSV upload practices.csv")
    row = upload.rows.get(number=3)
    assert (row.result, row.institution, row.sync) == ("created", first, syncs["athena"])
    assert upload.rows.get(number=5).result == "skipped_error"
    assert AuditEvent.objects.filter(verb="institutions.bulk_imported", details__syncs=3).exists()
    page = alice_client.get(reverse("institutions:bulk_detail", args=[upload.public_id]) + "?show=all").content.decode()
    assert "3 of 3 rows" in page and "Created" in page and "hx-get" not in page


def test_taken_subdomains_get_a_suffix(alice_client, production, run_on_commit):
    InstitutionFactory(name="Someone else's", subdomain="practice-00001-dental")
    upload_file(alice_client, csv_bytes([practice(1), practice(2, institution_name="Upload")]))

    run_on_commit(alice_client, latest_upload())

    subdomains = set(created_institutions().values_list("subdomain", flat=True))
    assert len(subdomains) == 2 and "practice-00001-dental" not in subdomains and "upload" not in subdomains
    assert all(s.startswith(("practice-00001-dental-", "upload-")) for s in subdomains)


def test_confirming_twice_imports_once(alice_client, production, run_on_commit):
    upload_file(alice_client, csv_bytes([practice(1), practice(2)]))
    upload = latest_upload()

    run_on_commit(alice_client, upload)
    response = run_on_commit(alice_client, upload)
    assert bulk.bulk_upload_import(upload.pk) == 0  # a redelivered task finds nothing to do

    assert created_institutions().count() == 2 and production_syncs().count() == 2
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == ["This upload is already being imported: nothing was started twice."]


def test_uploading_the_same_file_again_leads_back_to_it(alice_client, production, run_on_commit):
    content = csv_bytes([practice(1), practice(2)])
    upload_file(alice_client, content)
    upload_file(alice_client, content, "again.csv")  # not confirmed yet: checked afresh, same upload
    assert BulkUpload.objects.count() == 1 and latest_upload().filename == "again.csv"
    assert BulkUploadRow.objects.count() == 2
    run_on_commit(alice_client, latest_upload())

    response = upload_file(alice_client, content, "third-time.csv")

    upload = BulkUpload.objects.get()
    assert response["Location"] == reverse("institutions:bulk_detail", args=[upload.public_id])
    assert upload.filename == "again.csv" and upload.status == "done"
    assert created_institutions().count() == 2 and production_syncs().count() == 2
    page = alice_client.get(response["Location"]).content.decode()
    assert "nothing is imported twice" in page


def test_a_failure_half_way_leaves_no_half_created_institution_and_the_import_resumes(
        alice_client, production, run_on_commit, monkeypatch, settings):
    rows = [practice(n) for n in range(1, 9)] + [practice(n, emr_name="athena") for n in range(1, 9)]
    upload_file(alice_client, csv_bytes(rows))
    upload = latest_upload()
    real_sync_build, calls = bulk.services.sync_build, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 7:  # in the second batch, after some of its institutions were inserted
            raise RuntimeError("database went away")
        return real_sync_build(*args, **kwargs)

    settings.BULK_IMPORT_BATCH_ROWS = 4
    monkeypatch.setattr(bulk.services, "sync_build", flaky)
    run_on_commit(alice_client, upload)

    upload.refresh_from_db()
    assert upload.status == "failed" and "resume the import" in upload.failure
    assert (upload.created_institution_count, upload.created_sync_count, upload.processed_count) == (2, 4, 4)
    created = created_institutions()
    assert created.count() == 2 and all(i.syncs.count() == 2 for i in created)  # whole, with both syncs
    assert TimelineEvent.objects.filter(institution__in=created).count() == 6
    assert upload.rows.filter(result="created").count() == 4
    page = alice_client.get(reverse("institutions:bulk_detail", args=[upload.public_id])).content.decode()
    assert "Resume import" in page

    monkeypatch.setattr(bulk.services, "sync_build", real_sync_build)
    run_on_commit(alice_client, upload)

    upload.refresh_from_db()
    assert (upload.status, upload.created_institution_count, upload.created_sync_count) == ("done", 8, 16)
    assert created_institutions().count() == 8 and production_syncs().count() == 16


def test_a_stalled_import_can_be_resumed(alice_client, production, run_on_commit):
    upload_file(alice_client, csv_bytes([practice(1)]))
    upload = latest_upload()
    BulkUpload.objects.filter(pk=upload.pk).update(status="importing", heartbeat_at=timezone.now() - timedelta(seconds=20))
    run_on_commit(alice_client, upload)  # its worker is alive: not started twice
    assert production_syncs().count() == 0

    BulkUpload.objects.filter(pk=upload.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=50))
    assert "The import has not moved" in alice_client.get(
        reverse("institutions:bulk_detail", args=[upload.public_id])).content.decode()
    run_on_commit(alice_client, upload)

    assert BulkUpload.objects.get().status == "done" and production_syncs().count() == 1


def test_queries_per_batch_do_not_grow_with_the_file(cast, production, monkeypatch):
    per_batch: list[int] = []
    real_batch = bulk.services._import_batch

    def counted(*args, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            result = real_batch(*args, **kwargs)
        per_batch.append(len(queries))
        return result

    monkeypatch.setattr(bulk.services, "_import_batch", counted)
    runs = {}
    for size, offset in ((100, 0), (300, 1000)):
        rows = [practice(offset + n, emr_name=("opendental", "athena", "dolphin")[n % 3]) for n in range(size)]
        upload = create_checked(cast.acme, cast.alice, csv_bytes(rows))
        BulkUpload.objects.filter(pk=upload.pk).update(status="importing", confirmed_by=cast.alice)
        per_batch.clear()
        assert bulk.bulk_upload_import(upload.pk, batch_rows=50) == size
        runs[size] = list(per_batch)

    assert len(runs[100]) == 2 and len(runs[300]) == 6
    assert len(set(runs[100] + runs[300])) == 1, runs
    # claim, rows, existing (by identity, by name and ZIP), subdomains, 4 kinds of inserts, the board sections,
    # row results, progress; on PostgreSQL also the commit setting and one id reservation per kind of insert (COPY)
    assert runs[100][0] <= 15 + (5 if connection.vendor == "postgresql" else 0)


# --- Progress and result ---------------------------------------------------------------------------------------------

def test_the_progress_fragment_counts_rows_and_polls_every_second(alice_client, production):
    upload_file(alice_client, csv_bytes([practice(1)]))
    upload = latest_upload()
    BulkUpload.objects.filter(pk=upload.pk).update(status="importing", ready_count=5000, processed_count=1240,
                                                   progress_at=timezone.now())
    url = reverse("institutions:bulk_progress", args=[upload.public_id])

    fragment = alice_client.get(url, headers={"HX-Request": "true"})

    body = fragment.content.decode()
    assert "1,240 of 5,000 rows" in body and 'hx-trigger="every 1s"' in body and f'hx-get="{url}"' in body
    assert "HX-Refresh" not in fragment
    page = alice_client.get(reverse("institutions:bulk_detail", args=[upload.public_id])).content.decode()
    assert 'hx-trigger="every 1s"' in page
    BulkUpload.objects.filter(pk=upload.pk).update(status="done", processed_count=5000)
    done = alice_client.get(url, headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true" and "hx-trigger" not in done.content.decode()


def test_the_result_csv_lists_every_row_and_cannot_carry_formulas(alice_client, production, run_on_commit):
    hostile = practice(1, contact_name="=HYPERLINK(\"http://evil.example\",\"x\")", street_address_2="+1 wing",
                       city="@Austin")
    upload_file(alice_client, csv_bytes([hostile, practice(2, zip_code="-1234")]))
    upload = latest_upload()
    run_on_commit(alice_client, upload)

    response = alice_client.get(reverse("institutions:bulk_result_csv", args=[upload.public_id]))

    assert response["Content-Disposition"] == 'attachment; filename="practices-result.csv"'
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["row", *COLUMNS, "result", "institution_subdomain", "sync_code", "message"]
    created, failed = rows
    institution = Institution.objects.get(name="Practice 00001 Dental")
    assert (created["row"], created["result"], created["institution_subdomain"]) == ("2", "created", institution.subdomain)
    assert created["sync_code"] == institution.syncs.get().code
    assert created["contact_name"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert created["street_address_2"] == "'+1 wing" and created["city"] == "'@Austin"
    assert failed["zip_code"] == "'-1234" and failed["result"] == "skipped: errors"
    assert failed["message"].startswith("zip_code: Enter a 5-digit ZIP code")
    for row in rows:
        assert not any(value[:1] in "=+-@" for value in row.values() if value)



def test_the_beat_check_resumes_an_import_whose_worker_went_silent_for_45_seconds(cast, production, monkeypatch):
    from institutions import tasks

    upload = create_checked(cast.acme, cast.alice, csv_bytes([practice(1)]))
    published = []
    monkeypatch.setattr(bulk.services, "enqueue_on_commit", lambda task, *args: published.append(args))
    now = timezone.now()
    BulkUpload.objects.filter(pk=upload.pk).update(status="importing", progress_at=now - timedelta(minutes=10),
                                                   heartbeat_at=now - timedelta(seconds=30))
    assert tasks.resume_stalled_bulk_uploads() == 0  # a long batch, but the worker still beats

    BulkUpload.objects.filter(pk=upload.pk).update(heartbeat_at=now - timedelta(seconds=46))
    assert tasks.resume_stalled_bulk_uploads() == 1
    assert published == [(upload.pk,)]
    assert tasks.resume_stalled_bulk_uploads() == 0  # claimed: the next tick does not publish it again
    assert "resume-stalled-bulk-uploads" in settings.CELERY_BEAT_SCHEDULE
    assert settings.CELERY_BEAT_SCHEDULE["resume-stalled-bulk-uploads"]["schedule"] <= timedelta(seconds=20)
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] >= 3600  # long tasks never run twice


@pytest.mark.django_db(transaction=True)
def test_the_importing_worker_writes_a_heartbeat_while_a_batch_runs(cast, production):
    upload, _ = bulk.bulk_upload_create(organization=cast.acme, actor=cast.alice, filename="f.csv",
                                        content=csv_bytes([practice(1)]))
    long_ago = timezone.now() - timedelta(minutes=5)
    BulkUpload.objects.filter(pk=upload.pk).update(status="importing", heartbeat_at=long_ago)

    with bulk.bulk_upload_heartbeat(upload.pk, every=timedelta(seconds=0.05)):
        deadline = time.monotonic() + 5
        while BulkUpload.objects.get(pk=upload.pk).heartbeat_at == long_ago and time.monotonic() < deadline:
            time.sleep(0.05)

    beat = BulkUpload.objects.get(pk=upload.pk).heartbeat_at
    assert beat > long_ago
    time.sleep(0.2)
    assert BulkUpload.objects.get(pk=upload.pk).heartbeat_at == beat  # stopped with the import
