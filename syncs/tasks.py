from celery import shared_task

from syncs import scheduling


@shared_task
def send_install_reminders() -> int:
    """Periodic (beat, every 15 minutes): remind of engineer installs starting within 24 hours, once per booking."""
    return scheduling.install_reminders_send()
