"""The upload's services: store a file and queue its check, check it (rows stored with their state), confirm, and
import batch by batch."""

import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Left
from django.utils import timezone

from institutions.board import board_sections_refresh_for
from institutions.bulk.reader import UploadRefused, count_csv_rows, read_csv
from institutions.bulk.rows import Cleaned, clean_row, row_message, validate_rows
from institutions.models import BulkUpload, BulkUploadFile, BulkUploadRow, Institution, InstitutionAccess, TimelineEvent
from institutions.services import identity_key, subdomains_for
from institutions.timeline import SUPPORT
from portal.audit import audit_record
from portal.bulk_insert import bulk_insert
from portal.models import Organization, User
from portal.outbox import enqueue_on_commit
from syncs.catalog import SYNC_OPTIONS
from syncs.models import Sync
from syncs.services import sync_build, sync_created_message

logger = logging.getLogger(__name__)

# The checking or importing worker writes heartbeat_at every HEARTBEAT_EVERY (and at each batch); an import silent for
# STALLED_AFTER lost its worker and is published again by the beat check (every 15 s, settings), so a killed
# check or import resumes within about a minute. The broker's visibility timeout stays long: lowering it would run long
# tasks twice.
HEARTBEAT_EVERY = timedelta(seconds=10)
STALLED_AFTER = timedelta(seconds=45)
WORKING = (BulkUpload.Status.UPLOADED, BulkUpload.Status.IMPORTING)  # a worker checks or imports: it beats


def _require_production(organization: Organization) -> None:
    if organization.production_enabled_at is None:
        raise UploadRefused("Uploads create production institutions, and production is not enabled for your "
                            "organization yet: onboard practices once support upgrades you.")


def bulk_upload_create(*, organization: Organization, actor: User, filename: str, content: bytes,
                       ip: str | None = None) -> tuple[BulkUpload, bool]:
    """Store a CSV and queue its check (bulk_upload_check, a Celery task). Returns the upload and whether this file
    was already confirmed before (then it is shown as it is, nothing is checked or imported again).

    Only what costs one pass over the file without looking at a cell runs here (size, type, encoding, header,
    quotes, row count), so the request answers in well under a second for any allowed file. The upload's status
    and heartbeat are the durable record: a publish lost with the broker is published again by the stall check.
    `upload.check_queued` is False when the broker did not take the task (the check starts once it is back).
    """
    from institutions.tasks import check_bulk_upload  # institutions.tasks imports this module: a real cycle

    _require_production(organization)
    digest = hashlib.sha256(content).hexdigest()
    previous = BulkUpload.objects.filter(organization=organization, sha256=digest).first()
    if previous is not None and previous.status not in (BulkUpload.Status.UPLOADED, BulkUpload.Status.VALIDATED):
        return previous, True
    if previous is not None and previous.status == BulkUpload.Status.UPLOADED:  # being checked: show that
        return previous, False
    row_count = count_csv_rows(content)  # refuses an unreadable file with a clear message
    filename = (filename or "upload.csv").replace("\\", "/").rsplit("/", 1)[-1][:255]
    now = timezone.now()
    queued = {"ok": True}
    try:
        with transaction.atomic():
            upload, created = BulkUpload.objects.get_or_create(
                organization=organization, sha256=digest,
                defaults={"filename": filename, "uploaded_by": actor, "row_count": row_count, "heartbeat_at": now,
                          "created_at": now})
            if not created:  # the same file again, checked but not confirmed: check it afresh
                if not BulkUpload.objects.filter(pk=upload.pk, status=BulkUpload.Status.VALIDATED).update(
                        status=BulkUpload.Status.UPLOADED, filename=filename, uploaded_by=actor, created_at=now,
                        row_count=row_count, ready_count=0, error_count=0, match_count=0, processed_count=0,
                        validated_at=None, check_started_at=None, heartbeat_at=now, failure=""):
                    upload.refresh_from_db()
                    return upload, upload.status != BulkUpload.Status.UPLOADED
            BulkUploadFile.objects.update_or_create(upload=upload, defaults={"content": content})
            audit_record(verb="bulk_upload.uploaded", actor=actor, organization=organization, target=upload,
                         target_label=filename, ip=ip, details={"rows": row_count, "bytes": len(content)})
            enqueue_on_commit(check_bulk_upload, upload.pk, on_failure=lambda: queued.update(ok=False))
    except IntegrityError:  # the same file uploaded twice at the same moment: show the other one
        upload = BulkUpload.objects.get(organization=organization, sha256=digest)
        return upload, upload.status not in (BulkUpload.Status.UPLOADED, BulkUpload.Status.VALIDATED)
    upload.refresh_from_db()
    upload.check_queued = queued["ok"]
    return upload, False


class _CheckTakenOver(Exception):
    """Another run of the same check claimed the upload (this one was thought dead): stop writing."""


def bulk_upload_check(upload_id: int, *, batch_rows: int = 2000) -> bool:
    """Read and check an uploaded file's rows (errors, duplicates, institutions already yours, live matches), store
    them and move the upload to validated. Returns True if this run finished the check.

    Runs in a Celery task. Progress (processed_count, out of 3 x row_count: validated, matched, stored) and the
    heartbeat are written as it goes, so the page shows the import's progress bar and a killed check is published
    again by the stall check and starts over (rows a dead run stored are replaced). Each run claims the upload with
    its start time; a run that finds another's claim stops.
    """
    started = timezone.now()
    if not BulkUpload.objects.filter(pk=upload_id, status=BulkUpload.Status.UPLOADED).update(
            check_started_at=started, heartbeat_at=started, progress_at=started, processed_count=0):
        return False
    mine = BulkUpload.objects.filter(pk=upload_id, status=BulkUpload.Status.UPLOADED, check_started_at=started)
    upload = BulkUpload.objects.select_related("organization", "uploaded_by").get(pk=upload_id)

    def claim(**changes) -> None:
        now = timezone.now()
        if not mine.update(heartbeat_at=now, progress_at=now, **changes):
            raise _CheckTakenOver

    try:
        content = BulkUploadFile.objects.filter(upload_id=upload_id).values_list("content", flat=True).first()
        try:
            if content is None:
                raise UploadRefused("The uploaded file was not kept. Upload it again.")
            records = read_csv(bytes(content))
        except UploadRefused as exc:  # passed the request's checks; only a changed limit refuses it here
            with transaction.atomic():
                claim(status=BulkUpload.Status.VALIDATED, validated_at=timezone.now(), row_count=0, ready_count=0,
                      error_count=0, match_count=0, processed_count=0, failure=" ".join(exc.messages))
                BulkUploadFile.objects.filter(upload_id=upload_id).delete()
            return True
        del content
        total = len(records)
        rows = validate_rows(organization=upload.organization, records=records,
                             progress=lambda done: claim(processed_count=done, row_count=total))
        del records
        with transaction.atomic():  # rows a dead run stored
            claim()
            BulkUploadRow.objects.filter(upload_id=upload_id).delete()
        for start in range(0, total, batch_rows):
            batch = rows[start:start + batch_rows]
            with transaction.atomic():
                claim(processed_count=2 * total + start + len(batch))
                for row in batch:
                    row.upload_id = upload_id
                bulk_insert(BulkUploadRow, batch)
        counts = {state: sum(1 for row in rows if row.state == state) for state in BulkUploadRow.State.values}
        with transaction.atomic():
            claim(status=BulkUpload.Status.VALIDATED, validated_at=timezone.now(), row_count=total,
                  ready_count=counts["ready"], error_count=counts["error"], match_count=counts["match"],
                  processed_count=0, check_started_at=None, failure="")
            BulkUploadFile.objects.filter(upload_id=upload_id).delete()
            audit_record(verb="bulk_upload.checked", actor=upload.uploaded_by, organization=upload.organization,
                         target=upload, target_label=upload.filename, details={"rows": total, **counts})
    except _CheckTakenOver:
        logger.warning("Bulk upload %s: another run took the check over; this one stopped", upload_id)
        return False
    return True


def bulk_upload_stalled(upload: BulkUpload, now=None) -> bool:
    """Checking or importing, but no sign of life for a while (the worker died, the broker lost the task): an
    import may be resumed by hand; both are published again by the stall check."""
    now = now or timezone.now()
    return (upload.status in WORKING and upload.heartbeat_at is not None
            and upload.heartbeat_at < now - STALLED_AFTER)


@contextmanager
def bulk_upload_heartbeat(upload_id: int, every: timedelta = HEARTBEAT_EVERY) -> Iterator[None]:
    """While the body runs, a thread writes heartbeat_at every `every`, on its own connection, so a batch that
    takes long is not mistaken for a dead worker. A killed worker's thread dies with it: the heartbeat stops.
    The check and the import both beat this way."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every.total_seconds()):
                try:
                    BulkUpload.objects.filter(pk=upload_id, status__in=WORKING).update(heartbeat_at=timezone.now())
                except DatabaseError:  # a database blip: the next beat tries again
                    logger.warning("Bulk upload %s: heartbeat not written", upload_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"bulk-upload-{upload_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def bulk_upload_confirm(*, upload: BulkUpload, actor: User, ip: str | None = None) -> bool:
    """Start (or resume) the import. Only one caller wins: confirming twice imports once. True if started."""
    from institutions.tasks import import_bulk_upload  # institutions.tasks imports this module: a real cycle

    _require_production(upload.organization)
    now = timezone.now()
    startable = (Q(status__in=[BulkUpload.Status.VALIDATED, BulkUpload.Status.FAILED])
                 | Q(status=BulkUpload.Status.IMPORTING, heartbeat_at__lt=now - STALLED_AFTER))
    with transaction.atomic():
        started = BulkUpload.objects.filter(startable, pk=upload.pk, ready_count__gt=0).update(
            status=BulkUpload.Status.IMPORTING, confirmed_by=actor, confirmed_at=now, progress_at=now, heartbeat_at=now, failure="",
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
    created = 0
    try:
        for first, last in _batches(groups, batch_rows or settings.BULK_IMPORT_BATCH_ROWS):
            created += _import_batch(upload, first, last)
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


def _import_batch(upload: BulkUpload, first_group: int, last_group: int) -> int:
    """One transaction: institutions, accesses, syncs, timeline events, and the rows' results."""
    now = timezone.now()
    organization, actor = upload.organization, upload.confirmed_by
    actor_label = actor.email if actor else SUPPORT
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A batch lost with a crash before it reached the disk is simply not done (its rows are still pending):
            # the resumed import creates it. So the commit need not wait for the WAL flush.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        # Claims the upload first (a row lock, or SQLite's write lock): a second worker waits, then finds no rows.
        if not BulkUpload.objects.filter(pk=upload.pk, status=BulkUpload.Status.IMPORTING).update(
                progress_at=now, heartbeat_at=now):
            return 0
        # Plain tuples, not model instances: building 50,000 rows' instances is a good part of a large import.
        rows = list(upload.rows.filter(state=BulkUploadRow.State.READY, result=BulkUploadRow.Result.PENDING,
                                       group__gte=first_group, group__lte=last_group).order_by("group", "number")
                    .values_list("pk", "group", "data"))
        if not rows:
            return 0
        by_group: dict[int, list[tuple[int, Cleaned | None]]] = defaultdict(list)
        for pk, group, data in rows:
            by_group[group].append((pk, clean_row(data)[0]))
        skipped = []
        data_of = {pk: data for pk, _, data in rows}
        for group in list(by_group):
            if any(cleaned is None for _, cleaned in by_group[group]):  # the rules changed since the check
                for pk, _ in by_group.pop(group):
                    errors = clean_row(data_of[pk])[1]
                    skipped.append(BulkUploadRow(pk=pk, result=BulkUploadRow.Result.SKIPPED_ERROR, message=(
                        row_message(errors, [], "") or "Another row of this institution has errors.")[:500]))
        heads = {group: members[0][1].institution for group, members in by_group.items()}

        # Created since the check (Create Institution, another upload, an approved access request): skip, never a
        # second one. What the organization created is found by its identity (the constraint's index: this batch's
        # keys only); other access since the check by name and ZIP code. Neither reads what this import created,
        # so a batch costs the same at the end of a large import as at its start.
        keys = {identity_key(data["name"], data["zip_code"]) for data in heads.values()}
        existing = dict(InstitutionAccess.objects.filter(organization=organization, identity__in=keys)
                        .values_list("identity", "institution_id"))
        if existing:  # what this import created is no obstacle to itself (never the case for pending rows)
            ours = set(BulkUploadRow.objects.filter(upload_id=upload.pk, institution_id__in=existing.values())
                       .values_list("institution_id", flat=True))
            existing = {key: pk for key, pk in existing.items() if pk not in ours}
        zips = {data["zip_code"][:5] for data in heads.values()}
        for name, zip_code in (Institution.objects.filter(is_sandbox=False).annotate(zip5=Left("zip_code", 5))
                               .filter(accesses__organization=organization, zip5__in=zips, accesses__identity="",
                                       accesses__status=InstitutionAccess.Status.ACTIVE,
                                       accesses__created_at__gte=upload.validated_at or upload.created_at)
                               .order_by().values_list("name", "zip_code")):
            existing[identity_key(name, zip_code)] = None
        for group in list(by_group):
            data = heads[group]
            if identity_key(data["name"], data["zip_code"]) in existing:
                for pk, _ in by_group.pop(group):
                    skipped.append(BulkUploadRow(pk=pk, result=BulkUploadRow.Result.SKIPPED_EXISTS, message=(
                        f"You already have an institution called {data['name']} at ZIP {data['zip_code']}.")[:500]))

        subdomains = dict(zip(by_group, subdomains_for([heads[group]["name"] for group in by_group])))
        institutions = {group: Institution(subdomain=subdomains[group], is_sandbox=False, created_at=now, **heads[group])
                        for group in by_group}
        bulk_insert(Institution, list(institutions.values()), "subdomain")
        bulk_insert(InstitutionAccess, [
            InstitutionAccess(organization=organization, institution=institution, via=InstitutionAccess.Via.CREATED,
                              identity=identity_key(institution.name, institution.zip_code), created_at=now)
            for institution in institutions.values()])
        syncs = []  # (row, sync, option): built as Create sync builds one, inserted together
        for group, members in by_group.items():
            for row_pk, cleaned in members:
                option = SYNC_OPTIONS[cleaned.option_key]
                syncs.append((row_pk, sync_build(institution=institutions[group], option=option, actor=actor,
                                                     operator=organization, now=now),
                              option))
        bulk_insert(Sync, [sync for _, sync, _ in syncs], "code")
        board_sections_refresh_for([institution.pk for institution in institutions.values()])  # COPY skips save()
        events = [TimelineEvent(institution=institution, organization=organization, actor=actor, actor_label=actor_label,
                                verb="institution.created", created_at=now,
                                message=f"Created the institution (subdomain {institution.subdomain}) from the CSV "
                                        f"upload {upload.filename}"[:500])
                  for institution in institutions.values()]
        events += [TimelineEvent(institution=sync.institution, sync=sync, organization=organization, actor=actor,
                                 actor_label=actor_label, verb="sync.created", created_at=now,
                                 message=sync_created_message(option))
                   for _, sync, option in syncs]
        bulk_insert(TimelineEvent, events)
        _mark_created([(row_pk, sync.institution.pk, sync.pk) for row_pk, sync, _ in syncs])
        if skipped:
            BulkUploadRow.objects.bulk_update(skipped, ["result", "message"])
        BulkUpload.objects.filter(pk=upload.pk).update(
            processed_count=F("processed_count") + len(rows), progress_at=timezone.now(), heartbeat_at=timezone.now(),
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



def bulk_uploads_resume_stalled() -> int:
    """Checks and imports that stopped making progress (a killed worker, a lost or never published task): publish
    them again. Both are idempotent: a check starts over, an import carries on."""
    from institutions.tasks import (  # they import this module: a real cycle
        check_bulk_upload,
        import_bulk_upload,
    )

    now = timezone.now()
    stalled = list(BulkUpload.objects.filter(status__in=WORKING, heartbeat_at__lt=now - STALLED_AFTER)
                   .values_list("pk", "status")[:100])
    for upload_id, status in stalled:
        # Claim it (a conditional update) so two relays do not both publish it.
        with transaction.atomic():
            if BulkUpload.objects.filter(pk=upload_id, status=status,
                                         heartbeat_at__lt=now - STALLED_AFTER).update(heartbeat_at=now):
                work = "check" if status == BulkUpload.Status.UPLOADED else "import"
                logger.warning("Bulk upload %s: no heartbeat for %ss; %s published again", upload_id,
                               int(STALLED_AFTER.total_seconds()), work)
                enqueue_on_commit(check_bulk_upload if work == "check" else import_bulk_upload, upload_id)
    return len(stalled)
