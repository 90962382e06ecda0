"""CSV bulk upload: many institutions and their syncs at once.

    upload (read + validate every row; matches with live practices flagged)  ->  validated
    confirm (conditional update)                                              ->  importing  -> Celery import
    import: batches of whole institutions, each batch one transaction         ->  done (or failed: resumable)

One CSV row is one sync; rows whose institution columns are identical are one institution with several syncs.
A batch is created with a constant number of queries (bulk inserts of institutions, accesses, syncs and
timeline events; one lookup of taken subdomains) and marks its rows done in the same transaction, so a
failure half-way leaves every institution either complete or absent, and a resumed import carries on where it
stopped. The same file (sha256) uploaded again by the organization leads back to the same upload.
"""

import csv
import hashlib
import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Left
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify

from institutions.forms import US_STATES, normalize_phone
from institutions.matching import find_matches_many
from institutions.models import BulkUpload, BulkUploadRow, Institution, InstitutionAccess, PracticeTimeZone, TimelineEvent
from institutions.services import RESERVED_SUBDOMAINS, institution_name_key
from portal.audit import audit_record
from portal.models import Organization, User
from portal.outbox import enqueue_on_commit
from portal import crypto
from syncs.catalog import SYNC_OPTIONS
from syncs.models import InstallPath, Sync
from institutions.timeline import SUPPORT
from syncs.services import FIRST_STATUS, new_extension_token, new_product_key

logger = logging.getLogger(__name__)

COLUMNS = ("institution_name", "street_address", "street_address_2", "city", "state", "zip_code", "phone_number",
           "email", "website", "contact_name", "contact_email", "is_parent_organization", "emr_name")
INSTITUTION_COLUMNS = COLUMNS[:-1]
REQUIRED = frozenset({"institution_name", "street_address", "city", "state", "zip_code", "phone_number",
                      "contact_name", "contact_email", "emr_name"})
MAX_LENGTHS = {"institution_name": 200, "street_address": 200, "street_address_2": 200, "city": 100, "state": 50,
               "zip_code": 20, "phone_number": 30, "email": 254, "website": 200, "contact_name": 200,
               "contact_email": 254, "is_parent_organization": 10, "emr_name": 40}
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
BATCH_ROWS = 500
STALLED_AFTER = timedelta(minutes=5)
SUBDOMAIN_SUFFIX_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"

SAMPLE_ROWS = [
    {"institution_name": "Bright Smiles Dental", "street_address": "12 Main St", "street_address_2": "Suite 200",
     "city": "Austin", "state": "TX", "zip_code": "78701", "phone_number": "(512) 555-0100",
     "email": "front@brightsmiles.example", "website": "https://brightsmiles.example", "contact_name": "Dana Office",
     "contact_email": "it@brightsmiles.example", "is_parent_organization": "no", "emr_name": "opendental"},
    {"institution_name": "Lakeside Family Dentistry", "street_address": "400 Shore Dr", "street_address_2": "",
     "city": "Madison", "state": "WI", "zip_code": "53703", "phone_number": "(608) 555-0142",
     "email": "hello@lakesidefamily.example", "website": "lakesidefamily.example", "contact_name": "Sam Rivera",
     "contact_email": "sam@lakesidefamily.example", "is_parent_organization": "yes", "emr_name": "athena"},
]

TRUE_WORDS = {"yes", "y", "true", "t", "1", "x"}
FALSE_WORDS = {"", "no", "n", "false", "f", "0"}
ZIP_RE = re.compile(r"^\d{5}(-\d{4})?$")
_url_validator = URLValidator(schemes=["http", "https"])


class UploadRefused(ValidationError):
    """The file as a whole cannot be read (size, encoding, headers, ...); the message says what to do."""


# --- Reading the file --------------------------------------------------------------------------------------------

def sample_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(SAMPLE_ROWS)
    return out.getvalue()


def read_csv(content: bytes) -> list[tuple[int, dict[str, str], str]]:
    """(spreadsheet row number, cells by column, whole-row problem or '') for every non-blank row.

    Raises UploadRefused for problems with the file itself.
    """
    if len(content) > MAX_BYTES:
        raise UploadRefused(f"The file is {len(content) / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB "
                            f"(about {MAX_ROWS:,} rows). Split it into several files.")
    if not content.strip():
        raise UploadRefused("The file is empty. Start from the sample CSV: a header row, then one row per sync.")
    if content.startswith(b"PK\x03\x04") or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadRefused("This is an Excel workbook, not a CSV file. In Excel choose File > Save As > "
                            "CSV UTF-8 (Comma delimited), then upload that file.")
    text = _decode(content)
    if "\x00" in text:
        raise UploadRefused("The file contains binary data. Upload a CSV file (text, comma separated).")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        columns = _columns(header, delimiter)
        rows = []
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                raise UploadRefused(f"The file has more than {MAX_ROWS:,} rows. Split it into files of at most "
                                    f"{MAX_ROWS:,} rows.")
            problem = ""
            if len(record) > len(columns) and any(cell.strip() for cell in record[len(columns):]):
                problem = (f"This row has {len(record)} cells but the header has {len(columns)}: put values that "
                           f"contain a {_delimiter_name(delimiter)} in double quotes.")
            data = {column: (record[i].strip() if i < len(record) else "") for i, column in enumerate(columns)}
            rows.append((number, {column: data[column] for column in COLUMNS}, problem))
    except csv.Error as exc:
        raise UploadRefused(f"Row {reader.line_num} could not be read ({exc}). Check its quotes, then upload again.")
    if not rows:
        raise UploadRefused("The file has a header but no rows. Add one row per sync below the header.")
    return rows


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UploadRefused("The file's text encoding could not be read. Save it as CSV UTF-8 and upload again.")


def _delimiter(text: str) -> str:
    """The delimiter of the header line: csv.Sniffer's guess among , ; and tab, checked against the known columns."""
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    try:
        guess = csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        guess = ","
    candidates = [guess] + [d for d in (",", ";", "\t") if d != guess]
    known = set(COLUMNS)
    return max(candidates, key=lambda d: len({_header_name(h) for h in next(csv.reader([first_line], delimiter=d), [])} & known))


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]


def _header_name(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().strip('"').lstrip("\ufeff").strip().lower())


def _columns(header: list[str], delimiter: str) -> list[str]:
    names = [_header_name(cell) for cell in header]
    while names and not names[-1]:  # trailing empty header cells (a spreadsheet's extra delimiters)
        names.pop()
    expected = ", ".join(COLUMNS)
    if not set(names) & set(COLUMNS):
        raise UploadRefused(f"The first row must be the header: {expected}. Start from the sample CSV.")
    problems = []
    missing = [c for c in COLUMNS if c not in names]
    unknown = [n or "(empty)" for n in names if n not in COLUMNS]
    repeated = sorted({n for n in names if n in COLUMNS and names.count(n) > 1})
    if missing:
        problems.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    if repeated:
        problems.append(f"repeated column{'s' if len(repeated) > 1 else ''} {', '.join(repeated)}")
    if problems:
        raise UploadRefused(f"The header has {'; '.join(problems)}. The columns are exactly: {expected}.")
    return names


# --- Validating rows ---------------------------------------------------------------------------------------------

@dataclass
class Cleaned:
    """A row's values as the import stores them."""

    institution: dict
    option_key: str


def clean_row(data: dict[str, str]) -> tuple[Cleaned | None, dict[str, list[str]]]:
    """The row's values ready to store, or messages by column."""
    errors: dict[str, list[str]] = defaultdict(list)
    for column in COLUMNS:
        value = data.get(column, "")
        if column in REQUIRED and not value:
            errors[column].append("This column is required.")
        elif len(value) > MAX_LENGTHS[column]:
            errors[column].append(f"At most {MAX_LENGTHS[column]} characters (this has {len(value)}).")
    values = {column: data.get(column, "") for column in COLUMNS}

    state = values["state"].upper()
    if state and "state" not in errors and state not in US_STATES:
        errors["state"].append("Enter a two-letter US state code, like TX.")
    zip_code = values["zip_code"]
    if zip_code and "zip_code" not in errors and not ZIP_RE.match(zip_code):
        hint = " Spreadsheets drop leading zeros: format the column as text." if re.fullmatch(r"\d{3,4}", zip_code) else ""
        errors["zip_code"].append(f"Enter a 5-digit ZIP code, like 78701.{hint}")
    phone = ""
    if values["phone_number"] and "phone_number" not in errors:
        try:
            phone = normalize_phone(values["phone_number"])
        except forms.ValidationError as exc:
            errors["phone_number"].extend(exc.messages)
    for column in ("email", "contact_email"):
        if values[column] and column not in errors:
            try:
                validate_email(values[column])
            except ValidationError:
                errors[column].append("Enter a valid email address, like front@practice.com.")
    website = values["website"]
    if website and "website" not in errors:
        if "://" not in website:
            website = f"https://{website}"
        try:
            _url_validator(website)
        except ValidationError:
            errors["website"].append("Enter a web address, like https://smiles.example.com.")
    parent = values["is_parent_organization"].lower()
    if parent not in TRUE_WORDS | FALSE_WORDS:
        errors["is_parent_organization"].append('Enter "yes" or "no" (empty means no).')
    option_key = values["emr_name"].lower()
    if option_key and "emr_name" not in errors and option_key not in SYNC_OPTIONS:
        errors["emr_name"].append(f'Unknown system "{values["emr_name"]}": use one of {", ".join(sorted(SYNC_OPTIONS))}.')
    if errors:
        return None, dict(errors)
    return Cleaned(institution={
        "name": values["institution_name"], "street_address": values["street_address"],
        "street_address_2": values["street_address_2"], "city": values["city"], "state": state, "zip_code": zip_code,
        "phone_number": phone, "email": values["email"].lower(), "website": website,
        "contact_name": values["contact_name"], "contact_email": values["contact_email"].lower(),
        "is_parent_organization": parent in TRUE_WORDS, "tz": PracticeTimeZone.of_state(state),
    }, option_key=option_key), {}


def _institution_key(data: dict[str, str]) -> tuple:
    """Rows with the same key are one institution: the institution columns, ignoring case, spacing and phone format."""
    key = []
    for column in INSTITUTION_COLUMNS:
        value = " ".join(data.get(column, "").split()).casefold()
        if column == "phone_number":
            digits = re.sub(r"\D", "", value)
            value = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits or value
        elif column == "website":
            value = value.removeprefix("https://").removeprefix("http://").rstrip("/")
        elif column == "is_parent_organization":
            value = "yes" if value in TRUE_WORDS else "no" if value in FALSE_WORDS else value
        key.append(value)
    return tuple(key)


def _name_zip(name: str, zip_code: str) -> tuple[str, str]:
    return institution_name_key(name), zip_code[:5]


def validate_rows(*, organization: Organization, records: list[tuple[int, dict, str]]) -> list[BulkUploadRow]:
    """Unsaved rows with their errors, groups and matches. A constant number of queries per 150 institutions."""
    rows: list[BulkUploadRow] = []
    cleaned: dict[int, Cleaned] = {}
    group_of_key: dict[tuple, int] = {}
    first_of_row: dict[tuple, int] = {}
    group_of_name_zip: dict[tuple[str, str], int] = {}
    for number, data, problem in records:
        result, errors = clean_row(data)
        if problem:
            errors = {"row": [problem], **errors}
        key = _institution_key(data)
        group = group_of_key.setdefault(key, number)
        row = BulkUploadRow(number=number, group=group, data=data, errors=errors)
        row_key = (key, data.get("emr_name", "").lower())
        if row_key in first_of_row:
            row.errors = {"row": [f"Duplicate of row {first_of_row[row_key]}: each row creates a sync, so remove "
                                  "the repeated row."], **row.errors}
            row.duplicate = True
        else:
            first_of_row[row_key] = number
            row.duplicate = False
        if result is not None:
            cleaned[number] = result
            name_zip = _name_zip(result.institution["name"], result.institution["zip_code"])
            other = group_of_name_zip.setdefault(name_zip, group)
            if other != group:
                row.errors = {**row.errors, "institution_name": [
                    f"Row {other} has the same institution name and ZIP code with different details: make the "
                    "institution columns identical to add another sync to it, or change the name."]}
        rows.append(row)

    _flag_existing(organization, rows, cleaned)
    by_group: dict[int, list[BulkUploadRow]] = defaultdict(list)
    for row in rows:
        by_group[row.group].append(row)
    for group_rows in by_group.values():  # an institution is created with all its syncs, or not at all
        broken = [row for row in group_rows if row.errors and not row.duplicate]
        if broken:
            for row in group_rows:
                if not row.errors:
                    row.errors = {"row": [f"Row {broken[0].number} of the same institution has errors: fix it first, "
                                          "so the institution is created with all its syncs."]}
    _flag_matches(organization, by_group, cleaned)
    for row in rows:
        row.state = (BulkUploadRow.State.ERROR if row.errors else BulkUploadRow.State.MATCH if row.match
                     else BulkUploadRow.State.READY)
    return rows


def _flag_existing(organization: Organization, rows: list[BulkUploadRow], cleaned: dict[int, Cleaned]) -> None:
    """An institution the organization already has (same name and ZIP code, as Create Institution checks)."""
    zips = sorted({c.institution["zip_code"][:5] for c in cleaned.values()})
    existing: dict[tuple[str, str], str] = {}
    for start in range(0, len(zips), 500):
        for name, zip_code, subdomain in (Institution.objects.reachable_by(organization).filter(is_sandbox=False)
                                          .annotate(zip5=Left("zip_code", 5)).filter(zip5__in=zips[start:start + 500])
                                          .values_list("name", "zip_code", "subdomain")):
            existing[_name_zip(name, zip_code)] = subdomain
    for row in rows:
        if row.number in cleaned:
            institution = cleaned[row.number].institution
            subdomain = existing.get(_name_zip(institution["name"], institution["zip_code"]))
            if subdomain:
                row.errors = {**row.errors, "institution_name": [
                    f"You already have an institution called {institution['name']} at ZIP {institution['zip_code']} "
                    f"(subdomain {subdomain}). Add syncs to it from its page."]}


def _flag_matches(organization: Organization, by_group: dict[int, list[BulkUploadRow]],
                  cleaned: dict[int, Cleaned]) -> None:
    clean_groups = [group for group, group_rows in by_group.items() if not any(row.errors for row in group_rows)]
    candidates = [cleaned[group].institution for group in clean_groups]
    for group, matches in zip(clean_groups, find_matches_many(organization=organization, candidates=candidates)):
        if matches:
            for row in by_group[group]:
                row.match = [match.as_dict() for match in matches[:5]]


# --- Upload and confirm ------------------------------------------------------------------------------------------

def _require_production(organization: Organization) -> None:
    if organization.production_enabled_at is None:
        raise UploadRefused("Uploads create production institutions, and production is not enabled for your "
                            "organization yet: onboard practices once support upgrades you.")


def bulk_upload_create(*, organization: Organization, actor: User, filename: str, content: bytes,
                       ip: str | None = None) -> tuple[BulkUpload, bool]:
    """Read and check a CSV. Returns the upload and whether this file was already confirmed before (then it is
    shown as it is, nothing is checked or imported again)."""
    _require_production(organization)
    digest = hashlib.sha256(content).hexdigest()
    previous = BulkUpload.objects.filter(organization=organization, sha256=digest).first()
    if previous is not None and previous.status not in (BulkUpload.Status.UPLOADED, BulkUpload.Status.VALIDATED):
        return previous, True
    records = read_csv(content)
    filename = (filename or "upload.csv").replace("\\", "/").rsplit("/", 1)[-1][:255]
    rows = validate_rows(organization=organization, records=records)  # reads only: before taking the write lock
    try:
        with transaction.atomic():
            upload, created = BulkUpload.objects.get_or_create(
                organization=organization, sha256=digest,
                defaults={"filename": filename, "uploaded_by": actor})
            if not created:  # the same file again, not confirmed yet: check it afresh
                if not BulkUpload.objects.filter(pk=upload.pk, status__in=[BulkUpload.Status.UPLOADED,
                                                                           BulkUpload.Status.VALIDATED]).update(
                        status=BulkUpload.Status.UPLOADED, filename=filename, uploaded_by=actor,
                        created_at=timezone.now()):
                    upload.refresh_from_db()
                    return upload, True
                upload.rows.all().delete()
            for row in rows:
                row.upload = upload
            BulkUploadRow.objects.bulk_create(rows, batch_size=1000)
            counts = {state: sum(1 for row in rows if row.state == state) for state in BulkUploadRow.State.values}
            BulkUpload.objects.filter(pk=upload.pk).update(
                status=BulkUpload.Status.VALIDATED, validated_at=timezone.now(), row_count=len(rows),
                ready_count=counts["ready"], error_count=counts["error"], match_count=counts["match"],
                processed_count=0)
            audit_record(verb="bulk_upload.checked", actor=actor, organization=organization, target=upload,
                         target_label=filename, ip=ip, details={"rows": len(rows), **counts})
    except IntegrityError:  # the same file uploaded twice at the same moment: show the other one
        upload = BulkUpload.objects.get(organization=organization, sha256=digest)
        return upload, upload.status not in (BulkUpload.Status.UPLOADED, BulkUpload.Status.VALIDATED)
    upload.refresh_from_db()
    return upload, False


def bulk_upload_stalled(upload: BulkUpload, now=None) -> bool:
    """Importing, but no batch for a while (the worker died, the broker lost the task): it may be resumed."""
    now = now or timezone.now()
    return (upload.status == BulkUpload.Status.IMPORTING and upload.progress_at is not None
            and upload.progress_at < now - STALLED_AFTER)


def bulk_upload_confirm(*, upload: BulkUpload, actor: User, ip: str | None = None) -> bool:
    """Start (or resume) the import. Only one caller wins: confirming twice imports once. True if started."""
    from institutions.tasks import import_bulk_upload  # institutions.tasks imports this module: a real cycle

    _require_production(upload.organization)
    now = timezone.now()
    startable = (Q(status__in=[BulkUpload.Status.VALIDATED, BulkUpload.Status.FAILED])
                 | Q(status=BulkUpload.Status.IMPORTING, progress_at__lt=now - STALLED_AFTER))
    with transaction.atomic():
        started = BulkUpload.objects.filter(startable, pk=upload.pk, ready_count__gt=0).update(
            status=BulkUpload.Status.IMPORTING, confirmed_by=actor, confirmed_at=now, progress_at=now, failure="",
            finished_at=None)
        if not started:
            return False
        audit_record(verb="bulk_upload.confirmed", actor=actor, organization=upload.organization, target=upload,
                     target_label=upload.filename, ip=ip, details={"ready_rows": upload.ready_count})
        enqueue_on_commit(import_bulk_upload, upload.pk)
    upload.refresh_from_db()
    return True


# --- Import ------------------------------------------------------------------------------------------------------

def bulk_upload_import(upload_id: int, *, batch_rows: int | None = None) -> int:
    """Create the ready rows' institutions and syncs, batch by batch. Returns the number of syncs created.

    Safe to run twice (a redelivered task): each batch starts by claiming the upload with an UPDATE and only
    takes rows no batch has handled yet.
    """
    upload = BulkUpload.objects.select_related("organization", "confirmed_by").filter(
        pk=upload_id, status=BulkUpload.Status.IMPORTING).first()
    if upload is None:
        return 0
    rows = upload.rows.filter(result=BulkUploadRow.Result.PENDING)
    rows.filter(state=BulkUploadRow.State.ERROR).update(result=BulkUploadRow.Result.SKIPPED_ERROR)
    rows.filter(state=BulkUploadRow.State.MATCH).update(result=BulkUploadRow.Result.SKIPPED_MATCH)
    groups = list(rows.filter(state=BulkUploadRow.State.READY).order_by("group", "number")
                  .values_list("group", flat=True))
    created_here = set(upload.rows.filter(institution__isnull=False).values_list("institution_id", flat=True))
    created = 0
    try:
        for first, last in _batches(groups, batch_rows or BATCH_ROWS):
            created += _import_batch(upload, first, last, created_here)
    except Exception as exc:  # the batch rolled back; earlier batches stay; confirming again resumes
        logger.exception("Bulk upload %s stopped", upload.pk)
        BulkUpload.objects.filter(pk=upload.pk, status=BulkUpload.Status.IMPORTING).update(
            status=BulkUpload.Status.FAILED, finished_at=timezone.now(),
            failure=f"The import stopped ({exc.__class__.__name__}). Institutions already created are complete; "
                    "resume the import to create the rest.")
        return created
    with transaction.atomic():
        if BulkUpload.objects.filter(pk=upload.pk, status=BulkUpload.Status.IMPORTING).update(
                status=BulkUpload.Status.DONE, finished_at=timezone.now()):
            upload.refresh_from_db()
            audit_record(verb="institutions.bulk_imported", actor=upload.confirmed_by, organization=upload.organization,
                         target=upload, target_label=upload.filename,
                         details={"institutions": upload.created_institution_count, "syncs": upload.created_sync_count})
    return created


def _batches(groups: list[int], batch_rows: int) -> Iterator[tuple[int, int]]:
    """(first group, last group) ranges of whole institutions, about batch_rows rows each."""
    first, count = None, 0
    for index, group in enumerate(groups):
        if first is None:
            first = group
        count += 1
        ends_group = index + 1 == len(groups) or groups[index + 1] != group
        if ends_group and count >= batch_rows:
            yield first, group
            first, count = None, 0
    if first is not None:
        yield first, groups[-1]


def _import_batch(upload: BulkUpload, first_group: int, last_group: int, created_here: set[int]) -> int:
    """One transaction: institutions, accesses, syncs, timeline events, and the rows' results."""
    now = timezone.now()
    organization, actor = upload.organization, upload.confirmed_by
    actor_label = actor.email if actor else SUPPORT
    with transaction.atomic():
        # Claims the upload first (a row lock, or SQLite's write lock): a second worker waits, then finds no rows.
        if not BulkUpload.objects.filter(pk=upload.pk, status=BulkUpload.Status.IMPORTING).update(progress_at=now):
            return 0
        rows = list(upload.rows.filter(state=BulkUploadRow.State.READY, result=BulkUploadRow.Result.PENDING,
                                       group__gte=first_group, group__lte=last_group).order_by("group", "number"))
        if not rows:
            return 0
        by_group: dict[int, list[tuple[BulkUploadRow, Cleaned | None]]] = defaultdict(list)
        for row in rows:
            by_group[row.group].append((row, clean_row(row.data)[0]))
        skipped = []
        for group in list(by_group):
            if any(cleaned is None for _, cleaned in by_group[group]):  # the rules changed since the check
                for row, _ in by_group.pop(group):
                    row.result = BulkUploadRow.Result.SKIPPED_ERROR
                    errors = clean_row(row.data)[1]
                    row.message = (row_message(errors, [], "") or "Another row of this institution has errors.")[:500]
                    skipped.append(row)
        heads = {group: members[0][1].institution for group, members in by_group.items()}

        # Created since the check (Create Institution, another upload): skip, never a second one. Only what the
        # organization got since the check, in these ZIP codes, minus what this import created.
        zips = {data["zip_code"][:5] for data in heads.values()}
        existing = set()
        for pk, name, zip_code in (Institution.objects.filter(is_sandbox=False).annotate(zip5=Left("zip_code", 5))
                                   .filter(accesses__organization=organization, zip5__in=zips,
                                           accesses__status=InstitutionAccess.Status.ACTIVE,
                                           accesses__created_at__gte=upload.validated_at or upload.created_at)
                                   .order_by().values_list("pk", "name", "zip_code")):
            if pk not in created_here:
                existing.add(_name_zip(name, zip_code))
        for group in list(by_group):
            data = heads[group]
            if _name_zip(data["name"], data["zip_code"]) in existing:
                for row, _ in by_group.pop(group):
                    row.result = BulkUploadRow.Result.SKIPPED_EXISTS
                    row.message = f"You already have an institution called {data['name']} at ZIP {data['zip_code']}."
                    skipped.append(row)

        subdomains = _subdomains({group: heads[group]["name"] for group in by_group})
        institutions = {group: Institution(subdomain=subdomains[group], is_sandbox=False, created_at=now, **heads[group])
                        for group in by_group}
        Institution.objects.bulk_create(institutions.values())
        _ensure_pks(institutions.values(), Institution, "subdomain")
        created_here.update(institution.pk for institution in institutions.values())
        InstitutionAccess.objects.bulk_create(
            InstitutionAccess(organization=organization, institution=institution, via=InstitutionAccess.Via.CREATED,
                              created_at=now) for institution in institutions.values())
        syncs = []
        for group, members in by_group.items():
            for row, cleaned in members:
                sync = _new_sync(institutions[group], cleaned.option_key, actor, now)
                syncs.append((row, sync))
        Sync.objects.bulk_create(sync for _, sync in syncs)
        _ensure_pks([sync for _, sync in syncs], Sync, "code")
        events = [TimelineEvent(institution=institution, organization=organization, actor=actor, actor_label=actor_label,
                                verb="institution.created", created_at=now,
                                message=f"Created the institution (subdomain {institution.subdomain}) from the CSV "
                                        f"upload {upload.filename}"[:500])
                  for institution in institutions.values()]
        for _, sync in syncs:
            option = SYNC_OPTIONS[sync._option_key]
            events.append(TimelineEvent(institution=sync.institution, sync=sync, organization=organization, actor=actor,
                                        actor_label=actor_label, verb="sync.created", created_at=now,
                                        message=f"Created a {option.label} sync ({option.ehr.versions})"))
        TimelineEvent.objects.bulk_create(events)
        _mark_created([(row.pk, sync.institution.pk, sync.pk) for row, sync in syncs])
        if skipped:
            BulkUploadRow.objects.bulk_update(skipped, ["result", "message"])
        BulkUpload.objects.filter(pk=upload.pk).update(
            processed_count=F("processed_count") + len(rows), progress_at=timezone.now(),
            created_institution_count=F("created_institution_count") + len(institutions),
            created_sync_count=F("created_sync_count") + len(syncs))
    return len(syncs)


def _mark_created(created: list[tuple[int, int, int]], chunk: int = 300) -> None:
    """Rows' result, institution and sync: one UPDATE ... FROM (VALUES ...) per 300 rows.

    Django's bulk_update builds a CASE WHEN per row and field, several times slower than inserting the syncs.
    """
    table = BulkUploadRow._meta.db_table
    if connection.vendor not in ("sqlite", "postgresql"):
        for row_id, institution_id, sync_id in created:
            BulkUploadRow.objects.filter(pk=row_id).update(result=BulkUploadRow.Result.CREATED, message="",
                                                           institution_id=institution_id, sync_id=sync_id)
        return
    with connection.cursor() as cursor:
        for start in range(0, len(created), chunk):
            part = created[start:start + chunk]
            values = ", ".join(["(%s, %s, %s)"] * len(part))
            cursor.execute(
                f"UPDATE {table} SET result = %s, message = '', institution_id = v.column2, sync_id = v.column3 "
                f"FROM (VALUES {values}) AS v WHERE {table}.id = v.column1",
                [BulkUploadRow.Result.CREATED.value, *(value for triple in part for value in triple)])


def _new_sync(institution: Institution, option_key: str, actor: User | None, now) -> Sync:
    """As syncs.services.sync_create builds it, without its per-sync queries."""
    option = SYNC_OPTIONS[option_key]
    sync = Sync(institution=institution, ehr=option.ehr.name, install_path=option.install_path,
                status=FIRST_STATUS[option.install_path], created_by=actor, created_at=now, status_changed_at=now)
    if option.install_path == InstallPath.SELF_INSTALLER:
        key = new_product_key()
        sync.product_key_encrypted, sync.product_key_hash = crypto.encrypt(key), crypto.fingerprint(key)
    if option.install_path == InstallPath.CLOUD:
        token = new_extension_token()
        sync.extension_token_encrypted, sync.extension_token_hash = crypto.encrypt(token), crypto.fingerprint(token)
    sync._option_key = option_key
    return sync


def _subdomains(names: dict[int, str]) -> dict[int, str]:
    """As services.subdomain_for derives them, for a whole batch with one query of the taken ones."""
    bases = {group: slugify(name)[:50].strip("-") or "practice" for group, name in names.items()}
    alternatives = {group: f"{base}-{get_random_string(5, SUBDOMAIN_SUFFIX_ALPHABET)}" for group, base in bases.items()}
    taken = set(Institution.objects.filter(subdomain__in=[*bases.values(), *alternatives.values()])
                .values_list("subdomain", flat=True)) | RESERVED_SUBDOMAINS
    chosen = {}
    for group, base in bases.items():
        candidate = base if base not in taken else alternatives[group]
        while candidate in taken:  # a random suffix taken too (in this batch, or very rarely in the database)
            candidate = f"{base}-{get_random_string(5, SUBDOMAIN_SUFFIX_ALPHABET)}"
        taken.add(candidate)
        chosen[group] = candidate
    return chosen


def _ensure_pks(objects: Iterable, model, unique_field: str) -> None:
    """bulk_create sets primary keys on PostgreSQL and SQLite; elsewhere, look them up by a unique field."""
    objects = list(objects)
    missing = {getattr(obj, unique_field): obj for obj in objects if obj.pk is None}
    if missing:
        for pk, value in model.objects.filter(**{f"{unique_field}__in": list(missing)}).values_list("pk", unique_field):
            missing[value].pk = pk


# --- Result CSV --------------------------------------------------------------------------------------------------

RESULT_COLUMNS = ("row", *COLUMNS, "result", "institution_subdomain", "sync_code", "message")
RESULT_WORDS = {
    "": "not imported", "created": "created", "skipped_error": "skipped: errors",
    "skipped_match": "skipped: already live, request access", "skipped_exists": "skipped: already in your institutions",
}

STATE_WORDS = {"ready": "not imported yet", "error": "errors", "match": "already live, request access"}


def csv_safe(value) -> str:
    """A cell a spreadsheet shows as text: formulas (= + - @, or a leading tab/CR) get a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def row_message(errors: dict, match: list, message: str) -> str:
    if errors:
        return "; ".join(f"{column}: {text}" for column, texts in errors.items() for text in texts)
    if match:
        return "; ".join(f"Matches {m['name']} ({m['city']}, {m['state']}): {', '.join(m['reasons'])}" for m in match)
    return message


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


def bulk_uploads_resume_stalled() -> int:
    """Imports that stopped making progress (a lost task): publish them again. The import itself is idempotent."""
    from institutions.tasks import import_bulk_upload  # institutions.tasks imports this module: a real cycle

    now = timezone.now()
    stalled = list(BulkUpload.objects.filter(status=BulkUpload.Status.IMPORTING, progress_at__lt=now - STALLED_AFTER)
                   .values_list("pk", flat=True)[:100])
    for upload_id in stalled:
        # Claim it (a conditional update) so two relays do not both publish it.
        with transaction.atomic():
            if BulkUpload.objects.filter(pk=upload_id, status=BulkUpload.Status.IMPORTING,
                                         progress_at__lt=now - STALLED_AFTER).update(progress_at=now):
                enqueue_on_commit(import_bulk_upload, upload_id)
    return len(stalled)
