"""The institution board: TO DO / IN PROGRESS / ALL, derived from sync states, never stored."""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from institutions.models import Institution, InstitutionAccess
from portal.models import Organization
from syncs.models import WAITING_ON_DEVELOPER, WAITING_ON_OTHERS, Sync

SECTIONS = {"todo": "TO DO", "in_progress": "IN PROGRESS", "all": "ALL"}
NO_SYNC = "no_sync"


def organizations_reaching(institution: Institution) -> QuerySet[Organization]:
    """The one rule for "organizations that use this institution": access active (the practice allows it) and not
    ended by the organization. They see its shared timeline and get its sync emails and webhooks."""
    return Organization.objects.filter(institution_accesses__institution=institution,
                                       institution_accesses__status=InstitutionAccess.Status.ACTIVE,
                                       institution_accesses__deactivated_at__isnull=True)


def _annotated(organization: Organization, *, sandbox: bool) -> QuerySet:
    syncs = Sync.objects.filter(institution=OuterRef("pk"))
    pending = InstitutionAccess.objects.filter(institution=OuterRef("pk"), organization=organization,
                                               status=InstitutionAccess.Status.PENDING)
    ended = InstitutionAccess.objects.filter(institution=OuterRef("pk"), organization=organization,
                                             deactivated_at__isnull=False)
    # Institutions reached, plus those whose practice has not answered our consent request yet.
    return (
        Institution.objects.filter(accesses__organization=organization,
                                   accesses__status__in=[InstitutionAccess.Status.ACTIVE, InstitutionAccess.Status.PENDING])
        .in_mode(sandbox=sandbox)
        .annotate(
            has_sync=Exists(syncs),
            needs_developer=Exists(syncs.filter(status__in=WAITING_ON_DEVELOPER)),
            waits_on_others=Exists(syncs.filter(status__in=WAITING_ON_OTHERS)),
            consent_pending=Exists(pending),
            deactivated_here=Exists(ended),
        )
    )


def _section_filter(section: str) -> Q:
    # An institution this organization deactivated waits on nobody: it shows under ALL only.
    todo = (Q(has_sync=False) | Q(needs_developer=True)) & Q(consent_pending=False) & Q(deactivated_here=False)
    if section == "todo":
        return todo
    if section == "in_progress":
        return ~todo & (Q(waits_on_others=True) | Q(consent_pending=True)) & Q(deactivated_here=False)
    return Q()


def _section_counts(organization: Organization, *, sandbox: bool, query: str, status: str) -> dict[str, int]:
    """Every section's count in one query, as _section_filter decides, from the organization's access rows joined
    to their syncs and grouped: one pass over the syncs instead of five EXISTS probes per institution (at 10,000
    institutions, ~6x less time on PostgreSQL). tests/institutions keep both ways in agreement."""
    accesses = InstitutionAccess.objects.filter(
        organization=organization, status__in=[InstitutionAccess.Status.ACTIVE, InstitutionAccess.Status.PENDING],
        institution__is_sandbox=sandbox)
    if query:
        accesses = accesses.filter(institution__name__icontains=query)
    if status == NO_SYNC:
        accesses = accesses.filter(~Exists(Sync.objects.filter(institution=OuterRef("institution_id"))))
    elif status:
        accesses = accesses.filter(Exists(Sync.objects.filter(institution=OuterRef("institution_id"), status=status)))
    per_institution = accesses.values("pk", "status", "deactivated_at").annotate(
        syncs=Count("institution__syncs"),
        for_developer=Count("institution__syncs", filter=Q(institution__syncs__status__in=WAITING_ON_DEVELOPER)),
        for_others=Count("institution__syncs", filter=Q(institution__syncs__status__in=WAITING_ON_OTHERS)),
    )
    pending, ended = Q(status=InstitutionAccess.Status.PENDING), Q(deactivated_at__isnull=False)
    todo = (Q(syncs=0) | Q(for_developer__gt=0)) & ~pending & ~ended
    in_progress = ~todo & (Q(for_others__gt=0) | pending) & ~ended
    return per_institution.aggregate(todo=Count("pk", filter=todo), in_progress=Count("pk", filter=in_progress),
                                     all=Count("pk"))


@dataclass
class Board:
    section: str
    institutions: QuerySet
    counts: dict[str, int]


def institution_board(*, organization: Organization, sandbox: bool, section: str = "todo", query: str = "",
                      status: str = "") -> Board:
    """Institutions of one section (searched, filtered), with every section's count in one query."""
    section = section if section in SECTIONS else "todo"
    base = _annotated(organization, sandbox=sandbox)
    if query:
        base = base.filter(name__icontains=query)
    if status == NO_SYNC:
        base = base.filter(has_sync=False)
    elif status:
        base = base.filter(Exists(Sync.objects.filter(institution=OuterRef("pk"), status=status)))
    counts = _section_counts(organization, sandbox=sandbox, query=query, status=status)
    rows = (
        base.filter(_section_filter(section))
        .prefetch_related(Prefetch("syncs", queryset=Sync.objects.select_related("install_slot").order_by("id")))
        .order_by("name", "id")
    )
    return Board(section=section, institutions=rows, counts=counts)
