from celery import shared_task

from institutions import bulk


# A 50,000-row file takes longer than the project's default two-minute limit; batches commit as they go, so a
# limit that does strike leaves the upload failed and resumable, never half an institution.
@shared_task(bind=True, acks_late=True, soft_time_limit=1800, time_limit=1860)
def import_bulk_upload(self, upload_id: int) -> int:
    """Create a confirmed CSV upload's institutions and syncs (idempotent: a redelivery carries on)."""
    if self.request.is_eager:  # inside a web request (local runs): batches beat on their own
        return bulk.bulk_upload_import(upload_id)
    with bulk.bulk_upload_heartbeat(upload_id):
        return bulk.bulk_upload_import(upload_id)


@shared_task
def resume_stalled_bulk_uploads() -> int:
    """Beat, every 15 s: re-publish imports whose worker went silent (killed, lost), so they resume in a minute."""
    return bulk.bulk_uploads_resume_stalled()
