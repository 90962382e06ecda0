"""Outbox for emails: written in the caller's transaction, delivered by Celery, relayed if the broker was down."""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from portal.models import OutboundEmail

logger = logging.getLogger(__name__)

# kind -> function(outbound email row) returning the message, or None when there is nothing left to send.
EmailBuilder = Callable[[OutboundEmail], EmailMultiAlternatives | None]
_builders: dict[str, EmailBuilder] = {}

RELAY_AFTER = timedelta(seconds=30)


def email_builder(kind: str):
    def register(builder: EmailBuilder) -> EmailBuilder:
        _builders[kind] = builder
        return builder

    return register


def enqueue_on_commit(task, *args, on_failure: Callable[[], None] | None = None) -> None:
    """Publish a task once the current transaction commits; a broker outage is logged, not raised.

    Callers keep a durable record (an outbox row, a status column) that a periodic task re-drives,
    so a lost publish delays work instead of losing it. `on_failure` runs when the broker refused the
    task, for a caller that tells the user the work waits.
    """

    def publish() -> None:
        try:
            task.apply_async(args=args)
        except (BrokerError, OSError) as exc:
            logger.warning("Could not publish %s%r (%s); the periodic relay will pick it up", task.name, args, exc.__class__.__name__)
            if on_failure is not None:
                on_failure()

    transaction.on_commit(publish)


def outbound_email_queue(*, kind: str, object_id: str, version: str = "", recipient: str = "") -> OutboundEmail:
    from portal.tasks import deliver_outbound_email  # portal.tasks imports this module: a real cycle

    if kind not in _builders:
        raise ValueError(f"No email builder registered for {kind!r}")
    outbound, _ = OutboundEmail.objects.get_or_create(kind=kind, object_id=str(object_id), version=version,
                                                      defaults={"recipient": recipient})
    enqueue_on_commit(deliver_outbound_email, outbound.pk)
    return outbound


def outbound_email_deliver(outbound_email_id: int) -> bool:
    """Send one queued email at most once. Returns True if this call sent it."""
    with transaction.atomic():
        outbound = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=outbound_email_id, sent_at__isnull=True, skipped_at__isnull=True)
            .first()
        )
        if outbound is None:  # already sent, skipped, or another worker holds it right now
            return False
        message = _builders[outbound.kind](outbound)
        now = timezone.now()
        if message is None:
            outbound.skipped_at = now
            outbound.save(update_fields=["skipped_at"])
            return False
        outbound.attempts += 1
        message.send()
        outbound.sent_at = now
        outbound.save(update_fields=["sent_at", "attempts"])
        return True


def outbound_email_record_failure(outbound_email_id: int, error: str) -> None:
    OutboundEmail.objects.filter(pk=outbound_email_id).update(last_error=error[:2000])


def outbound_emails_due(now=None) -> list[int]:
    """Pending emails old enough that their own task should have delivered them by now."""
    cutoff = (now or timezone.now()) - RELAY_AFTER
    return list(
        OutboundEmail.objects.filter(sent_at__isnull=True, skipped_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
