"""The whole loop against the real server: create institution -> Open Dental sync -> the agent (a real
process) activates with the product key -> select locations -> data in the API -> book an appointment
through the API -> the agent writes it into the practice database."""

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from institutions.models import Location
from portal.api_keys import api_key_create
from portal.services import organization_enable_production
from syncs import services
from syncs.agent.db import Database
from syncs.agent.practice_db import generate
from syncs.models import Patient, Provider, Sync, SyncStatus
from tests.factories import InstitutionFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def run_agent(live_server, key: str, database_url: str, state: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "syncs.agent", "--server", live_server.url, "--product-key", key,
         "--database", database_url, "--state", str(state), "--once"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert key not in result.stderr
    return result


def test_the_whole_loop(live_server, cast, database_url, tmp_path):
    generate(database_url, seed=7, scale=0.2)
    organization_enable_production(organization=cast.acme, actor=None)
    institution = InstitutionFactory(name="Loop Dental", tz="America/Chicago", created_by=cast.acme)
    sync = services.sync_create(institution=institution, option_key="opendental", actor=cast.alice, organization=cast.acme)
    key = services.product_key_of(sync)
    state = tmp_path / "agent-state.json"

    run_agent(live_server, key, database_url, state)
    sync.refresh_from_db()
    assert sync.status == SyncStatus.SELECT_LOCATIONS
    location = Location.objects.filter(sync=sync).order_by("foreign_id").first()
    services.sync_select_locations(sync=sync, location_ids=[location.pk], actor=cast.alice, organization=cast.acme)
    Location.objects.filter(pk=location.pk).update(insert_appt_client=True)

    run_agent(live_server, key, database_url, state)  # the historical read of the selected location
    assert Patient.objects.filter(location=location).exists()

    raw = api_key_create(actor_membership=cast.alice_membership, mode="production").raw
    token = Client().post("/api/authenticates", HTTP_AUTHORIZATION=raw).json()["data"]["token"]
    api = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_NEX_API_VERSION": "v20240412"}
    patients = Client().get("/api/patients", {"subdomain": "loop-dental", "location_id": location.pk}, **api).json()
    assert patients["count"] == Patient.objects.filter(location=location).count() > 0
    patient = Patient.objects.filter(location=location).first()
    provider = Provider.objects.filter(location=location).first()
    start = (timezone.now() + timedelta(days=30)).replace(hour=15, minute=0, second=0, microsecond=0)
    booked = Client().post(f"/api/appointments?subdomain=loop-dental&location_id={location.pk}",
                           json.dumps({"appt": {"patient_id": patient.pk, "provider_id": provider.pk,
                                                "start_time": start.isoformat()}}),
                           content_type="application/json", **api)
    assert booked.status_code == 201, booked.content
    assert Sync.objects.get(pk=sync.pk).write_jobs_pending == 1

    run_agent(live_server, key, database_url, state)

    appointment_id = booked.json()["data"]["appt"]["id"]
    read_back = Client().get(f"/api/appointments/{appointment_id}", {"subdomain": "loop-dental"}, **api).json()["data"]
    assert read_back["foreign_id"]
    with Database(database_url) as practice:
        rows = practice.query("SELECT PatNum, ProvNum FROM appointment WHERE AptNum = ?", [int(read_back["foreign_id"])])
    assert rows == [{"PatNum": int(patient.foreign_id), "ProvNum": int(provider.foreign_id)}]
    assert Sync.objects.get(pk=sync.pk).write_jobs_pending == 0
