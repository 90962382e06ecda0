from celery import shared_task

from institutions.consent import consent_reminders_send, pending_consent_expire
from syncs import scheduling
from syncs.monitoring import health_sweep
from syncs.webhooks import services as webhooks


@shared_task
def send_install_reminders() -> int:
    """Periodic (beat, every 15 minutes): remind of engineer installs starting within 24 hours, once per booking."""
    return scheduling.install_reminders_send()


@shared_task
def sync_health_sweep() -> int:
    """Periodic (beat, every minute): record health changes of active syncs and alert once per change."""
    return health_sweep()


@shared_task
def consent_housekeeping() -> int:
    """Periodic (beat, hourly): remind practices of open consent requests once, expire them after 14 days."""
    return consent_reminders_send() + pending_consent_expire()


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> bool:
    """One attempt of one webhook delivery; a failure schedules the next attempt in the row, not a Celery retry."""
    return webhooks.webhook_deliver(delivery_id)


@shared_task
def retry_webhooks() -> int:
    """Every minute: deliveries due for a retry, and those whose first task never ran (broker down)."""
    webhooks.webhooks_prune()
    due = webhooks.webhooks_due()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return len(due)
