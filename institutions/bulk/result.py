"""The result CSV: each input row, what happened to it, and where its institution and sync are."""

import csv
import io
from collections.abc import Iterator

from institutions.bulk.reader import COLUMNS
from institutions.bulk.rows import row_message
from institutions.models import BulkUpload
from portal.csv_safety import csv_safe

RESULT_COLUMNS = ("row", *COLUMNS, "result", "institution_subdomain", "sync_code", "message")
RESULT_WORDS = {
    "": "not imported", "created": "created", "skipped_error": "skipped: errors",
    "skipped_match": "skipped: already live, request access", "skipped_exists": "skipped: already in your institutions",
}

STATE_WORDS = {"ready": "not imported yet", "error": "errors", "match": "already live, request access"}


def result_csv_lines(upload: BulkUpload) -> Iterator[str]:
    """The result CSV, line by line (streamed): each input row plus what happened to it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_safe(value) for value in values])
        return buffer.getvalue()

    yield "\ufeff" + line(RESULT_COLUMNS)  # a BOM, so Excel reads UTF-8
    rows = (upload.rows.order_by("number")
            .values_list("number", "data", "state", "result", "message", "errors", "match", "institution__subdomain",
                         "sync__code"))
    for number, data, state, result, message, errors, match, subdomain, sync_code in rows.iterator(chunk_size=2000):
        word = RESULT_WORDS[result] if result else STATE_WORDS[state]
        yield line([number, *(data.get(column, "") for column in COLUMNS), word, subdomain or "", sync_code or "",
                    row_message(errors, match, message)])

