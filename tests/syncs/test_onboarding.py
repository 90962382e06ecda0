import re

import pytest
from django.core.exceptions import ValidationError
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from institutions.models import Institution, InstitutionAccess, Location, TimelineEvent
from institutions.selectors import institution_board
from portal.models import AuditEvent
from portal.services import organization_enable_production
from syncs import services
from syncs.models import Sync, SyncStatus
from tests.factories import InstitutionFactory, LocationFactory, SyncFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Bright Smiles Dental", "street_address": "12 Main St", "city": "Austin", "state": "TX", "zip_code": "78701",
    "tz": "America/Chicago", "phone_number": "(512) 555-0100", "email": "front@brightsmiles.example",
    "website": "brightsmiles.example", "contact_name": "Dana Office", "contact_email": "it@brightsmiles.example",
}


@pytest.fixture
def production(cast, alice_client):
    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    return cast.acme


@pytest.fixture
def staff(db):
    return UserFactory(email="support@chairside.example", is_staff=True, is_superuser=True)


def make_sync(cast, institution, option="opendental") -> Sync:
    return services.sync_create(institution=institution, option_key=option, actor=cast.alice, organization=cast.acme)


# --- Create Institution ------------------------------------------------------------------------------

def test_it_creates_an_institution_with_a_derived_subdomain(alice_client, production):
    response = alice_client.post(reverse("institutions:create"), VALID)

    institution = Institution.objects.get(name="Bright Smiles Dental")
    assert response["Location"] == reverse("institutions:detail", args=[institution.subdomain])
    assert institution.subdomain == "bright-smiles-dental"
    assert institution.phone_number == "5125550100" and institution.website == "https://brightsmiles.example"
    assert TimelineEvent.objects.filter(institution=institution, verb="institution.created").exists()
    assert AuditEvent.objects.filter(verb="institution.created").exists()
    second = alice_client.post(reverse("institutions:create"), {**VALID, "name": "Bright Smiles Dental "})
    assert second.status_code == 400 and "already have an institution" in second.content.decode()


@pytest.mark.parametrize("field, value, message", [
    ("phone_number", "555", "10-digit US phone number"), ("website", "not a url", "Enter a web address"),
    ("zip_code", "7870", "5-digit ZIP"), ("name", "", "This field is required"),
    ("contact_email", "nope", "valid email"), ("state", "ZZ", "Select a valid choice"),
])
def test_it_explains_bad_institution_input(alice_client, production, field, value, message):
    response = alice_client.post(reverse("institutions:create"), {**VALID, field: value})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Institution.objects.filter(is_sandbox=False).exists()


def test_institutions_wait_for_production(alice_client, cast):
    response = alice_client.post(reverse("institutions:create"), VALID)

    assert response.status_code == 400
    assert "Production is not enabled" in response.content.decode()


# --- The board -----------------------------------------------------------------------------------------

SECTION_OF = {
    None: "todo",
    SyncStatus.AWAITING_INSTALL: "todo", SyncStatus.SELECT_LOCATIONS: "todo", SyncStatus.AWAITING_SCHEDULE: "todo",
    SyncStatus.AWAITING_CREDENTIALS: "todo", SyncStatus.CREDENTIAL_ERROR: "todo",
    SyncStatus.HISTORICAL_READ: "in_progress", SyncStatus.INSTALL_SCHEDULED: "in_progress",
    SyncStatus.CREDENTIALS_SUBMITTED: "in_progress", SyncStatus.FAILED: "in_progress",
    SyncStatus.ACTIVE: "all", SyncStatus.DEACTIVATED: "all",
}


@pytest.mark.parametrize("status, section", list(SECTION_OF.items()))
def test_board_sections_follow_the_sync_state(cast, status, section):
    institution = InstitutionFactory(created_by=cast.acme)
    if status is not None:
        SyncFactory(institution=institution, status=status)

    placed = {key for key in ("todo", "in_progress", "all")
              if institution in institution_board(organization=cast.acme, sandbox=False, section=key).institutions}

    assert placed == ({section, "all"} if section != "all" else {"all"})


@pytest.mark.parametrize("status", SyncStatus.values)
def test_a_sync_is_in_to_do_exactly_when_its_next_step_says_it_needs_you(cast, status):
    institution = InstitutionFactory(created_by=cast.acme)
    sync = SyncFactory(institution=institution, status=status)

    in_todo = institution in institution_board(organization=cast.acme, sandbox=False, section="todo").institutions

    assert in_todo == (sync.next_step.label == "Needs you")


def test_a_sync_that_needs_the_developer_wins_over_one_in_progress(cast):
    institution = InstitutionFactory(created_by=cast.acme)
    SyncFactory(institution=institution, ehr="dolphin", status=SyncStatus.INSTALL_SCHEDULED)
    SyncFactory(institution=institution, status=SyncStatus.AWAITING_INSTALL)

    board = institution_board(organization=cast.acme, sandbox=False, section="todo")

    assert list(board.institutions) == [institution]
    assert board.counts == {"todo": 1, "in_progress": 0, "all": 1}


@pytest.mark.parametrize("query, status", [("", ""), ("Dental", ""), ("", "no_sync"), ("", SyncStatus.FAILED)])
def test_every_sections_count_is_the_number_of_institutions_it_lists(cast, query, status):
    for n, sync_status in enumerate([None, *SyncStatus.values]):
        institution = InstitutionFactory(name=f"{'Dental' if n % 2 else 'Ortho'} {n}", created_by=cast.acme)
        if sync_status is not None:
            SyncFactory(institution=institution, status=sync_status)
    SyncFactory(institution=InstitutionFactory(name="Two Dental", created_by=cast.acme), status=SyncStatus.FAILED)
    pending = InstitutionFactory(name="Asked Dental", created_by=cast.acme)
    pending.accesses.update(status=InstitutionAccess.Status.PENDING)
    ended = InstitutionFactory(name="Ended Dental", created_by=cast.acme)
    SyncFactory(institution=ended, status=SyncStatus.AWAITING_INSTALL)
    ended.accesses.update(deactivated_at=timezone.now())

    counts = institution_board(organization=cast.acme, sandbox=False, query=query, status=status).counts

    assert counts == {key: institution_board(organization=cast.acme, sandbox=False, section=key, query=query,
                                             status=status).institutions.count() for key in ("todo", "in_progress", "all")}
    assert counts["all"] > 0


def test_the_board_searches_filters_and_says_the_next_step(alice_client, production, cast):
    waiting = InstitutionFactory(name="Aspen Dental Care", created_by=cast.acme)
    make_sync(cast, waiting)
    InstitutionFactory(name="Birch Family Dentistry", created_by=cast.acme)
    InstitutionFactory(name="Not Ours Dental", created_by=cast.other)

    page = alice_client.get(reverse("institutions:list")).content.decode()
    assert "Install the Synchronizer" in page and "Create sync" in page and "Not Ours" not in page
    assert "TO DO (2)" in page and "IN PROGRESS (0)" in page and "ALL (2)" in page
    searched = alice_client.get(reverse("institutions:list"), {"q": "birch"}).content.decode()
    assert "Birch" in searched and "Aspen" not in searched
    filtered = alice_client.get(reverse("institutions:list"), {"status": "awaiting_install"}).content.decode()
    assert "Aspen" in filtered and "Birch" not in filtered


def test_the_board_takes_a_constant_number_of_queries(alice_client, production, cast):
    def add_institutions(start: int, stop: int) -> None:
        for n in range(start, stop):
            institution = InstitutionFactory(name=f"Practice {n:03d}", subdomain=f"practice-{n}", created_by=cast.acme)
            SyncFactory(institution=institution, status=SyncStatus.AWAITING_INSTALL)
            SyncFactory(institution=institution, ehr="dolphin", status=SyncStatus.INSTALL_SCHEDULED)

    def board_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(reverse("institutions:list"), {"section": "all"}).status_code == 200
        return len(queries)

    add_institutions(0, 10)
    with_10 = board_queries()
    add_institutions(10, 200)

    assert board_queries() == with_10


# --- Self-installer ----------------------------------------------------------------------------------

def test_self_installer_path_from_product_key_to_active(alice_client, production, cast, staff,
                                                        django_capture_on_commit_callbacks):
    institution = InstitutionFactory(name="Cedar Dental", created_by=cast.acme, contact_email="it@cedar.example")
    response = alice_client.post(reverse("institutions:sync_create", args=[institution.subdomain]), {"system": "opendental"})
    sync = Sync.objects.get(institution=institution)
    assert response["Location"] == reverse("syncs:detail", args=[sync.code])
    page = alice_client.get(response["Location"]).content.decode()
    key = services.product_key_of(sync)
    assert re.fullmatch(r"CHS(-[A-Z2-9]{5}){5}", key) and key in page
    assert key not in str(Sync.objects.filter(pk=sync.pk).values().get())

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("syncs:instructions", args=[sync.code]), {"email": "it@cedar.example"})
    assert mail.outbox[-1].to == ["it@cedar.example"] and key in mail.outbox[-1].body

    with django_capture_on_commit_callbacks(execute=True):
        services.sync_mark_installed(sync=sync, actor=staff)
    LocationFactory(sync=sync, name="Cedar North", foreign_id="1")
    LocationFactory(sync=sync, name="Cedar South", foreign_id="2")
    services.sync_locations_reported(sync=sync, actor=staff)
    assert "Select locations" in alice_client.get(reverse("institutions:list")).content.decode()
    north = Location.objects.get(name="Cedar North")
    alice_client.post(reverse("syncs:locations", args=[sync.code]), {"locations": [north.pk]})

    sync.refresh_from_db()
    assert sync.status == SyncStatus.ACTIVE
    assert list(Location.objects.filter(active=True).values_list("name", flat=True)) == ["Cedar North"]
    verbs = list(TimelineEvent.objects.filter(sync=sync).order_by("created_at", "id").values_list("verb", flat=True))
    assert verbs == ["sync.created", "sync.instructions_sent", "sync.installed", "sync.locations_reported",
                     "sync.locations_selected"]
    assert any("Cedar Dental" in m.subject for m in mail.outbox if m.to == ["alice@acme.example"])


def test_selecting_no_location_is_refused(alice_client, production, cast, staff):
    sync = make_sync(cast, InstitutionFactory(created_by=cast.acme))
    services.sync_mark_installed(sync=sync, actor=staff)
    LocationFactory(sync=sync, name="Only", foreign_id="1")
    services.sync_locations_reported(sync=sync, actor=staff)

    response = alice_client.post(reverse("syncs:locations", args=[sync.code]), {})

    assert response.status_code == 400 and "Select at least one location" in response.content.decode()
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.SELECT_LOCATIONS


# --- Cloud -----------------------------------------------------------------------------------------------

def test_cloud_path_with_a_rejected_then_accepted_submission(alice_client, production, cast, staff):
    sync = make_sync(cast, InstitutionFactory(name="Dune Dental", created_by=cast.acme), option="dentrixascend")
    page = alice_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()
    assert "Organization alias (ORG ID)" in page and "Role: Receptionist." in page
    assert services.extension_token_of(sync) in page

    bad = alice_client.post(reverse("syncs:credentials", args=[sync.code]),
                            {"ehr_url": "https://evil.example.com", "organization_alias": "dune", "username": "u", "password": "p"})
    assert bad.status_code == 400 and "practice&#x27;s own address" in bad.content.decode()
    good = {"ehr_url": "https://live.dentrixascend.com/login", "organization_alias": "dune", "username": "chairside",
            "password": "S3cret-Pa55"}
    alice_client.post(reverse("syncs:credentials", args=[sync.code]), good)
    sync.refresh_from_db()
    assert sync.status == SyncStatus.CREDENTIALS_SUBMITTED
    assert "S3cret-Pa55" not in str(Sync.objects.filter(pk=sync.pk).values().get())
    assert "S3cret-Pa55" not in alice_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()

    services.sync_flag_credential_error(sync=sync, message="Password expired", actor=staff)
    todo = alice_client.get(reverse("institutions:list")).content.decode()
    assert "Credentials rejected: update them" in todo
    assert "Password expired" in alice_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()
    alice_client.post(reverse("syncs:credentials", args=[sync.code]), {**good, "password": "N3w-Pa55word"})
    assert services.sync_read_credentials(sync=Sync.objects.get(pk=sync.pk), actor=staff)["password"] == "N3w-Pa55word"
    assert AuditEvent.objects.filter(verb="sync.credentials_viewed", actor=staff).count() == 1
    LocationFactory(sync=sync, name="Dune Dental Main")
    services.sync_complete_install(sync=Sync.objects.get(pk=sync.pk), actor=staff)
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.ACTIVE


def test_credentials_are_reencrypted_under_a_new_key(cast, settings, staff):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIALS_ENCRYPTION_KEYS = [old_key]
    sync = make_sync(cast, InstitutionFactory(created_by=cast.acme), option="athena")
    services.sync_submit_credentials(sync=sync, credentials={"username": "u", "password": "p4ss"}, actor=cast.alice,
                                       organization=cast.acme)
    before = Sync.objects.get(pk=sync.pk).credentials_encrypted

    settings.CREDENTIALS_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("reencrypt_secrets")
    settings.CREDENTIALS_ENCRYPTION_KEYS = [new_key]

    after = Sync.objects.get(pk=sync.pk)
    assert after.credentials_encrypted != before
    assert services.sync_read_credentials(sync=after, actor=staff) == {"username": "u", "password": "p4ss"}
    assert services.extension_token_of(after).startswith("chs_ext_")


# --- Failures, isolation, support console --------------------------------------------------------------

def test_a_failed_install_tells_the_developer_what_to_do(alice_client, production, cast, staff):
    sync = make_sync(cast, InstitutionFactory(created_by=cast.acme))
    old_key = services.product_key_of(sync)
    services.sync_mark_failed(sync=sync, reason="Antivirus blocked the service", actor=staff)

    page = alice_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()
    assert "Installation failed: Antivirus blocked the service" in page and "Start again" in page
    alice_client.post(reverse("syncs:retry", args=[sync.code]))
    sync.refresh_from_db()
    assert sync.status == SyncStatus.AWAITING_INSTALL and services.product_key_of(sync) != old_key


def test_transitions_from_the_wrong_state_are_refused(cast, staff):
    sync = make_sync(cast, InstitutionFactory(created_by=cast.acme))

    with pytest.raises(services.TransitionRefused):
        services.sync_complete_install(sync=sync, actor=staff)
    with pytest.raises(services.TransitionRefused):
        services.sync_locations_reported(sync=Sync.objects.get(pk=sync.pk), actor=staff)
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.AWAITING_INSTALL


def test_other_organizations_get_404_on_syncs(olivia_client, cast):
    sync = make_sync(cast, InstitutionFactory(created_by=cast.acme))

    for url in [reverse("syncs:detail", args=[sync.code]), reverse("institutions:sync_create", args=[sync.institution.subdomain])]:
        assert olivia_client.get(url).status_code == 404
    assert olivia_client.post(reverse("syncs:credentials", args=[sync.code]), {}).status_code == 404


def test_support_actions_in_the_admin(staff, cast):
    sync = make_sync(cast, InstitutionFactory(created_by=cast.acme), option="athena")
    services.sync_submit_credentials(sync=sync, credentials={"username": "u", "password": "pw-1"}, actor=cast.alice,
                                       organization=cast.acme)
    client = Client()
    client.force_login(staff)
    changelist = reverse("admin:syncs_sync_changelist")

    assert "Credentials to install (1)" in client.get(changelist).content.decode()
    revealed = client.post(changelist, {"action": "reveal_credentials", "_selected_action": [sync.pk]})
    assert "pw-1" in revealed.content.decode()
    asked = client.post(changelist, {"action": "flag_credential_error", "_selected_action": [sync.pk]})
    assert "reason" in asked.content.decode()
    client.post(changelist, {"action": "flag_credential_error", "_selected_action": [sync.pk], "apply": "1",
                             "reason": "Wrong password"})
    assert Sync.objects.get(pk=sync.pk).status_message == "Wrong password"
    assert AuditEvent.objects.filter(verb="sync.credentials_viewed").count() == 1


def test_the_subdomain_is_previewed_while_typing_without_telling_whether_it_is_taken(alice_client, cast):
    InstitutionFactory(name="Taken", subdomain="taken-dental")

    fresh = alice_client.get(reverse("institutions:subdomain_preview"), {"name": "Fresh Smiles!"}).content.decode()
    taken = alice_client.get(reverse("institutions:subdomain_preview"), {"name": "Taken Dental"}).content.decode()

    assert "<code>fresh-smiles</code>" in fresh
    assert "<code>taken-dental</code>" in taken  # another organization's practice stays unseen
    assert taken.replace("taken-dental", "X") == fresh.replace("fresh-smiles", "X")


def test_home_says_what_needs_you(alice_client, production, cast):
    InstitutionFactory(name="Needs Sync Dental", created_by=cast.acme)

    page = alice_client.get(reverse("home")).content.decode()

    assert "1 institution</strong> in TO DO" in page


def test_subdomains_never_take_the_portals_own_paths(db):
    from institutions.services import subdomain_for

    assert subdomain_for("New") != "new"
    assert subdomain_for("Upload") != "upload"


def test_support_cannot_complete_an_installation_booked_for_later(cast, staff):
    from datetime import timedelta

    from django.utils import timezone

    from syncs.models import EngineerSlot

    sync = make_sync(cast, InstitutionFactory(name="Later Dental", created_by=cast.acme, tz="America/Chicago"),
                     option="dolphin")
    LocationFactory(sync=sync, name="Later Dental Main")
    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.INSTALL_SCHEDULED)
    starts = timezone.now() + timedelta(days=2)
    EngineerSlot.objects.create(engineer="Sam", starts_at=starts, ends_at=starts + timedelta(hours=1), sync=sync)
    client = Client()
    client.force_login(staff)

    answer = client.post(reverse("admin:syncs_sync_changelist"),
                         {"action": "complete_install", "_selected_action": [sync.pk]}, follow=True).content.decode()

    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.INSTALL_SCHEDULED
    assert "cannot be complete before it starts" in answer and "America/Chicago" in answer


def test_support_cannot_activate_a_cloud_sync_without_locations(cast, staff):
    sync = make_sync(cast, InstitutionFactory(name="Empty Cloud", created_by=cast.acme), option="denticon")
    services.sync_submit_credentials(sync=sync, credentials={"username": "u", "password": "p"}, actor=cast.alice,
                                     organization=cast.acme)

    with pytest.raises(ValidationError, match="No locations are recorded"):
        services.sync_complete_install(sync=Sync.objects.get(pk=sync.pk), actor=staff)
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.CREDENTIALS_SUBMITTED


def test_a_refused_support_action_says_what_the_sync_is(cast, staff):
    sync = make_sync(cast, InstitutionFactory(name="Wrong State Dental", created_by=cast.acme), option="denticon")

    with pytest.raises(services.TransitionRefused, match="awaiting credentials, not"):
        services.sync_complete_install(sync=sync, actor=staff)
    with pytest.raises(ValidationError, match="cloud sync"):
        services.sync_issue_reinstall_key(sync=sync, actor=staff)


def test_support_is_asked_before_a_reinstall_key_stops_the_running_agent(cast, staff):
    sync = SyncFactory(institution__name="Ask First Dental", institution__created_by=cast.acme)
    client = Client()
    client.force_login(staff)
    changelist = reverse("admin:syncs_sync_changelist")

    asked = client.post(changelist, {"action": "issue_reinstall_key", "_selected_action": [sync.pk]}).content.decode()
    assert "stops syncing at once" in asked and Sync.objects.get(pk=sync.pk).reinstall_key_issued_at is None
    client.post(changelist, {"action": "issue_reinstall_key", "_selected_action": [sync.pk], "apply": "1"})
    assert Sync.objects.get(pk=sync.pk).reinstall_key_issued_at is not None
@pytest.mark.parametrize("path", ["/institutions/?section=all", "/institutions/?section=todo", "/"])
def test_the_board_and_the_home_page_take_a_constant_number_of_queries(alice_client, production, cast, path):
    def queries() -> int:
        alice_client.get(path)  # warm: session and per-user caches
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(path).status_code == 200
        return len(captured)

    for n in range(2):
        SyncFactory(institution=InstitutionFactory(name=f"First {n}", created_by=cast.acme), status=SyncStatus.AWAITING_INSTALL)
    few = queries()
    for n in range(12):
        SyncFactory(institution=InstitutionFactory(name=f"More {n}", created_by=cast.acme),
                    status=[SyncStatus.AWAITING_INSTALL, SyncStatus.ACTIVE, SyncStatus.FAILED][n % 3])

    assert queries() == few
