from celery import shared_task

from syncs import scheduling


@shared_task
def send_install_reminders() -> int:
    """Periodic (beat, every 15 minutes): remind of engineer installs starting within 24 hours, once per booking."""
    return scheduling.install_reminders_send()


@shared_task
def sync_health_sweep() -> int:
    """Periodic (beat, every minute): record health changes of active syncs and alert once per change."""
    from syncs.monitoring import health_sweep

    return health_sweep()


@shared_task
def consent_housekeeping() -> int:
    """Periodic (beat, hourly): remind practices of open consent requests once, expire them after 14 days."""
    from institutions.consent import consent_reminders_send, pending_consent_expire

    return consent_reminders_send() + pending_consent_expire()
