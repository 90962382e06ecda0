"""The board's stored sections: written by every path that changes them, per organization, and checked."""

import pytest
from django.db import connection
from django.utils import timezone

from institutions.board import board_sections_refresh, board_sections_stale
from institutions.models import BoardSection, InstitutionAccess
from syncs import services
from syncs.models import Sync, SyncStatus
from tests.factories import InstitutionFactory, SyncFactory

pytestmark = pytest.mark.django_db


def behind_the_orms_back(sql: str, params: list) -> None:
    """A write no ORM path sees (raw SQL): the stored figures are left behind, as a missed path would leave them."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def section(organization, institution) -> str:
    return InstitutionAccess.objects.get(organization=organization, institution=institution).board_section


def test_an_update_that_bypasses_the_services_is_what_the_check_finds(cast):
    institution = InstitutionFactory(created_by=cast.acme)
    sync = SyncFactory(institution=institution, ehr="dolphin", status=SyncStatus.INSTALL_SCHEDULED)
    assert section(cast.acme, institution) == BoardSection.IN_PROGRESS

    behind_the_orms_back("UPDATE syncs_sync SET status = %s WHERE id = %s", [SyncStatus.ACTIVE, sync.pk])

    assert list(board_sections_stale().values_list("institution", "board_section")) == [
        (institution.pk, BoardSection.IN_PROGRESS)]
    board_sections_refresh(InstitutionAccess.objects.all())
    assert not board_sections_stale().exists() and section(cast.acme, institution) == BoardSection.ALL_ONLY


def test_a_sync_moving_through_its_states_moves_the_institution_for_every_organization_using_it(cast):
    institution = InstitutionFactory(created_by=cast.acme)
    InstitutionAccess.objects.create(organization=cast.other, institution=institution, via=InstitutionAccess.Via.CONSENT)
    assert {section(cast.acme, institution), section(cast.other, institution)} == {BoardSection.TODO}

    sync = SyncFactory(institution=institution, ehr="dolphin", status=SyncStatus.INSTALL_SCHEDULED)
    assert {section(cast.acme, institution), section(cast.other, institution)} == {BoardSection.IN_PROGRESS}

    services.sync_move(sync, from_statuses=[SyncStatus.INSTALL_SCHEDULED], to=SyncStatus.ACTIVE)
    assert {section(cast.acme, institution), section(cast.other, institution)} == {BoardSection.ALL_ONLY}


def test_one_organizations_pending_consent_or_deactivation_leaves_the_others_section_alone(cast):
    institution = InstitutionFactory(created_by=cast.acme)
    SyncFactory(institution=institution, status=SyncStatus.AWAITING_CREDENTIALS)  # waits on the developer
    asking = InstitutionAccess.objects.create(organization=cast.other, institution=institution,
                                              via=InstitutionAccess.Via.CONSENT, status=InstitutionAccess.Status.PENDING)
    assert (section(cast.acme, institution), section(cast.other, institution)) == (BoardSection.TODO,
                                                                                    BoardSection.IN_PROGRESS)

    asking.deactivated_at = timezone.now()
    asking.save(update_fields=["deactivated_at"])

    assert (section(cast.acme, institution), section(cast.other, institution)) == (BoardSection.TODO,
                                                                                    BoardSection.ALL_ONLY)


def test_beat_repairs_a_section_a_concurrent_write_left_behind_and_says_so(cast, settings, caplog):
    from institutions.tasks import repair_board_figures

    institution = InstitutionFactory(created_by=cast.acme)
    sync = SyncFactory(institution=institution, ehr="dolphin", status=SyncStatus.INSTALL_SCHEDULED)
    # As if its refresh had read a snapshot from before the move.
    behind_the_orms_back("UPDATE syncs_sync SET status = %s WHERE id = %s", [SyncStatus.ACTIVE, sync.pk])

    assert repair_board_figures.apply().get() == 1
    assert section(cast.acme, institution) == BoardSection.ALL_ONLY
    assert "Repaired 1 board section" in caplog.text
    assert repair_board_figures.apply().get() == 0
    assert settings.CELERY_BEAT_SCHEDULE["repair-board-figures"]["task"] == "institutions.tasks.repair_board_figures"


def test_the_billed_figure_counts_what_the_serving_rule_serves_through_every_change(cast):
    from institutions.board import billed_location_count
    from institutions.models import Location, LocationDeactivation
    from portal.services import organization_enable_production
    from tests.factories import LocationFactory

    organization_enable_production(organization=cast.acme, actor=None)

    def serving() -> int:
        return Location.objects.serving(cast.acme).filter(institution__is_sandbox=False).count()

    shared = InstitutionFactory(created_by=cast.acme)
    InstitutionAccess.objects.create(organization=cast.other, institution=shared, via=InstitutionAccess.Via.CONSENT)
    sync = SyncFactory(institution=shared, status=SyncStatus.ACTIVE)
    offices = [LocationFactory(institution=shared, sync=sync, active=True, foreign_id=str(n)) for n in range(3)]
    LocationFactory(institution=shared, sync=sync, active=False, foreign_id="dormant")
    sandbox = InstitutionFactory(created_by=cast.acme, is_sandbox=True)
    LocationFactory(institution=sandbox, active=True, foreign_id="s")
    elsewhere = InstitutionFactory(created_by=cast.other)
    LocationFactory(institution=elsewhere, active=True, foreign_id="e")
    assert billed_location_count(cast.acme) == serving() == 3

    services.locations_deactivate(institution=shared, location_ids=[offices[0].pk], actor=cast.alice,
                                  organization=cast.acme)  # Acme stops one office; Other Co keeps it
    assert billed_location_count(cast.acme) == serving() == 2
    assert billed_location_count(cast.other) == Location.objects.serving(cast.other).count() == 4  # + elsewhere

    services.locations_deactivate(institution=shared, location_ids=None, actor=cast.alice, organization=cast.acme)
    assert billed_location_count(cast.acme) == serving() == 0

    services.locations_reactivate(locations=Location.objects.filter(pk=offices[0].pk), actor=cast.alice)
    assert not LocationDeactivation.objects.filter(location=offices[0]).exists()
    assert billed_location_count(cast.acme) == serving() == 1  # its own deactivation of the other two stands
    assert shared.__class__.objects.get(pk=shared.pk).live_locations == 3


def test_beat_repairs_a_live_location_count_left_behind_too(cast):
    from institutions.board import board_figures_repair
    from institutions.models import Institution
    from tests.factories import LocationFactory

    institution = InstitutionFactory(created_by=cast.acme)
    office = LocationFactory(institution=institution, active=True, foreign_id="1")
    assert Institution.objects.get(pk=institution.pk).live_locations == 1

    behind_the_orms_back("UPDATE institutions_location SET active = %s WHERE id = %s", [False, office.pk])

    assert board_figures_repair() == 1
    assert Institution.objects.get(pk=institution.pk).live_locations == 0


def test_a_plain_update_of_a_status_or_a_location_refreshes_the_stored_figures(cast):
    from institutions.models import Institution, Location
    from tests.factories import LocationFactory

    institution = InstitutionFactory(created_by=cast.acme)
    sync = SyncFactory(institution=institution, ehr="dolphin", status=SyncStatus.INSTALL_SCHEDULED)
    office = LocationFactory(institution=institution, sync=sync, active=True, foreign_id="1")

    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.ACTIVE)
    Location.objects.filter(pk=office.pk).update(deactivated_at=timezone.now())
    InstitutionAccess.objects.filter(organization=cast.acme).update(status=InstitutionAccess.Status.PENDING)

    assert section(cast.acme, institution) == BoardSection.IN_PROGRESS
    assert Institution.objects.get(pk=institution.pk).live_locations == 0
