"""What a red sync likely means, in words, with what to do. The health rule itself lives on Sync (models)."""

from datetime import datetime

from syncs.models import GREEN, RED, WAITING, Sync

LOW_DISK_MB = 2048
LOW_COVERAGE = 2  # workstations seen in the last hour


def diagnose(sync: Sync, now: datetime, *, coverage: int | None = None) -> list[str]:
    """Likely causes of a red sync, in words, with what to do."""
    health = sync.health_at(now)
    causes: list[str] = []
    facts = sync.host_facts or {}
    if sync.catalog_entry.hosting == "server":
        if health.worst == RED and sync.last_read_at is None and sync.last_write_at is None:
            causes.append("The Synchronizer has not reported once since the sync went live: check that its service is "
                          "running on the server and that the server can reach Chairside over HTTPS.")
        elif health.worst == RED:
            causes.append("The Synchronizer has been silent while the practice should be open. Antivirus software may "
                          "have removed it, or the server was replaced: reinstall it with a new product key.")
        if isinstance(facts.get("free_disk_mb"), int) and facts["free_disk_mb"] < LOW_DISK_MB:
            causes.append(f"The server is low on disk space ({facts['free_disk_mb']} MB free): ask the practice's IT to free space.")
        expires = facts.get("service_password_expires_at")
        if expires and str(expires) < now.isoformat():
            causes.append("The Synchronizer's service account password expired: ask IT to renew it.")
        if facts.get("pending_reboot"):
            causes.append("The server has a reboot pending: ask IT to restart it outside office hours.")
    elif coverage is not None and coverage < LOW_COVERAGE and health.worst not in (GREEN, WAITING):
        causes.append(f"Only {coverage} workstation{'s' if coverage != 1 else ''} ran the browser extension in the last "
                      "hour: install it on every workstation where staff change the schedule.")
    return causes
