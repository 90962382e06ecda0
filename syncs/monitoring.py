"""The monitoring sweep: notices health changes, records them once, and tells the developer.

Like a heartbeat monitor's deadline sweep: each change is claimed with a conditional UPDATE
(`... WHERE read_health = <old>`), so two overlapping sweeps never record or alert the same change twice.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from institutions.selectors import organizations_reaching
from portal.models import Organization
from portal.outbox import outbound_email_queue
from syncs.serializers import SyncStatusSerializer, sync_status_row
from syncs.webhooks.services import webhooks_emit
from syncs.models import GREEN, RED, Sync, SyncHealthChange, SyncStatus


def _notify(sync: Sync, change: SyncHealthChange, *, email: bool) -> None:
    for organization in organizations_reaching(sync.institution):
        payload = sync_status_event_payload(sync, change, organization)
        if payload is None:
            continue  # none of this sync's locations serve this organization any more
        if email:
            outbound_email_queue(kind="sync_health", object_id=str(change.pk), version=str(organization.pk))
        webhooks_emit(organization=organization, sandbox=False, institution=sync.institution,
                      event=f"sync_status_{change.kind}_change", payload=payload)


def sync_status_event_payload(sync: Sync, change: SyncHealthChange, organization: Organization) -> dict | None:
    """The webhook's data: the sync's row as GET /api/sync_status shapes it for this organization."""
    sync.active_locations = list(sync.locations.serving(organization).order_by("id"))
    if not sync.active_locations:
        return None
    return {"sync_status": SyncStatusSerializer(sync_status_row(sync, change.created_at)).data}


def health_sweep(now: datetime | None = None) -> int:
    """Record every read/write health change of active syncs; returns how many changes this sweep recorded.

    Reads only the syncs whose deadline passed (an indexed column, as a heartbeat monitor does), so its cost
    follows the syncs due, not all of them; each one it looks at gets its next deadline."""
    now = now or timezone.now()
    recorded = 0
    due = (Sync.objects.filter(status=SyncStatus.ACTIVE, health_deadline_at__lte=now).select_related("institution")
           .order_by("health_deadline_at"))
    for sync in due.iterator(chunk_size=500):
        if not sync.institution.is_sandbox:
            recorded += _record_changes(sync, now)
            _remind_if_still_down(sync, now)
        # Only if no heartbeat moved the deadline meanwhile (the heartbeat's value is the newer truth).
        Sync.objects.filter(pk=sync.pk, health_deadline_at=sync.health_deadline_at).update(
            health_deadline_at=sync.health_due_at(now))
    return recorded


def _record_changes(sync: Sync, now: datetime) -> int:
    recorded = 0
    health = sync.health_at(now)
    for kind in ("read", "write"):
        old, new = getattr(sync, f"{kind}_health"), getattr(health, kind)
        if old == new:
            continue
        with transaction.atomic():
            if not Sync.objects.filter(pk=sync.pk, **{f"{kind}_health": old}).update(**{f"{kind}_health": new}):
                continue  # another sweep got there first
            setattr(sync, f"{kind}_health", new)
            change = SyncHealthChange.objects.create(sync=sync, kind=kind, from_health=old, to_health=new, created_at=now)
            # Expected downtime never alerts; going red does, and so does recovering from red.
            _notify(sync, change, email=new == RED or (old == RED and new == GREEN))
            if new == RED:
                Sync.objects.filter(pk=sync.pk).update(alerted_at=now)
                sync.alerted_at = now
        recorded += 1
    return recorded


def _remind_if_still_down(sync: Sync, now: datetime) -> None:
    interval = timedelta(hours=settings.SYNC_ALERT_REMINDER_HOURS)
    if RED not in (sync.read_health, sync.write_health) or sync.alerted_at is None or now - sync.alerted_at < interval:
        return
    with transaction.atomic():
        if Sync.objects.filter(pk=sync.pk, alerted_at=sync.alerted_at).update(alerted_at=now):
            sync.alerted_at = now
            change = SyncHealthChange.objects.filter(sync=sync, to_health=RED).order_by("-created_at").first()
            if change:
                for organization in organizations_reaching(sync.institution):
                    outbound_email_queue(kind="sync_health", object_id=str(change.pk), version=f"{organization.pk}:{now:%Y%m%d%H%M}")

