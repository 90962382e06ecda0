"""The monitoring sweep: notices health changes, records them once, and tells the developer.

Like a heartbeat monitor's deadline sweep: it reads the syncs whose deadline passed, and each sync's changes are
claimed with a conditional UPDATE (`... WHERE read_health = <old> AND write_health = <old> AND deadline = <old>`),
so two overlapping sweeps never record or alert the same change twice.
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


def _notify(sync: Sync, change: SyncHealthChange, organizations: list[Organization], *, email: bool) -> None:
    for organization in organizations:
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
    follows the syncs due, not all of them; each one it looks at gets its next deadline in the same UPDATE that
    claims its changes."""
    now = now or timezone.now()
    recorded = 0
    due = (Sync.objects.filter(status=SyncStatus.ACTIVE, health_deadline_at__lte=now).select_related("institution")
           .order_by("health_deadline_at"))
    for sync in due.iterator(chunk_size=500):
        recorded += _sweep_one(sync, now)
    return recorded


def _sweep_one(sync: Sync, now: datetime) -> int:
    """One due sync: claim its changes and its next deadline with ONE conditional UPDATE (on the health and the
    deadline it was read with: another sweep, or a heartbeat that moved the deadline, makes it a no-op), then
    record and announce the changes. Returns the changes recorded."""
    sandbox = sync.institution.is_sandbox
    health = None if sandbox else sync.health_at(now)
    seen = {"read_health": sync.read_health, "write_health": sync.write_health,
            "health_deadline_at": sync.health_deadline_at}
    changes = [] if sandbox else [
        SyncHealthChange(sync=sync, kind=kind, from_health=getattr(sync, f"{kind}_health"),
                         to_health=health.stored(kind), created_at=now)
        for kind in ("read", "write") if getattr(sync, f"{kind}_health") != health.stored(kind)]
    for change in changes:
        setattr(sync, f"{change.kind}_health", change.to_health)
    if any(change.to_health == RED for change in changes):
        sync.alerted_at = now
    with transaction.atomic():
        if not Sync.objects.filter(pk=sync.pk, **seen).update(
                read_health=sync.read_health, write_health=sync.write_health, alerted_at=sync.alerted_at,
                health_deadline_at=sync.health_due_at(now)):
            return 0  # another sweep got there first, or new data arrived: the next sweep looks again
        if changes:
            SyncHealthChange.objects.bulk_create(changes)
            organizations = list(organizations_reaching(sync.institution))
            for change in changes:
                # Expected downtime never alerts; going red does, and so does recovering from red.
                _notify(sync, change, organizations,
                        email=change.to_health == RED or (change.from_health == RED and change.to_health == GREEN))
    if not sandbox:
        _remind_if_still_down(sync, now)
    return len(changes)


def _remind_if_still_down(sync: Sync, now: datetime) -> None:
    interval = timedelta(hours=settings.SYNC_ALERT_REMINDER_HOURS)
    if RED not in (sync.read_health, sync.write_health) or sync.alerted_at is None or now - sync.alerted_at < interval:
        return
    last_alert, sync.alerted_at = sync.alerted_at, now
    with transaction.atomic():
        # The next deadline is the next reminder (or sooner): computed with this reminder's time.
        if Sync.objects.filter(pk=sync.pk, alerted_at=last_alert).update(alerted_at=now,
                                                                          health_deadline_at=sync.health_due_at(now)):
            change = SyncHealthChange.objects.filter(sync=sync, to_health=RED).order_by("-created_at").first()
            if change:
                for organization in organizations_reaching(sync.institution):
                    outbound_email_queue(kind="sync_health", object_id=str(change.pk), version=f"{organization.pk}:{now:%Y%m%d%H%M}")

