"""The institution board: TO DO / IN PROGRESS / ALL, read from each access row's stored section (institutions.board
derives it from sync states and keeps it current)."""

from dataclasses import dataclass

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Prefetch, Q, QuerySet

from institutions.models import BoardSection, Institution, InstitutionAccess
from portal.models import Organization
from syncs.models import Sync

SECTIONS = {"todo": "TO DO", "in_progress": "IN PROGRESS", "all": "ALL"}
NO_SYNC = "no_sync"


def organizations_reaching(institution: Institution) -> QuerySet[Organization]:
    """The one rule for "organizations that use this institution": access active (the practice allows it) and not
    ended by the organization. They see its shared timeline and get its sync emails and webhooks."""
    return Organization.objects.filter(institution_accesses__institution=institution,
                                       institution_accesses__status=InstitutionAccess.Status.ACTIVE,
                                       institution_accesses__deactivated_at__isnull=True)


def _board_base(organization: Organization, *, sandbox: bool, query: str, status: str) -> QuerySet:
    """Institutions on the organization's board (reached, or waiting for the practice's consent), searched and
    filtered, each with its stored section for this organization (`section`, from the same join)."""
    syncs = Sync.objects.filter(institution=OuterRef("pk"))
    base = (
        Institution.objects.filter(accesses__organization=organization,
                                   accesses__status__in=[InstitutionAccess.Status.ACTIVE, InstitutionAccess.Status.PENDING])
        .in_mode(sandbox=sandbox)
        .annotate(section=F("accesses__board_section"))
    )
    if query:
        base = base.filter(name__icontains=query)
    if status == NO_SYNC:
        base = base.filter(~Exists(syncs))
    elif status:
        base = base.filter(Exists(syncs.filter(status=status)))
    return base


def _section_counts(base: QuerySet) -> dict[str, int]:
    """Every section's count in one query: the stored sections grouped (an index scan, whatever the size)."""
    per_section = dict(base.order_by().values_list("section").annotate(count=Count("pk")))
    return {"todo": per_section.get(BoardSection.TODO, 0), "in_progress": per_section.get(BoardSection.IN_PROGRESS, 0),
            "all": sum(per_section.values())}


@dataclass
class Board:
    section: str
    institutions: QuerySet
    counts: dict[str, int]


def institution_board(*, organization: Organization, sandbox: bool, section: str = "todo", query: str = "",
                      status: str = "") -> Board:
    """Institutions of one section (searched, filtered), with every section's count in one query."""
    section = section if section in SECTIONS else "todo"
    base = _board_base(organization, sandbox=sandbox, query=query, status=status)
    counts = _section_counts(base)
    # This organization's access row is already joined (`section`): its status and deactivation come from it too.
    pending = ExpressionWrapper(Q(accesses__status=InstitutionAccess.Status.PENDING), output_field=BooleanField())
    ended = ExpressionWrapper(Q(accesses__deactivated_at__isnull=False), output_field=BooleanField())
    rows = (
        (base if section == "all" else base.filter(section=section))
        .annotate(consent_pending=pending, deactivated_here=ended)
        .prefetch_related(Prefetch("syncs", queryset=Sync.objects.select_related("install_slot").order_by("id")))
        .order_by("name", "id")
    )
    return Board(section=section, institutions=rows, counts=counts)
