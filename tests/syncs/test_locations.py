"""Activating additional locations, deactivation and reactivation, and the seed's location scenarios."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from institutions.models import Location, TimelineEvent
from portal.api_keys import api_key_create
from portal.models import AuditEvent
from portal.services import organization_enable_production
from syncs import services
from syncs.models import LocationActivationRequest, Sync, SyncStatus
from tests.factories import InstitutionFactory, SyncFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return UserFactory(email="support@chairside.example", is_staff=True, is_superuser=True)


@pytest.fixture
def live(cast, alice_client):
    """An active Open Dental sync that reported three locations; the developer selected the first."""
    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    institution = InstitutionFactory(name="Group Dental", subdomain="group-dental", created_by=cast.acme)
    sync = services.sync_create(institution=institution, option_key="opendental", actor=cast.alice, organization=cast.acme)
    token = Client().post("/synchronizer/v1/activate", json.dumps({"product_key": services.product_key_of(sync)}),
                          content_type="application/json").json()["data"]["agent_token"]
    report = {"locations": [{"foreign_id": str(n), "name": name, "city": "Austin"}
                            for n, name in enumerate(["North Office", "South Office", "East Office"], start=1)]}
    Client().post("/synchronizer/v1/locations", json.dumps(report), content_type="application/json",
                  HTTP_AUTHORIZATION=f"Bearer {token}")
    north = Location.objects.get(name="North Office")
    services.sync_select_locations(sync=Sync.objects.get(pk=sync.pk), location_ids=[north.pk], actor=cast.alice,
                                     organization=cast.acme)
    return Sync.objects.get(pk=sync.pk)


def api_get(cast, path: str, params: dict):
    from portal.api_keys import api_key_rotate, current_key

    create = api_key_rotate if current_key(cast.acme, "production") else api_key_create
    extra = {"grace": "1h"} if create is api_key_rotate else {}
    raw = create(actor_membership=cast.alice_membership, mode="production", **extra).raw
    token = Client().post("/api/authenticates", HTTP_AUTHORIZATION=raw).json()["data"]["token"]
    return Client().get(f"/api/{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_NEX_API_VERSION="v20240412")


def test_additional_locations_are_requested_and_fulfilled(alice_client, cast, live, staff):
    south = Location.objects.get(name="South Office")
    page = alice_client.get(reverse("syncs:detail", args=[live.code])).content.decode()
    assert "Activate additional locations" in page and "South Office" in page and "East Office" in page

    alice_client.post(reverse("syncs:activate_locations", args=[live.code]), {"locations": [south.pk]})
    activation = LocationActivationRequest.objects.get()
    assert list(activation.locations.all()) == [south]
    assert "Chairside support fulfils it shortly" in alice_client.get(reverse("syncs:detail", args=[live.code])).content.decode()
    assert api_get(cast, "patients", {"subdomain": "group-dental", "location_id": south.pk}).status_code == 403

    admin = Client()
    admin.force_login(staff)
    admin.post(reverse("admin:syncs_locationactivationrequest_changelist"),
               {"action": "fulfil", "_selected_action": [activation.pk]})

    assert Location.objects.get(pk=south.pk).active
    assert api_get(cast, "patients", {"subdomain": "group-dental", "location_id": south.pk}).status_code == 200
    assert "2 active locations billed" in alice_client.get(reverse("institutions:list")).content.decode()


def test_requesting_nothing_is_refused(alice_client, live):
    response = alice_client.post(reverse("syncs:activate_locations", args=[live.code]), {})

    assert response.status_code == 400 and "Select at least one location" in response.content.decode()
    assert not LocationActivationRequest.objects.exists()


def test_deactivating_some_locations_stops_api_access_and_billing(alice_client, cast, live, staff):
    north = Location.objects.get(name="North Office")
    page = alice_client.get(reverse("institutions:detail", args=["group-dental"])).content.decode()
    assert "API access stops" in page and "leaves your bill" in page

    alice_client.post(reverse("institutions:deactivate", args=["group-dental"]), {"scope": "locations", "locations": [north.pk]})

    assert api_get(cast, "patients", {"subdomain": "group-dental", "location_id": north.pk}).status_code == 403
    assert "0 active locations billed" in alice_client.get(reverse("institutions:list")).content.decode()
    assert AuditEvent.objects.filter(verb="locations.deactivated").exists()

    admin = Client()
    admin.force_login(staff)
    admin.post(reverse("admin:institutions_location_changelist"), {"action": "reactivate", "_selected_action": [north.pk]})
    assert api_get(cast, "patients", {"subdomain": "group-dental", "location_id": north.pk}).status_code == 200


def test_deactivating_the_whole_institution(alice_client, cast, live):
    alice_client.post(reverse("institutions:deactivate", args=["group-dental"]),
                      {"scope": "institution", "confirm_name": "group dental "})

    # Acme was the only organization using the practice: nothing is served any more, so the sync stops.
    assert not Location.objects.filter(institution=live.institution).live().exists()
    assert Sync.objects.get(pk=live.pk).status == SyncStatus.DEACTIVATED


def test_deactivating_the_whole_institution_moves_each_sync_with_its_own_event(alice_client, cast, live):
    waiting = services.sync_create(institution=live.institution, option_key="dentrix", actor=cast.alice, organization=cast.acme)
    stopped = SyncFactory(institution=live.institution, ehr="eaglesoft", status=SyncStatus.DEACTIVATED)

    alice_client.post(reverse("institutions:deactivate", args=["group-dental"]),
                      {"scope": "institution", "confirm_name": "Group Dental"})

    assert set(Sync.objects.values_list("status", flat=True)) == {SyncStatus.DEACTIVATED}
    events = TimelineEvent.objects.filter(verb="sync.deactivated")
    assert sorted(events.values_list("sync_id", flat=True)) == sorted([live.pk, waiting.pk])
    assert {event.organization_id for event in events} == {cast.acme.pk}  # private, like the institution's event
    assert events.get(sync=live).message == "The Open Dental sync was deactivated with the institution"
    assert not TimelineEvent.objects.filter(sync=stopped).exists()
    event = TimelineEvent.objects.get(sync=None, verb="locations.deactivated")
    # The practice's staff read it too: worded for any reader, never "your organization".
    assert event.message == "Stopped using the institution: API access and billing ended for this organization"


def test_reactivating_the_locations_brings_the_sync_back_with_its_own_event(alice_client, live, staff):
    alice_client.post(reverse("institutions:deactivate", args=["group-dental"]),
                      {"scope": "institution", "confirm_name": "Group Dental"})
    admin = Client()
    admin.force_login(staff)

    admin.post(reverse("admin:institutions_location_changelist"),
               {"action": "reactivate", "_selected_action": list(Location.objects.values_list("pk", flat=True))})

    assert Sync.objects.get(pk=live.pk).status == SyncStatus.ACTIVE
    event = TimelineEvent.objects.get(verb="sync.reactivated")  # one, though three of its locations came back
    assert event.sync_id == live.pk and event.organization is None and event.actor_label == "Chairside support"
    assert event.message == "Support reactivated the Open Dental sync"
    assert TimelineEvent.objects.filter(sync=None, verb="locations.reactivated").count() == 1
def test_the_whole_institution_is_deactivated_only_once_its_name_is_typed(alice_client, live):
    response = alice_client.post(reverse("institutions:deactivate", args=["group-dental"]), {"scope": "institution"})

    assert response.status_code == 400
    assert "Type the institution&#x27;s name, Group Dental" in response.content.decode()
    assert Sync.objects.get(pk=live.pk).status == SyncStatus.ACTIVE


def test_ticked_locations_are_honoured_and_never_widen_to_the_whole_institution(alice_client, live):
    north = Location.objects.get(name="North Office")

    without_scope = alice_client.post(reverse("institutions:deactivate", args=["group-dental"]), {"locations": [north.pk]})

    assert without_scope.status_code == 302
    assert list(Location.objects.filter(deactivated_at__isnull=False)) == [north]
    assert Sync.objects.get(pk=live.pk).status == SyncStatus.ACTIVE


def test_choosing_the_whole_institution_with_ticked_locations_asks_which_one_was_meant(alice_client, live):
    north = Location.objects.get(name="North Office")

    response = alice_client.post(reverse("institutions:deactivate", args=["group-dental"]),
                                 {"scope": "institution", "locations": [north.pk], "confirm_name": "Group Dental"})

    assert response.status_code == 400 and "choose one or the other" in response.content.decode()
    assert not Location.objects.filter(deactivated_at__isnull=False).exists()


def test_the_deactivate_confirmation_names_what_stops(alice_client, live):
    page = alice_client.get(reverse("institutions:deactivate", args=["group-dental"])).content.decode()

    assert "API access to 1 location (North Office) and billing" in page
    assert "No other organization uses this practice, so the Open Dental sync stops too" in page
    assert 'name="scope" value="institution" checked' not in page


def test_other_organizations_cannot_deactivate(olivia_client, live):
    response = olivia_client.post(reverse("institutions:deactivate", args=["group-dental"]), {"scope": "institution"})

    assert response.status_code == 404
    assert Location.objects.filter(deactivated_at__isnull=True).count() == 3


def test_a_migration_to_another_system_keeps_the_institution_with_new_location_ids(cast, live):
    old_ids = set(Location.objects.filter(sync=live).values_list("pk", flat=True))
    new_sync = services.sync_create(institution=live.institution, option_key="dentrix", actor=cast.alice, organization=cast.acme)
    token = Client().post("/synchronizer/v1/activate", json.dumps({"product_key": services.product_key_of(new_sync)}),
                          content_type="application/json").json()["data"]["agent_token"]
    Client().post("/synchronizer/v1/locations", json.dumps({"locations": [{"foreign_id": "1", "name": "North Office"}]}),
                  content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")

    new_location = Location.objects.get(sync=new_sync)
    assert new_location.institution == live.institution
    assert new_location.pk not in old_ids
