"""Sync Status: every sync of the organization, red first, paginated in SQL, with a 7-day freshness strip."""

import csv
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, IntegerField, Prefetch, Q, Value, When, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from institutions.models import Institution, PracticeTimeZone
from portal.csv_safety import csv_safe
from portal.paging import page_by_keys
from portal.permissions import permission_required
from syncs.catalog import CATALOG
from syncs.freshness import HOURS, hourly_states, strip_svg
from syncs.models import (
    EXPECTED,
    GRACE,
    GREEN,
    HEALTHY_CADENCE,
    RED,
    WAITING,
    Sync,
    SyncHealthChange,
    SyncStatus,
    schedules_away,
)

ORDER = {RED: 0, EXPECTED: 1, WAITING: 2, GREEN: 3}
PAGE_SIZE = 50


def _away_now(now) -> Q:
    """Syncs whose practice is expected away right now (Sync.in_expected_downtime, in SQL): one term per time zone,
    since the rule is about the practice's local hour and weekday. A zone Python does not know counts as UTC."""
    known = PracticeTimeZone.values
    terms = Q(~Q(institution__tz__in=known), downtime_schedule__in=schedules_away(now.astimezone(UTC)))
    for tz in known:
        terms |= Q(institution__tz=tz, downtime_schedule__in=schedules_away(now.astimezone(ZoneInfo(tz))))
    return terms


def _worst(now) -> Case:
    """Health.worst in SQL (red, expected, waiting, green: ORDER), so the page sorts, filters and counts in the
    database. A side is fresh when it reported within the cadence and grace, waiting when it never reported and the
    sync went live (`monitored_since`) within that window, stale otherwise."""
    stale_after = now - HEALTHY_CADENCE - GRACE
    live_recently = Q(monitored__gte=stale_after)
    stale = Q()
    waiting = Q()
    for side in ("last_read_at", "last_write_at"):
        never = Q(**{f"{side}__isnull": True})
        stale |= (never & ~live_recently) | Q(**{f"{side}__lt": stale_after})
        waiting |= never & live_recently
    real = Q(institution__is_sandbox=False)
    # Most rows are green: both sides fresh decides that first, so the rest is evaluated for the few others.
    fresh = Q(last_read_at__gte=stale_after, last_write_at__gte=stale_after)
    return Case(When(fresh, then=Value(ORDER[GREEN])),
                When(stale & real & ~_away_now(now), then=Value(ORDER[RED])),
                When(stale & real, then=Value(ORDER[EXPECTED])),
                When(waiting & real, then=Value(ORDER[WAITING])),
                default=Value(ORDER[GREEN]), output_field=IntegerField())


def sync_status_syncs(request, now):
    """The organization's active syncs (searched, filtered), red first then by institution name, in SQL."""
    membership = request.membership
    institutions = Institution.objects.reachable_by(membership.organization).in_mode(sandbox=membership.in_test_mode)
    syncs = (Sync.objects.filter(institution__in=institutions, status=SyncStatus.ACTIVE).select_related("institution")
             .annotate(monitored=Coalesce("activated_at", "status_changed_at")).annotate(worst=_worst(now)))
    query = request.GET.get("q", "").strip()
    if query:
        syncs = syncs.filter(institution__name__icontains=query)
    if request.GET.get("system") in CATALOG:
        syncs = syncs.filter(ehr=request.GET["system"])
    return syncs


def _rows(syncs, now) -> list[dict]:
    """One page's rows: health at read time and the strip, from the page's own recent changes (one query)."""
    window = SyncHealthChange.objects.filter(kind="read", created_at__gte=now - timedelta(hours=HOURS)).order_by("created_at", "id")
    syncs = list(syncs)
    prefetch_related_objects(syncs, Prefetch("health_changes", queryset=window, to_attr="recent_changes"))
    rows = []
    for sync in syncs:
        health = sync.health_at(now)
        rows.append({"sync": sync, "health": health,
                     "strip": strip_svg(hourly_states(health.stored("read"), sync.recent_changes, now, sync.monitored_since))})
    return rows


@permission_required("portal.view")
@require_GET
def sync_status(request):
    now = timezone.now()
    syncs = sync_status_syncs(request, now)
    wanted = request.GET.get("health")
    if wanted in ORDER:
        syncs = syncs.filter(worst=ORDER[wanted])
    syncs = syncs.order_by("worst", "institution__name", "id")
    if request.GET.get("format") == "csv":
        return _csv(syncs, now)
    page = page_by_keys(syncs, PAGE_SIZE, request.GET.get("page"))
    return render(request, "syncs/sync_status.html", {
        "rows": _rows(page.object_list, now), "page": page,
        "systems": sorted((e.name, e.label) for e in CATALOG.values()),
        "query": request.GET.get("q", ""), "system": request.GET.get("system", ""), "health": request.GET.get("health", ""),
    })


def _csv(syncs, now) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="sync-status.csv"'
    writer = csv.writer(response)
    writer.writerow(["institution", "subdomain", "system", "read_status", "last_read_at", "write_status", "last_write_at"])
    for sync in syncs.iterator(chunk_size=2000):
        health = sync.health_at(now)
        writer.writerow([csv_safe(value) for value in (
            sync.institution.name, sync.institution.subdomain, sync.get_ehr_display(), health.read,
            health.read_at.isoformat() if health.read_at else "", health.write,
            health.write_at.isoformat() if health.write_at else "")])
    return response
