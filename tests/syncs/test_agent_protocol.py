"""The Synchronizer protocol: activate, locations, heartbeat, records, write jobs, and their bad inputs."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from institutions.models import Institution, Location
from syncs import services
from syncs.models import Appointment, Patient, Provider, Sync, SyncStatus, WriteJob
from syncs.monitoring import health_sweep
from tests.conftest import require_service
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db
BASE = "/synchronizer/v1"


def post(path: str, body, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().post(f"{BASE}/{path}", json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def sync(cast) -> Sync:
    institution = InstitutionFactory(name="Agent Dental", created_by=cast.acme)
    return services.sync_create(institution=institution, option_key="opendental", actor=cast.alice, organization=cast.acme)


@pytest.fixture
def token(sync) -> str:
    response = post("activate", {"product_key": services.product_key_of(sync), "host": {"hostname": "SRV", "os": "Windows Server 2019", "agent_version": "1.0.0"}})
    assert response.status_code == 201, response.content
    return response.json()["data"]["agent_token"]


LOCATIONS = {"locations": [
    {"foreign_id": "1", "name": "Main Street Dental", "city": "Austin", "state": "TX", "tz": "America/Chicago"},
    {"foreign_id": "2", "name": "Oak Hill Dental", "city": "Austin", "state": "TX", "tz": "America/Chicago"},
]}


@pytest.fixture
def active_location(sync, token, cast) -> Location:
    post("locations", LOCATIONS, token)
    services.sync_select_locations(sync=Sync.objects.get(pk=sync.pk), location_ids=[Location.objects.get(foreign_id="1").pk],
                                     actor=cast.alice, organization=cast.acme)
    return Location.objects.get(foreign_id="1", sync=sync)


def test_activation_moves_the_sync_and_works_once(sync, token):
    sync.refresh_from_db()
    assert sync.status == SyncStatus.HISTORICAL_READ and sync.agent_version == "1.0.0"
    assert token not in str(Sync.objects.filter(pk=sync.pk).values().get())
    again = post("activate", {"product_key": services.product_key_of(sync)})
    assert again.status_code == 409 and again.json()["code"] is False


@pytest.mark.parametrize("body, status", [({"product_key": "CHS-NOPE"}, 401), ({}, 400), ([], 400)])
def test_bad_activations(db, body, status):
    assert post("activate", body).status_code == status


def test_locations_reported_ask_the_developer_to_select(sync, token):
    response = post("locations", LOCATIONS, token)

    assert response.status_code == 200
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.SELECT_LOCATIONS
    assert set(Location.objects.filter(sync=sync).values_list("name", flat=True)) == {"Main Street Dental", "Oak Hill Dental"}
    post("locations", {"locations": [{**LOCATIONS["locations"][0], "name": "Main Street Dental Care"}]}, token)
    assert Location.objects.filter(sync=sync).count() == 2
    assert Location.objects.get(sync=sync, foreign_id="1").name == "Main Street Dental Care"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Token x"])
def test_calls_without_a_valid_agent_token_are_401(sync, header):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    for path in ("locations", "heartbeat", "records"):
        response = Client().post(f"{BASE}/{path}", "{}", content_type="application/json", **headers)
        assert response.status_code == 401, path
    assert Client().get(f"{BASE}/write_jobs", **headers).status_code == 401


def test_the_heartbeat_is_one_statement(sync, token):
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        response = post("heartbeat", {"last_read_at": now.isoformat(), "last_write_at": now.isoformat(),
                                      "agent_version": "1.0.1", "host": {"free_disk_mb": 51200, "pending_reboot": False}}, token)

    assert response.status_code == 200 and response.json()["data"] == {"write_jobs_pending": 0}
    assert len(queries) == 1
    sync.refresh_from_db()
    assert sync.agent_version == "1.0.1" and sync.host_facts["free_disk_mb"] == 51200
    assert abs((sync.last_read_at - now).total_seconds()) < 1


def test_a_heartbeat_leaves_a_green_syncs_deadline_to_the_sweep(sync, token):
    now = timezone.now()
    later = now + timedelta(minutes=10)
    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.ACTIVE, health_deadline_at=later)
    beat = {"last_read_at": now.isoformat(), "last_write_at": (now - timedelta(minutes=5)).isoformat()}

    post("heartbeat", beat, token)
    assert Sync.objects.get(pk=sync.pk).health_deadline_at == later  # no indexed column changes: updated in place

    Sync.objects.filter(pk=sync.pk).update(health_deadline_at=None)
    post("heartbeat", beat, token)
    assert abs(Sync.objects.get(pk=sync.pk).health_deadline_at - (now + timedelta(minutes=25))) < timedelta(seconds=1)

    Sync.objects.filter(pk=sync.pk).update(health_deadline_at=now - timedelta(seconds=1))
    assert health_sweep(now) == 0  # due, still fresh: nothing to record, and the next deadline follows the newest times
    assert abs(Sync.objects.get(pk=sync.pk).health_deadline_at - (now + timedelta(minutes=25))) < timedelta(seconds=1)

    Sync.objects.filter(pk=sync.pk).update(read_health="red")
    post("heartbeat", {"last_read_at": now.isoformat()}, token)
    assert abs(Sync.objects.get(pk=sync.pk).health_deadline_at - timezone.now()) < timedelta(seconds=5)  # recovery: due now


def test_a_heartbeat_the_quick_check_refuses_gets_the_serializers_errors(sync, token):
    response = post("heartbeat", {"last_read_at": "yesterday", "host": {"free_disk_mb": -1}}, token)

    assert response.status_code == 400 and response.json()["code"] is False
    assert any(message.startswith("last_read_at:") for message in response.json()["error"])
    assert any(message.startswith("host.free_disk_mb:") for message in response.json()["error"])


def test_a_heartbeat_from_the_future_is_clamped_to_now(sync, token):
    post("heartbeat", {"last_read_at": (timezone.now() + timedelta(days=3)).isoformat()}, token)

    assert Sync.objects.get(pk=sync.pk).last_read_at <= timezone.now()


def test_records_upsert_idempotently_and_resolve_references(active_location, token, sync):
    post("records", {"location_foreign_id": "1", "kind": "providers", "records": [{"foreign_id": "7", "first_name": "Maya", "last_name": "Patel"}]}, token)
    patients = {"location_foreign_id": "1", "kind": "patients", "records": [
        {"foreign_id": "1043", "first_name": "Ana", "last_name": "Diaz", "email": "ana@example.com",
         "bio": {"date_of_birth": "1984-02-11"}, "provider_foreign_id": "7"}]}
    first = post("records", patients, token)
    second = post("records", patients, token)

    assert first.json()["data"]["upserted"] == 1 and second.status_code == 200
    patient = Patient.objects.get(location=active_location, foreign_id="1043")
    assert patient.provider.foreign_id == "7" and Patient.objects.filter(location=active_location).count() == 1
    start = timezone.now().replace(microsecond=0)
    post("records", {"location_foreign_id": "1", "kind": "appointments", "records": [
        {"foreign_id": "88", "start_time": start.isoformat(), "end_time": (start + timedelta(minutes=30)).isoformat(),
         "patient_foreign_id": "1043", "provider_foreign_id": "7"}]}, token)
    assert Appointment.objects.get(foreign_id="88").patient == patient
    deleted = post("records", {"location_foreign_id": "1", "kind": "appointments", "records": [], "deleted": ["88"]}, token)
    assert deleted.json()["data"]["deleted"] == 1 and not Appointment.objects.filter(foreign_id="88").exists()


def test_a_bad_batch_writes_nothing(active_location, token):
    response = post("records", {"location_foreign_id": "1", "kind": "patients", "records": [
        {"foreign_id": "1", "first_name": "Ok", "last_name": "Row"},
        {"foreign_id": "2", "first_name": "Bad", "last_name": "Row", "email": "not-an-email"}]}, token)

    assert response.status_code == 400
    assert any("email" in message for message in response.json()["error"])
    assert not Patient.objects.filter(location=active_location).exists()


def test_batches_have_a_limit(active_location, token):
    records = [{"foreign_id": str(n), "first_name": "A", "last_name": "B"} for n in range(1001)]

    assert post("records", {"location_foreign_id": "1", "kind": "patients", "records": records}, token).status_code == 413


def test_records_for_an_unselected_location_are_dropped(active_location, token):
    response = post("records", {"location_foreign_id": "2", "kind": "patients", "records": [
        {"foreign_id": "1", "first_name": "A", "last_name": "B"}]}, token)

    assert response.json()["data"]["stored"] is False
    assert not Patient.objects.exists()


def test_an_api_appointment_becomes_a_write_job_and_completes_once(active_location, token, cast, sync):
    from syncs.models import WebhookDelivery, WebhookSubscription
    from syncs.webhooks.services import webhook_endpoint_create

    endpoint = webhook_endpoint_create(organization=cast.acme, sandbox=False, target_url="https://hooks.example.com/x")
    WebhookSubscription.objects.create(endpoint=endpoint, institution=active_location.institution,
                                       event="appointment_insertion", resource_type="Appointment")
    Location.objects.filter(pk=active_location.pk).update(insert_appt_client=True)
    provider = Provider.objects.create(institution=active_location.institution, location=active_location, foreign_id="7")
    patient = Patient.objects.create(institution=active_location.institution, location=active_location, foreign_id="9",
                                     first_name="A", last_name="B")
    from syncs.record_writes import appointment_create

    appointment = appointment_create(location=Location.objects.get(pk=active_location.pk), data={
        "patient_id": patient.pk, "provider_id": provider.pk, "start_time": timezone.now() + timedelta(days=2)})
    beat = post("heartbeat", {}, token)
    assert beat.json()["data"]["write_jobs_pending"] == 1
    [job] = Client().get(f"{BASE}/write_jobs", HTTP_AUTHORIZATION=f"Bearer {token}").json()["data"]
    assert job["kind"] == "appointment_insertion" and job["payload"]["patient_foreign_id"] == "9"

    done = post(f"write_jobs/{job['id']}", {"status": "complete", "foreign_id": "88120"}, token)
    repeat = post(f"write_jobs/{job['id']}", {"status": "complete", "foreign_id": "88120"}, token)

    assert done.status_code == 200 and repeat.status_code == 409
    assert Appointment.objects.get(pk=appointment.pk).foreign_id == "88120"
    assert WriteJob.objects.get().status == "complete"
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "appointment_insertion.complete"
    assert delivery.payload["data"]["appointment"]["foreign_id"] == "88120"
    assert post("heartbeat", {}, token).json()["data"]["write_jobs_pending"] == 0


def test_sandbox_appointments_never_become_write_jobs(cast):
    from syncs.sandbox import sandbox_populate
    from syncs.record_writes import appointment_create

    sandbox = Institution.objects.get(accesses__organization=cast.acme, is_sandbox=True)
    sandbox_populate(institution=sandbox)
    location = sandbox.locations.get(insert_appt_client=True)
    appointment_create(location=location, data={
        "patient_id": Patient.objects.filter(location=location).first().pk,
        "provider_id": Provider.objects.filter(location=location).first().pk, "start_time": timezone.now() + timedelta(days=1)})

    assert not WriteJob.objects.exists()


@pytest.mark.services
def test_a_green_syncs_heartbeats_update_its_row_in_place_on_postgresql(sync, token):
    require_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    now = timezone.now()
    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.ACTIVE, health_deadline_at=now + timedelta(minutes=10))

    def hot_updates() -> int:  # this transaction's HOT updates of the sync table
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('syncs_sync'::regclass)")
            return cursor.fetchone()[0]

    before = hot_updates()
    for _ in range(5):
        assert post("heartbeat", {"last_read_at": timezone.now().isoformat(), "last_write_at": now.isoformat()},
                    token).status_code == 200

    assert hot_updates() - before == 5
    with connection.cursor() as cursor:  # set for the beat's transaction (here, the test's): it commits asynchronously
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"


def test_the_agent_downloads_its_own_document_jobs_file_and_nothing_else(active_location, token, sync, cast):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from syncs import practice_writes

    patient = Patient.objects.create(institution=active_location.institution, location=active_location,
                                     foreign_id="9", first_name="A", last_name="B")
    scan = b"%PDF-1.7 \x00\xff consent signed"
    practice_writes.patient_document_create(patient=patient, location=active_location, document_type_id=None,
                                            upload=SimpleUploadedFile("consent.pdf", scan, content_type="application/pdf"))
    [job] = Client().get(f"{BASE}/write_jobs", HTTP_AUTHORIZATION=f"Bearer {token}").json()["data"]
    other_sync = services.sync_create(institution=InstitutionFactory(name="Other Dental", created_by=cast.acme),
                                      option_key="opendental", actor=cast.alice, organization=cast.acme)
    other_token = post("activate", {"product_key": services.product_key_of(other_sync)}).json()["data"]["agent_token"]
    not_a_document = WriteJob.objects.create(sync=sync, location=active_location, payload={})

    def download(job_id, token=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        return Client().get(f"{BASE}/write_jobs/{job_id}/file", **headers)

    mine = download(job["id"], token)
    assert mine.status_code == 200 and b"".join(mine.streaming_content) == scan
    assert mine["Content-Type"] == "application/pdf" and 'filename="consent.pdf"' in mine["Content-Disposition"]
    for refused in (download(job["id"], other_token), download(not_a_document.public_id, token)):
        assert refused.status_code == 404 and refused.json()["code"] is False, refused.content
    assert download(job["id"]).status_code == 401
