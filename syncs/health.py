"""Sync health, derived at read time (like a heartbeat monitor): green, red or expected downtime.

A Synchronizer normally reads and writes every 0-20 minutes. Past that and a grace window the data is
stale: red, unless the practice is expected to be away (its downtime schedule, in its time zone).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from syncs.models import DowntimeSchedule, Sync

HEALTHY_CADENCE = timedelta(minutes=20)
GRACE = timedelta(minutes=10)
GREEN, RED, EXPECTED = "green", "red", "expected"
OFFICE_OPENS, OFFICE_CLOSES = 7, 19
LOW_DISK_MB = 2048
LOW_COVERAGE = 2  # workstations seen in the last hour


def practice_time(sync: Sync, now: datetime) -> datetime:
    try:
        return now.astimezone(ZoneInfo(sync.institution.tz))
    except (KeyError, ValueError):
        return now


def in_expected_downtime(sync: Sync, now: datetime) -> bool:
    local = practice_time(sync, now)
    night = not OFFICE_OPENS <= local.hour < OFFICE_CLOSES
    weekend = local.weekday() >= 5
    return {
        DowntimeSchedule.NONE: False,
        DowntimeSchedule.NIGHTS: night,
        DowntimeSchedule.WEEKENDS: weekend,
        DowntimeSchedule.NIGHTS_AND_WEEKENDS: night or weekend,
        DowntimeSchedule.OFFICE_HOURS: night or weekend,
    }[DowntimeSchedule(sync.downtime_schedule)]


def freshness(last: datetime | None, sync: Sync, now: datetime) -> str:
    if last is not None and now - last <= HEALTHY_CADENCE + GRACE:
        return GREEN
    return EXPECTED if in_expected_downtime(sync, now) else RED


@dataclass(frozen=True)
class Health:
    read: str
    write: str
    read_at: datetime | None
    write_at: datetime | None

    @property
    def worst(self) -> str:
        return RED if RED in (self.read, self.write) else EXPECTED if EXPECTED in (self.read, self.write) else GREEN

    def api_status(self, kind: str) -> str:
        """The API knows only green and red: expected downtime is still stale data."""
        return GREEN if getattr(self, kind) == GREEN else RED


def sync_health(sync: Sync, now: datetime) -> Health:
    if sync.institution.is_sandbox:  # no agent behind the sandbox: it is always fresh
        return Health(GREEN, GREEN, now, now)
    return Health(freshness(sync.last_read_at, sync, now), freshness(sync.last_write_at, sync, now),
                  sync.last_read_at, sync.last_write_at)


def diagnose(sync: Sync, now: datetime, *, coverage: int | None = None) -> list[str]:
    """Likely causes of a red sync, in words, with what to do."""
    health = sync_health(sync, now)
    causes: list[str] = []
    facts = sync.host_facts or {}
    if sync.catalog_entry.hosting == "server":
        if health.worst == RED:
            causes.append("The Synchronizer has been silent while the practice should be open. Antivirus software may "
                          "have removed it, or the server was replaced: reinstall it with a new product key.")
        if isinstance(facts.get("free_disk_mb"), int) and facts["free_disk_mb"] < LOW_DISK_MB:
            causes.append(f"The server is low on disk space ({facts['free_disk_mb']} MB free): ask the practice's IT to free space.")
        expires = facts.get("service_password_expires_at")
        if expires and str(expires) < now.isoformat():
            causes.append("The Synchronizer's service account password expired: ask IT to renew it.")
        if facts.get("pending_reboot"):
            causes.append("The server has a reboot pending: ask IT to restart it outside office hours.")
    elif coverage is not None and coverage < LOW_COVERAGE and health.worst != GREEN:
        causes.append(f"Only {coverage} workstation{'s' if coverage != 1 else ''} ran the browser extension in the last "
                      "hour: install it on every workstation where staff change the schedule.")
    return causes
