"""List endpoints answer in a number of queries that does not grow with the rows they return (no N+1)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from institutions.serializers import LocationBasicSerializer
from syncs.api import LOCATION_COLUMNS, location_basic
from syncs.models import Sync, SyncStatus
from tests.factories import InstitutionFactory, LocationFactory, SyncFactory

pytestmark = pytest.mark.django_db


def queries_for(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize("path, extra", [
    ("patients", {}),
    ("appointments", {"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}),
])
def test_a_page_of_100_records_takes_as_many_queries_as_a_page_of_1(api, locations, path, extra):
    params = {"subdomain": api.subdomain, "location_id": locations[0].pk, **extra}
    api.get(path, {**params, "per_page": 1})  # warm: the key's last use is written at most once a minute

    one = queries_for(lambda: api.get(path, {**params, "per_page": 1}))
    hundred = queries_for(lambda: api.get(path, {**params, "per_page": 100}))

    assert len(api.get(path, {**params, "per_page": 100}).json()["data"]) == 100
    assert hundred == one


def test_sync_status_takes_the_same_queries_for_one_sync_or_many(api, cast, sandbox):
    api.get("sync_status", version=None)
    one = queries_for(lambda: api.get("sync_status", version=None))
    for n in range(5):
        institution = InstitutionFactory(name=f"More Dental {n}", is_sandbox=True, created_by=cast.acme)
        sync = SyncFactory(institution=institution, status=SyncStatus.ACTIVE, last_read_at=timezone.now(),
                           last_write_at=timezone.now() - timedelta(hours=2))
        LocationFactory(sync=sync, institution=institution, active=True, foreign_id="1")
        LocationFactory(sync=sync, institution=institution, active=True, foreign_id="2")

    many = queries_for(lambda: api.get("sync_status", version=None))

    body = api.get("sync_status", version=None).json()
    assert body["count"] == Sync.objects.filter(institution__accesses__organization=cast.acme,
                                                status=SyncStatus.ACTIVE).count() == 6
    assert many == one <= 5


@pytest.mark.parametrize("deactivated", [False, True])
def test_sync_status_locations_read_as_the_serializer_writes_them(locations, deactivated):
    from institutions.models import Location
    from syncs.api import sync_status_columns

    location = locations[0]
    if deactivated:
        Location.objects.filter(pk=location.pk).update(deactivated_at=timezone.now())
        location.refresh_from_db()
    values = (Location.objects.filter(pk=location.pk).annotate(**sync_status_columns(timezone.now()))
              .values_list(*LOCATION_COLUMNS).get())

    assert location_basic(values) == LocationBasicSerializer(location).data
    assert location_basic(values)["inactive"] is deactivated


def test_sync_status_rows_match_the_serializer_for_red_and_green_syncs(cast):
    from django.test import Client

    from portal.api_keys import api_key_create
    from portal.models import ApiKey
    from portal.services import organization_enable_production
    from syncs.serializers import SyncStatusSerializer, sync_status_row
    from tests.api.conftest import Api, token_for

    organization_enable_production(organization=cast.acme, actor=None)
    key = api_key_create(actor_membership=cast.alice_membership, mode=ApiKey.Mode.PRODUCTION)
    api = Api(client=Client(), token=token_for(key.raw), subdomain="")
    now = timezone.now()
    for n, (read, write) in enumerate([(now, now), (now, now - timedelta(hours=2)), (None, now - timedelta(hours=1))]):
        institution = InstitutionFactory(name=f"Live Dental {n}", is_sandbox=False, created_by=cast.acme)
        sync = SyncFactory(institution=institution, status=SyncStatus.ACTIVE, last_read_at=read, last_write_at=write)
        LocationFactory(sync=sync, institution=institution, active=True, foreign_id="1")

    body = api.get("sync_status", version=None).json()

    assert [(row["read_status"], row["write_status"]) for row in body["data"]] == [
        ("green", "green"), ("green", "red"), ("red", "red")]
    for row in body["data"]:
        sync = Sync.objects.select_related("institution").get(institution_id=row["institution_id"])
        sync.active_locations = list(sync.locations.order_by("id"))
        assert row == SyncStatusSerializer(sync_status_row(sync, timezone.now())).data
