"""The one home of the board's rule: which section an institution shows in, for one organization.

TO DO: the developer has something to do: no sync yet, or a sync waiting on the developer.
IN PROGRESS: others are on it: a sync waiting on the practice, an engineer or Chairside, or the practice's consent.
An institution this organization deactivated waits on nobody: it shows under ALL only, as does a live one.

The section is derived from the access row and the institution's syncs, and stored on the access row
(`board_section`, indexed) so the board and the home page count and page their sections from an index at any size
instead of probing every institution's syncs. Every write that can change it refreshes it here:
- saving or deleting a Sync or an InstitutionAccess through the ORM (the receivers below: forms, the admin,
  `create`, cascades);
- the writes that bypass `save()`: a sync's status move (`syncs.services.sync_move`), access status and
  deactivation updates, and the CSV import's COPY, each calling `board_sections_refresh`.
tests/conftest.py checks after every database test that each stored section equals the rule, so a write path
that forgets to refresh fails the suite. Two transactions changing two syncs of one practice at the same moment can
each refresh from a snapshot without the other's change: beat repairs such rows every ten minutes
(board_sections_repair) and logs them.
"""

import logging

from django.db.models import Case, Exists, F, OuterRef, QuerySet, Value, When
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from institutions.models import BoardSection, InstitutionAccess
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


def board_sections_repair() -> int:
    """Rewrite the stored sections that differ from the rule; returns how many (expected: none)."""
    stale = list(board_sections_stale().values_list("pk", flat=True))
    if stale:
        board_sections_refresh(InstitutionAccess.objects.filter(pk__in=stale))
        logger.warning("Repaired %d board section(s) that differed from the rule", len(stale))
    return len(stale)


@receiver(post_save, sender=Sync, dispatch_uid="board_section_sync_saved")
@receiver(post_delete, sender=Sync, dispatch_uid="board_section_sync_deleted")
def _sync_changed(sender, instance: Sync, update_fields=None, **kwargs) -> None:
    if update_fields is None or "status" in update_fields:
        board_sections_refresh_for([instance.institution_id])


@receiver(post_save, sender=InstitutionAccess, dispatch_uid="board_section_access_saved")
def _access_saved(sender, instance: InstitutionAccess, update_fields=None, **kwargs) -> None:
    if update_fields is None or {"status", "deactivated_at"} & set(update_fields):
        board_sections_refresh(InstitutionAccess.objects.filter(pk=instance.pk))
