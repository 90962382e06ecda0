from celery import shared_task

from institutions import bulk
from institutions.board import board_figures_repair


# A 50,000-row file takes longer than the project's default two-minute limit; batches commit as they go, so a
# limit that does strike leaves the upload failed and resumable, never half an institution.
@shared_task(bind=True, acks_late=True, soft_time_limit=1800, time_limit=1860)
def import_bulk_upload(self, upload_id: int) -> int:
    """Create a confirmed CSV upload's institutions and syncs (idempotent: a redelivery carries on)."""
    if self.request.is_eager:  # inside a web request (local runs): batches beat on their own
        return bulk.bulk_upload_import(upload_id)
    with bulk.bulk_upload_heartbeat(upload_id):
        return bulk.bulk_upload_import(upload_id)


# Checking 50,000 rows takes about half a minute: past the project's default two-minute limit only on a very slow
# machine, but a limit that strikes mid-check leaves the upload to the stall check, which starts it over.
@shared_task(bind=True, acks_late=True, soft_time_limit=900, time_limit=960)
def check_bulk_upload(self, upload_id: int) -> bool:
    """Check an uploaded CSV's rows and store them (idempotent: a second run starts over or finds it done)."""
    if self.request.is_eager:  # inside a web request (local runs without a broker)
        return bulk.bulk_upload_check(upload_id)
    with bulk.bulk_upload_heartbeat(upload_id):
        return bulk.bulk_upload_check(upload_id)


@shared_task
def resume_stalled_bulk_uploads() -> int:
    """Beat, every 15 s: re-publish checks and imports whose worker went silent (killed, lost, never published),
    so they resume in a minute."""
    return bulk.bulk_uploads_resume_stalled()


@shared_task
def repair_board_figures() -> int:
    """Beat, every ten minutes: stored board figures a concurrent write left behind their rules follow them again."""
    return board_figures_repair()
