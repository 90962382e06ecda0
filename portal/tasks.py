from celery import shared_task

from portal import outbox


@shared_task(bind=True, max_retries=5, default_retry_delay=60, acks_late=True)
def deliver_outbound_email(self, outbound_email_id: int) -> bool:
    try:
        return outbox.outbound_email_deliver(outbound_email_id)
    except Exception as exc:  # SMTP down, bad address: record why, try again later
        outbox.outbound_email_record_failure(outbound_email_id, f"{exc.__class__.__name__}: {exc}")
        if self.request.is_eager:  # local runs: no worker to retry on; the relay tries again
            return False
        raise self.retry(exc=exc)


@shared_task
def relay_outbound_emails() -> int:
    """Deliver emails whose own task never ran (broker down when they were queued)."""
    due = outbox.outbound_emails_due()
    for outbound_email_id in due:
        deliver_outbound_email.delay(outbound_email_id)
    return len(due)
