"""One practice, two developer organizations: Acme operates Bright Smiles' sync, Other Co consumes it (consent).

Deactivation belongs to each organization's relationship; the operator's secrets and settings stay the operator's;
what the operator changes that the consumer feels shows on the consumer's timeline, naming the organization only.
"""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from institutions.models import Institution, InstitutionAccess, Location, LocationDeactivation, TimelineEvent
from portal.api_keys import api_key_create
from portal.models import ApiKey, AuditEvent, Membership
from portal.services import organization_enable_production
from syncs import services
from syncs.models import EngineerSlot, InstallPath, LocationActivationRequest, Patient, Sync, SyncStatus
from tests.api.conftest import token_for
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
V3 = {"HTTP_NEX_API_VERSION": "v20240412"}


@pytest.fixture
def world(cast):
    for organization in (cast.acme, cast.other):
        organization_enable_production(organization=organization, actor=None)
    Membership.objects.update(test_mode=False)
    bright = Institution.objects.create(name="Bright Smiles", subdomain="bright-smiles", contact_email="it@bright.example")
    InstitutionAccess.objects.create(organization=cast.acme, institution=bright, via=InstitutionAccess.Via.CREATED)
    sync = services.sync_create(institution=bright, option_key="opendental", actor=cast.alice, organization=cast.acme)
    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.ACTIVE)
    north = Location.objects.create(institution=bright, sync=sync, name="Bright North", foreign_id="1", active=True)
    Location.objects.create(institution=bright, sync=sync, name="Bright South", foreign_id="2", active=True)
    Location.objects.create(institution=bright, sync=sync, name="Bright East", foreign_id="3")  # never activated
    Patient.objects.create(institution=bright, location=north, foreign_id="p1", first_name="Sam", last_name="Ray")
    InstitutionAccess.objects.create(organization=cast.other, institution=bright, via=InstitutionAccess.Via.CONSENT)
    sync.refresh_from_db()
    return {"institution": bright, "sync": sync, "north": north}


class ApiCaller:
    def __init__(self, membership):
        self.token = token_for(api_key_create(actor_membership=membership, mode=ApiKey.Mode.PRODUCTION).raw)

    def get(self, path: str):
        return Client().get(f"/api/{path}", HTTP_AUTHORIZATION=f"Bearer {self.token}", **V3)

    def answers(self, world) -> list:
        """What this organization's integration sees of the practice: status and body of each call."""
        north = world["north"].pk
        calls = ["locations?subdomain=bright-smiles", f"patients?subdomain=bright-smiles&location_id={north}",
                 "sync_status?subdomain=bright-smiles"]
        responses = [self.get(call) for call in calls]
        return [(r.status_code, _without_volatile(json.loads(r.content))) for r in responses]


def _without_volatile(body):
    """Sync status carries "how long ago" fields computed at the moment of the call; the rest must be identical."""
    if isinstance(body, dict):
        return {k: _without_volatile(v) for k, v in body.items() if not k.endswith(("_at", "_time"))}
    if isinstance(body, list):
        return [_without_volatile(item) for item in body]
    return body


def billed(organization) -> int:
    return Location.objects.serving(organization).filter(institution__is_sandbox=False).count()


def deactivate_whole(client, institution):
    return client.post(reverse("institutions:deactivate", args=[institution.subdomain]),
                       {"scope": "institution", "confirm_name": institution.name})


def test_a_consumers_deactivation_leaves_the_owners_api_and_billing_identical(cast, world):
    owner, consumer = ApiCaller(cast.alice_membership), ApiCaller(cast.olivia_membership)
    before = owner.answers(world)
    assert [status for status, _ in before] == [200, 200, 200]
    assert billed(cast.acme) == 2

    assert deactivate_whole(client_for(cast.olivia), world["institution"]).status_code == 302

    assert owner.answers(world) == before
    assert billed(cast.acme) == 2
    assert billed(cast.other) == 0
    # The consumer's own integration lost the practice: no location listed, each one refused.
    listed = consumer.get("locations?subdomain=bright-smiles").json()["data"]
    assert [location for institution in listed for location in institution["locations"]] == []
    assert consumer.get(f"patients?subdomain=bright-smiles&location_id={world['north'].pk}").status_code == 403
    assert Sync.objects.get(pk=world["sync"].pk).status == SyncStatus.ACTIVE


def test_a_consumers_deactivation_of_one_location_is_its_own(cast, world):
    owner = ApiCaller(cast.alice_membership)
    before = owner.answers(world)

    client_for(cast.olivia).post(reverse("institutions:deactivate", args=["bright-smiles"]),
                                 {"locations": [world["north"].pk]})

    assert LocationDeactivation.objects.filter(organization=cast.other, location=world["north"]).exists()
    assert owner.answers(world) == before
    assert Location.objects.get(pk=world["north"].pk).deactivated_at is None  # still live for Acme


def test_the_owners_deactivation_leaves_the_consumers_api_identical_and_the_dialog_says_so(cast, world):
    consumer = ApiCaller(cast.olivia_membership)
    before = consumer.answers(world)
    alice = client_for(cast.alice)

    dialog = alice.get(reverse("institutions:deactivate", args=["bright-smiles"])).content.decode()
    assert "keeps running for them" in dialog
    assert "Other organizations the practice works with keep their access" in dialog

    assert deactivate_whole(alice, world["institution"]).status_code == 302

    assert consumer.answers(world) == before
    assert billed(cast.other) == 2 and billed(cast.acme) == 0
    assert Sync.objects.get(pk=world["sync"].pk).status == SyncStatus.ACTIVE
    # The consumer learns the operator left (settings frozen until support transfers operation), without its people.
    event = TimelineEvent.objects.get(sync=world["sync"], verb="sync.operator_left")
    assert event.organization is None and "alice@" not in event.actor_label


def test_the_last_organization_leaving_stops_the_sync(cast, world):
    deactivate_whole(client_for(cast.olivia), world["institution"])
    assert Sync.objects.get(pk=world["sync"].pk).status == SyncStatus.ACTIVE

    deactivate_whole(client_for(cast.alice), world["institution"])

    assert Sync.objects.get(pk=world["sync"].pk).status == SyncStatus.DEACTIVATED
    assert not world["institution"].locations.live().exists()


def _every_page_and_answer(client, api: ApiCaller, sync) -> str:
    pages = [reverse("home"), reverse("institutions:list") + "?section=all", reverse("sync_status"),
             reverse("sync_status") + "?format=csv", reverse("institutions:detail", args=[sync.institution.subdomain]),
             reverse("syncs:detail", args=[sync.code])]
    html = [client.get(page).content.decode() for page in pages]
    answers = [api.get(call).content.decode() for call in (
        "institutions", "locations?subdomain=bright-smiles", "sync_status", "sync_status?subdomain=bright-smiles")]
    return "\n".join(html + answers)


def test_a_consumer_never_sees_a_product_key(cast, world):
    sync = world["sync"]
    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.AWAITING_INSTALL)  # the key shows while installing
    key = services.product_key_of(sync)
    alice = client_for(cast.alice)
    assert key in alice.get(reverse("syncs:detail", args=[sync.code])).content.decode()  # the operator does

    seen = _every_page_and_answer(client_for(cast.olivia), ApiCaller(cast.olivia_membership), sync)

    assert key not in seen


def test_a_consumer_never_sees_an_extension_token(cast, world):
    cloud = services.sync_create(institution=world["institution"], option_key="dentrixascend", actor=cast.alice,
                                 organization=cast.acme)
    token = services.extension_token_of(cloud)
    assert token in client_for(cast.alice).get(reverse("syncs:detail", args=[cloud.code])).content.decode()

    seen = _every_page_and_answer(client_for(cast.olivia), ApiCaller(cast.olivia_membership), cloud)

    assert token not in seen
    assert "Submit credentials" not in seen


def _shared_state(sync) -> tuple:
    return (list(Sync.objects.filter(institution=sync.institution).order_by("pk").values()),
            AuditEvent.objects.count(), TimelineEvent.objects.count(), LocationActivationRequest.objects.count(),
            list(EngineerSlot.objects.values_list("pk", "sync_id")), Sync.objects.count())


def test_a_consumer_changes_nothing_shared(cast, world):
    sync = world["sync"]
    cloud = services.sync_create(institution=world["institution"], option_key="dentrixascend", actor=cast.alice,
                                 organization=cast.acme)
    scheduled = services.sync_create(institution=world["institution"], option_key="dentrix_enterprise", actor=cast.alice,
                                     organization=cast.acme)
    assert scheduled.install_path == InstallPath.SCHEDULED
    start = timezone.now() + timedelta(days=5)
    slot = EngineerSlot.objects.create(engineer="Eve", starts_at=start, ends_at=start + timedelta(hours=1))
    olivia = client_for(cast.olivia)
    before = _shared_state(sync)

    attempts = [
        (reverse("syncs:downtime", args=[sync.code]), {"downtime_schedule": "nights"}),
        (reverse("syncs:reinstall", args=[sync.code]), {}),
        (reverse("syncs:credentials", args=[cloud.code]), {"username": "x", "password": "y"}),
        (reverse("syncs:schedule", args=[scheduled.code]), {"slot_id": slot.pk}),
        (reverse("syncs:schedule_cancel", args=[scheduled.code]), {}),
        (reverse("syncs:activate_locations", args=[sync.code]),
         {"locations": [world["institution"].locations.get(name="Bright East").pk]}),
        (reverse("syncs:instructions", args=[sync.code]), {"email": "mallory@evil.example"}),
        (reverse("institutions:sync_create", args=["bright-smiles"]), {"system": "opendental"}),
    ]
    for url, data in attempts:
        assert olivia.post(url, data).status_code == 403, url

    assert _shared_state(sync) == before


def test_the_operators_shared_changes_show_on_the_consumers_page_naming_the_organization(cast, world):
    sync = world["sync"]
    alice = client_for(cast.alice)
    alice.post(reverse("syncs:downtime", args=[sync.code]), {"downtime_schedule": "nights"})
    alice.post(reverse("syncs:reinstall", args=[sync.code]))

    page = client_for(cast.olivia).get(reverse("institutions:detail", args=["bright-smiles"])).content.decode()

    assert "Expected downtime" in page
    assert "Requested a new product key to reinstall the Synchronizer" in page
    assert page.count("Acme Dental Apps") >= 2
    assert "alice@acme.example" not in page


@pytest.mark.django_db(transaction=True)
def test_the_ownership_migrations_turn_existing_accesses_into_operators_and_per_organization_deactivations():
    executor = MigrationExecutor(connection)
    # portal stays where it is (its latest migration): only the ownership migrations are undone and redone.
    portal = ("portal", "0006_production_access_request")
    before = [("syncs", "0008_ownership"), ("institutions", "0008_ownership"), portal]
    after = [("syncs", "0009_sync_operator_data"), ("institutions", "0009_ownership_data"), portal]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Organization, Institution_ = old.get_model("portal", "Organization"), old.get_model("institutions", "Institution")
    Access, Location_ = old.get_model("institutions", "InstitutionAccess"), old.get_model("institutions", "Location")
    Sync_ = old.get_model("syncs", "Sync")
    maker, guest, late = (Organization.objects.create(name=name) for name in ("Maker Co", "Guest Co", "Late Co"))
    now = timezone.now()
    made = Institution_.objects.create(name="Made Dental", subdomain="made-dental")
    # The consent access is older than the creator's here: creating wins over being first.
    Access.objects.create(organization=guest, institution=made, via="consent", status="active",
                          created_at=now - timedelta(days=9))
    Access.objects.create(organization=maker, institution=made, via="created", status="active",
                          created_at=now - timedelta(days=3))
    consented = Institution_.objects.create(name="Consented Dental", subdomain="consented-dental")
    Access.objects.create(organization=late, institution=consented, via="consent", status="active", created_at=now)
    Access.objects.create(organization=guest, institution=consented, via="consent", status="active",
                          created_at=now - timedelta(days=1))
    orphan = Institution_.objects.create(name="Orphan Dental", subdomain="orphan-dental")
    made_sync = Sync_.objects.create(institution=made, ehr="opendental", status="active")
    consented_sync = Sync_.objects.create(institution=consented, ehr="opendental", status="active")
    orphan_sync = Sync_.objects.create(institution=orphan, ehr="opendental", status="active")
    gone = Location_.objects.create(institution=made, sync=made_sync, name="Gone", active=True, deactivated_at=now)
    Location_.objects.create(institution=made, sync=made_sync, name="Kept", active=True)

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    syncs = new.get_model("syncs", "Sync").objects
    assert syncs.get(pk=made_sync.pk).operator_id == maker.pk
    assert syncs.get(pk=consented_sync.pk).operator_id == guest.pk  # no creator: the earliest access
    assert syncs.get(pk=orphan_sync.pk).operator_id is None
    deactivations = new.get_model("institutions", "LocationDeactivation").objects
    assert set(deactivations.values_list("organization_id", "location_id")) == {(maker.pk, gone.pk), (guest.pk, gone.pk)}
    assert deactivations.get(organization_id=maker.pk).deactivated_at == now

    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
