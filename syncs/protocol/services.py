"""What the Synchronizer's reports change: activation, the locations it found, a browser extension's heartbeat.

The protocol views (syncs/protocol/api.py) authenticate, validate and answer; the changes are here.
"""

import secrets
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from institutions.models import Location
from institutions.timeline import timeline_record
from portal import crypto
from syncs import services
from syncs.models import ExtensionWorkstation, Sync, SyncStatus, health_deadline_after_new_data
from syncs.selectors import extension_coverage


class ProductKeyInvalid(Exception):
    """No sync has this product key."""


class ProductKeyUsed(Exception):
    """The product key already activated a Synchronizer (or another installer won the race)."""


def sync_activate(*, product_key: str, host: dict) -> tuple[Sync, str]:
    """Trade a product key (or a reinstall key) for a new agent token. Returns the sync and the token."""
    key = product_key.strip().upper()
    sync = Sync.objects.select_related("institution").filter(product_key_hash=crypto.fingerprint(key)).first()
    if sync is None:
        raise ProductKeyInvalid()
    token = "chs_agent_" + secrets.token_urlsafe(32)
    reinstall = sync.reinstall_key_issued_at is not None
    with transaction.atomic():
        # A product key activates once: the conditional update decides between two racing installers.
        # A reinstall key activates the same sync again (same ids, locations and state).
        claimable = Q(reinstall_key_issued_at__isnull=False) if reinstall else Q(status=SyncStatus.AWAITING_INSTALL)
        claimed = Sync.objects.filter(claimable, pk=sync.pk, agent_token_hash__isnull=True).update(
            agent_token_hash=crypto.fingerprint(token), activated_at=timezone.now(), reinstall_key_issued_at=None,
            agent_version=host.get("agent_version", ""), host_facts={k: v for k, v in host.items() if k != "agent_version"})
        if not claimed:
            raise ProductKeyUsed()
        sync.refresh_from_db()
        if reinstall:
            timeline_record(institution=sync.institution, sync=sync, actor=None, verb="sync.reinstalled",
                            notify=True, message="The Synchronizer was reinstalled with a new product key")
        else:
            services.sync_mark_installed(sync=sync, actor=None)
    return sync, token


@transaction.atomic
def locations_report(*, sync: Sync, found: list[dict]) -> None:
    """The practice's locations as the agent read them (new ones, and changes to known ones)."""
    for item in found:
        Location.objects.update_or_create(
            institution=sync.institution, sync=sync, foreign_id=item["foreign_id"],
            defaults={**{k: v for k, v in item.items() if k != "foreign_id"}, "foreign_id_type": f"msg-{sync.ehr}"})
    if sync.status == SyncStatus.HISTORICAL_READ:
        services.sync_locations_reported(sync=sync, actor=None)


def extension_heartbeat_record(*, sync: Sync, workstation_id: str, extension_version: str,
                               last_activity_at: datetime | None) -> int:
    """A workstation's extension is alive: it counts toward coverage, and the sync read and wrote at its last
    activity (never later than now). Returns the workstations seen in the last hour."""
    now = timezone.now()
    seen = min(last_activity_at or now, now)
    ExtensionWorkstation.objects.update_or_create(
        sync=sync, workstation_id=workstation_id, defaults={"last_seen_at": now, "extension_version": extension_version})
    Sync.objects.filter(pk=sync.pk).update(last_read_at=seen, last_write_at=seen,
                                           health_deadline_at=health_deadline_after_new_data(now))
    return extension_coverage(sync, now)
