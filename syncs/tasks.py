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
