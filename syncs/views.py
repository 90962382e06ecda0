from django.shortcuts import render
from django.utils import timezone

from institutions.models import Institution
from portal.permissions import membership_required
from syncs.models import Sync


@membership_required
def sync_status(request):
    """Every active sync of the current mode, red first."""
    membership = request.membership
    institutions = Institution.objects.reachable_by(membership.organization).in_mode(sandbox=membership.in_test_mode)
    syncs = Sync.objects.filter(institution__in=institutions, status=Sync.Status.ACTIVE).select_related("institution")
    now = timezone.now()
    rows = [{"sync": sync, **sync.health(now)} for sync in syncs.order_by("institution__name", "id")]
    rows.sort(key=lambda row: (row["read_status"] == "green" and row["write_status"] == "green"))
    return render(request, "syncs/sync_status.html", {"rows": rows})
