from celery import shared_task

from institutions import bulk


# A 50,000-row file takes longer than the project's default two-minute limit; batches commit as they go, so a
# limit that does strike leaves the upload failed and resumable, never half an institution.
@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1860)
def import_bulk_upload(upload_id: int) -> int:
    """Create a confirmed CSV upload's institutions and syncs (idempotent: a redelivery carries on)."""
    return bulk.bulk_upload_import(upload_id)


@shared_task
def resume_stalled_bulk_uploads() -> int:
    """Periodic (optional beat entry): re-publish imports with no progress for a while (worker lost, broker down)."""
    return bulk.bulk_uploads_resume_stalled()
