"""Sync Status: every sync of the organization on one page, red first, with a 7-day freshness strip."""

import csv
from collections import defaultdict
from datetime import timedelta

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from institutions.models import Institution
from portal.csv_safety import csv_safe
from portal.permissions import permission_required
from syncs.catalog import CATALOG
from syncs.freshness import HOURS, hourly_states, strip_svg
from syncs.models import EXPECTED, GREEN, RED, WAITING, Sync, SyncHealthChange, SyncStatus

ORDER = {RED: 0, EXPECTED: 1, WAITING: 2, GREEN: 3}


def sync_status_rows(request) -> list[dict]:
    membership = request.membership
    now = timezone.now()
    institutions = Institution.objects.reachable_by(membership.organization).in_mode(sandbox=membership.in_test_mode)
    syncs = Sync.objects.filter(institution__in=institutions, status=SyncStatus.ACTIVE).select_related("institution")
    query = request.GET.get("q", "").strip()
    if query:
        syncs = syncs.filter(institution__name__icontains=query)
    if request.GET.get("system") in CATALOG:
        syncs = syncs.filter(ehr=request.GET["system"])
    window = SyncHealthChange.objects.filter(kind="read", created_at__gte=now - timedelta(hours=HOURS)).order_by("created_at", "id")
    syncs = syncs.prefetch_related(Prefetch("health_changes", queryset=window, to_attr="recent_changes"))
    rows = []
    for sync in syncs:
        health = sync.health_at(now)
        rows.append({"sync": sync, "health": health,
                     "strip": strip_svg(hourly_states(health.stored("read"), sync.recent_changes, now, sync.monitored_since))})
    wanted = request.GET.get("health")
    if wanted in ORDER:
        rows = [row for row in rows if row["health"].worst == wanted]
    return sorted(rows, key=lambda row: (ORDER[row["health"].worst], row["sync"].institution.name))


@permission_required("portal.view")
@require_GET
def sync_status(request):
    rows = sync_status_rows(request)
    if request.GET.get("format") == "csv":
        return _csv(rows)
    counts = defaultdict(int)
    for row in rows:
        counts[row["health"].worst] += 1
    return render(request, "syncs/sync_status.html", {
        "rows": rows, "counts": counts, "systems": sorted((e.name, e.label) for e in CATALOG.values()),
        "query": request.GET.get("q", ""), "system": request.GET.get("system", ""), "health": request.GET.get("health", ""),
    })


def _csv(rows: list[dict]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="sync-status.csv"'
    writer = csv.writer(response)
    writer.writerow(["institution", "subdomain", "system", "read_status", "last_read_at", "write_status", "last_write_at"])
    for row in rows:
        sync, health = row["sync"], row["health"]
        writer.writerow([csv_safe(value) for value in (
            sync.institution.name, sync.institution.subdomain, sync.get_ehr_display(), health.read,
            health.read_at.isoformat() if health.read_at else "", health.write,
            health.write_at.isoformat() if health.write_at else "")])
    return response
