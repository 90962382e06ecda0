from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from institutions.models import Institution, InstitutionAccess
from institutions.selectors import organizations_reaching
from portal.models import Organization
from syncs.models import Sync


def sync_for_member(request, code: str) -> Sync:
    """The sync behind `code` if the signed-in developer's organization reaches its institution, else 404.
    Consumers get it too: they may look at its health, never at its secrets or settings."""
    institutions = Institution.objects.reachable_by(request.membership.organization)
    sync = get_object_or_404(Sync.objects.select_related("institution", "operator", "created_by", "credentials_submitted_by"),
                             code=code, institution__in=institutions)
    sync.operated_here = sync_operated_by(sync, request.membership.organization)
    return sync


def sync_for_operator(request, code: str) -> Sync:
    """As sync_for_member, and 403 unless the signed-in developer's organization operates the sync."""
    sync = sync_for_member(request, code)
    if not sync.operated_here:
        raise PermissionDenied("Only the organization that operates this sync can change it or see its keys.")
    return sync


def sync_operated_by(sync: Sync, organization: Organization) -> bool:
    """The one rule for "may change this sync's settings and see its secrets": the organization operates the sync and
    still uses the practice. When the operator has left, the settings stay frozen until support transfers them."""
    return (sync.operator_id == organization.pk
            and organizations_reaching(sync.institution).filter(pk=organization.pk).exists())


def institution_operated_by(institution: Institution, organization: Organization) -> bool:
    """Only the organization that created the institution (and still uses it) onboards it: creates its syncs.

    Two queries on purpose: a second filter() across institution_accesses would join another access row, so any
    institution the organization created (its own sandbox, say) would have made it an onboarder of this one."""
    return (organizations_reaching(institution).filter(pk=organization.pk).exists()
            and InstitutionAccess.objects.filter(organization=organization, institution=institution,
                                                 via=InstitutionAccess.Via.CREATED).exists())


def extension_coverage(sync: Sync, now: datetime) -> int:
    """Workstations whose browser extension reported in the last hour."""
    return sync.workstations.filter(last_seen_at__gte=now - timedelta(hours=1)).count()
