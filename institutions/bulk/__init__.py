"""CSV bulk upload: many institutions and their syncs at once.

    upload (file-level checks only; the file stored)                          ->  uploaded   -> Celery check
    check (read + validate every row; matches with live practices flagged)    ->  validated
    confirm (conditional update)                                              ->  importing  -> Celery import
    import: batches of whole institutions, each batch one transaction         ->  done (or failed: resumable)

One CSV row is one sync; rows whose institution columns are identical are one institution with several syncs.
A batch is created with a constant number of queries (bulk inserts of institutions, accesses, syncs and
timeline events; one lookup of taken subdomains) and marks its rows done in the same transaction, so a
failure half-way leaves every institution either complete or absent, and a resumed import carries on where it
stopped. The same file (sha256) uploaded again by the organization leads back to the same upload.

    reader.py    the file: size, encoding, delimiter, header, cells (count_csv_rows: the request's one pass)
    rows.py      the row rules (the value rules are institutions.validators, shared with the form)
    services.py  create (store the file, queue the check), check, confirm, import (syncs built by
                 syncs.services.sync_build, subdomains by institutions.services.subdomains_for, as Create
                 Institution and Create sync do)
    result.py    the result CSV

Views and tasks use the names below.
"""

from institutions.bulk.reader import (
    COLUMNS, MAX_BYTES, MAX_ROWS, UploadRefused, count_csv_rows, read_csv, sample_csv,
)
from institutions.bulk.result import result_csv_lines
from institutions.bulk.rows import clean_row
from institutions.bulk.services import (
    STALLED_AFTER, bulk_upload_check, bulk_upload_confirm, bulk_upload_create, bulk_upload_heartbeat, bulk_upload_import,
    bulk_upload_stalled, bulk_uploads_resume_stalled,
)

__all__ = [
    "COLUMNS", "MAX_BYTES", "MAX_ROWS", "UploadRefused", "count_csv_rows", "read_csv", "sample_csv", "result_csv_lines", "clean_row",
    "STALLED_AFTER", "bulk_upload_check", "bulk_upload_confirm", "bulk_upload_create", "bulk_upload_heartbeat", "bulk_upload_import",
    "bulk_upload_stalled",
    "bulk_uploads_resume_stalled",
]
