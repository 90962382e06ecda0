"""The board's stored figures: which section an institution shows in for one organization (the rule's one home),
and how many of an institution's locations are live (for the billed-locations figure).

TO DO: the developer has something to do: no sync yet, or a sync waiting on the developer.
IN PROGRESS: others are on it: a sync waiting on the practice, an engineer or Chairside, or the practice's consent.
An institution this organization deactivated waits on nobody: it shows under ALL only, as does a live one.

The section is derived from the access row and the institution's syncs, and stored on the access row
(`board_section`, indexed) so the board and the home page count and page their sections from an index at any size
instead of probing every institution's syncs. Every ORM write that can change it refreshes it here:
- saving or deleting a Sync or an InstitutionAccess (the receivers below: forms, the admin, `create`, cascades);
- `update()` of a sync's status or an access's status or deactivation (SyncQuerySet and InstitutionAccessQuerySet
  call the refresh after the UPDATE, so the conditional-UPDATE transitions need nothing of their own).
Only writes that skip both refresh explicitly: `bulk_create` (the sandbox, the benches) and the CSV import's COPY.
`Institution.live_locations` follows `Location.objects.live()` the same way (the receivers below and
LocationQuerySet.update).
tests/conftest.py checks after every database test that each stored figure equals its rule, so a write path that
forgets to refresh fails the suite. Two transactions changing one practice's syncs or locations at the same moment
can each refresh from a snapshot without the other's change: beat repairs such rows every ten minutes
(board_figures_repair) and logs them.
"""

import logging

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from institutions.models import (
    BoardSection,
    Institution,
    InstitutionAccess,
    Location,
    LocationDeactivation,
)
from portal.models import Organization
from syncs.models import WAITING_ON_DEVELOPER, WAITING_ON_OTHERS, Sync

logger = logging.getLogger(__name__)


def board_section_rule(sync_model=Sync) -> Case:
    """The section as an SQL expression over an InstitutionAccess row (`sync_model`: a migration's historical
    model)."""
    syncs = sync_model.objects.filter(institution=OuterRef("institution_id"))
    return Case(
        When(deactivated_at__isnull=False, then=Value(BoardSection.ALL_ONLY)),
        When(status=InstitutionAccess.Status.PENDING, then=Value(BoardSection.IN_PROGRESS)),
        When(~Exists(syncs) | Exists(syncs.filter(status__in=WAITING_ON_DEVELOPER)), then=Value(BoardSection.TODO)),
        When(Exists(syncs.filter(status__in=WAITING_ON_OTHERS)), then=Value(BoardSection.IN_PROGRESS)),
        default=Value(BoardSection.ALL_ONLY),
    )


def board_sections_refresh(accesses: QuerySet[InstitutionAccess]) -> int:
    """Store the rule's section on these access rows: one UPDATE. Returns the rows written."""
    return accesses.update(board_section=board_section_rule())


def board_sections_refresh_for(institution_ids) -> int:
    """Every organization's section of these institutions (their syncs changed)."""
    return board_sections_refresh(InstitutionAccess.objects.filter(institution_id__in=list(institution_ids)))


def board_sections_stale() -> QuerySet[InstitutionAccess]:
    """Access rows whose stored section differs from the rule (none, when every write path refreshes)."""
    return InstitutionAccess.objects.annotate(derived=board_section_rule()).exclude(board_section=F("derived"))


def live_locations_rule(live: QuerySet | None = None) -> Coalesce:
    """Institution.live_locations as an SQL expression over an Institution row (`live`: a migration's own copy of
    Location.objects.live())."""
    live = Location.objects.live() if live is None else live
    counted = live.filter(institution=OuterRef("pk")).order_by().values("institution").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def live_locations_refresh(institution_ids) -> int:
    """Store how many live locations these institutions have: one UPDATE."""
    return Institution.objects.filter(pk__in=list(institution_ids)).update(live_locations=live_locations_rule())


def live_locations_stale() -> QuerySet[Institution]:
    return Institution.objects.annotate(derived=live_locations_rule()).exclude(live_locations=F("derived"))


def billed_location_count(organization: Organization) -> int:
    """`Location.objects.serving(organization)` in production institutions, counted: the live locations of the
    institutions it uses (one stored number each), less those it deactivated itself (its own few rows).
    tests/institutions/test_board_sections.py holds it to the serving rule's count."""
    in_use = InstitutionAccess.objects.filter(organization=organization, status=InstitutionAccess.Status.ACTIVE,
                                              deactivated_at__isnull=True, institution__is_sandbox=False)
    opted_out = (LocationDeactivation.objects.filter(organization=organization, location__in=Location.objects.live(),
                                                     location__institution__in=in_use.values("institution_id"))
                 .order_by().values("organization").annotate(n=Count("location", distinct=True)).values("n"))
    return in_use.aggregate(n=Coalesce(Sum("institution__live_locations"), 0)
                            - Coalesce(Subquery(opted_out, output_field=IntegerField()), 0))["n"]


def board_figures_repair() -> int:
    """Rewrite the stored figures that differ from their rules; returns how many (expected: none)."""
    stale = list(board_sections_stale().values_list("pk", flat=True))
    if stale:
        board_sections_refresh(InstitutionAccess.objects.filter(pk__in=stale))
        logger.warning("Repaired %d board section(s) that differed from the rule", len(stale))
    counts = list(live_locations_stale().values_list("pk", flat=True))
    if counts:
        live_locations_refresh(counts)
        logger.warning("Repaired %d live-location count(s) that differed from the rule", len(counts))
    return len(stale) + len(counts)


@receiver(post_save, sender=Sync, dispatch_uid="board_section_sync_saved")
@receiver(post_delete, sender=Sync, dispatch_uid="board_section_sync_deleted")
def _sync_changed(sender, instance: Sync, update_fields=None, **kwargs) -> None:
    if _changes(update_fields, Sync.objects):
        board_sections_refresh_for([instance.institution_id])


@receiver(post_save, sender=InstitutionAccess, dispatch_uid="board_section_access_saved")
def _access_saved(sender, instance: InstitutionAccess, update_fields=None, **kwargs) -> None:
    if _changes(update_fields, InstitutionAccess.objects):
        board_sections_refresh(InstitutionAccess.objects.filter(pk=instance.pk))


@receiver(post_save, sender=Location, dispatch_uid="live_locations_location_saved")
@receiver(post_delete, sender=Location, dispatch_uid="live_locations_location_deleted")
def _location_changed(sender, instance: Location, update_fields=None, **kwargs) -> None:
    if _changes(update_fields, Location.objects, also={"institution"}):
        live_locations_refresh([instance.institution_id])


def _changes(update_fields, manager, also: frozenset[str] | set[str] = frozenset()) -> bool:
    """A save (or delete) that can change a figure: all fields, or one its queryset's update() follows too."""
    return update_fields is None or bool((manager.get_queryset().followed_fields | also) & set(update_fields))
