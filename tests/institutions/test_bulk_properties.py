"""Property-based: whatever bytes arrive, the parser answers with a clear refusal or rows, never a crash, and
creating an upload from them either stores the file (then its check stores every row) or nothing."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from institutions import bulk
from institutions.models import BulkUpload, Institution

HEADER = ",".join(bulk.COLUMNS)
cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
rows = st.lists(st.lists(cells, min_size=0, max_size=len(bulk.COLUMNS) + 2), max_size=8)


def as_csv(header: str, body: list[list[str]], delimiter: str) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    out.write(header.replace(",", delimiter) + "\n")
    for row in body:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_read_or_refused_clearly(content):
    try:
        records = bulk.read_csv(content)
    except ValidationError as refusal:
        assert refusal.messages and all(isinstance(m, str) and m for m in refusal.messages)
    else:
        assert isinstance(records, list)


@settings(max_examples=150, deadline=None)
@given(rows, st.sampled_from([",", ";", "\t"]))
def test_well_headed_files_with_any_cells_are_read_or_refused_clearly(body, delimiter):
    try:
        records = bulk.read_csv(as_csv(HEADER, body, delimiter))
    except ValidationError as refusal:
        assert refusal.messages
    else:
        for _number, data, _raw in records:
            errors = bulk.clean_row(data)[1]
            assert isinstance(errors, dict)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows)
def test_an_upload_is_stored_whole_or_not_at_all(cast, body):
    from portal.services import organization_enable_production

    organization_enable_production(organization=cast.acme, actor=None)
    content = as_csv(HEADER, body, ",") + str(BulkUpload.objects.count()).encode()  # a new file every example
    before = (BulkUpload.objects.count(), Institution.objects.count())
    try:
        upload, _ = bulk.bulk_upload_create(organization=cast.acme, actor=cast.alice, filename="f.csv", content=content)
    except ValidationError:
        assert (BulkUpload.objects.count(), Institution.objects.count()) == before
    else:
        assert upload.rows.count() == 0 and upload.status == "uploaded"  # the request stores the file only
        assert bulk.bulk_upload_check(upload.pk)  # what the check task runs
        upload.refresh_from_db()
        assert upload.status == "validated" and upload.row_count == len(bulk.read_csv(content))
        assert upload.rows.count() == len(bulk.read_csv(content))  # every row read is stored, checked
        assert Institution.objects.count() == before[1]  # checking never creates institutions
