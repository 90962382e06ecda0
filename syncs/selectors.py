from datetime import datetime, timedelta

from django.shortcuts import get_object_or_404

from institutions.models import Institution
from syncs.models import Sync


def sync_for_member(request, code: str) -> Sync:
    """The sync behind `code` if the signed-in developer's organization reaches its institution, else 404."""
    institutions = Institution.objects.reachable_by(request.membership.organization)
    return get_object_or_404(Sync.objects.select_related("institution", "created_by", "credentials_submitted_by"),
                             code=code, institution__in=institutions)


def extension_coverage(sync: Sync, now: datetime) -> int:
    """Workstations whose browser extension reported in the last hour."""
    return sync.workstations.filter(last_seen_at__gte=now - timedelta(hours=1)).count()
