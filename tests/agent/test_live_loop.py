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
from syncs.models import Patient, PatientAlert, Payment, Procedure, Provider, Sync, SyncStatus
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


def test_the_chart_and_the_ledger_flow_both_ways(live_server, cast, database_url, tmp_path):
    """A procedure, a payment and a recall written in the practice database appear through the API; a payment
    and a patient alert created through the API reach the practice database through write jobs."""
    generate(database_url, seed=5, scale=0.1)
    organization_enable_production(organization=cast.acme, actor=None)
    institution = InstitutionFactory(name="Ledger Dental", subdomain="ledger-dental", tz="America/Chicago",
                                     created_by=cast.acme)
    sync = services.sync_create(institution=institution, option_key="opendental", actor=cast.alice, organization=cast.acme)
    key = services.product_key_of(sync)
    state = tmp_path / "agent-state.json"
    run_agent(live_server, key, database_url, state)
    location = Location.objects.get(sync=sync, foreign_id="1")
    services.sync_select_locations(sync=sync, location_ids=[location.pk], actor=cast.alice, organization=cast.acme)
    run_agent(live_server, key, database_url, state)

    with Database(database_url) as practice:
        pat_num = practice.query("SELECT PatNum FROM patient WHERE ClinicNum = 1 AND PatStatus = 0 ORDER BY PatNum")[0]["PatNum"]
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
        proc = practice.execute("INSERT INTO procedurelog (PatNum, ProcStatus, ProcFee, ProcDate, CodeNum, ClinicNum, "
                                "ToothNum, Surf, DateTStamp) VALUES (?, 2, 180, '2026-03-02', 5, 1, '14', 'O', ?)",
                                (pat_num, stamp))
        pay = practice.execute("INSERT INTO payment (PayType, PayDate, PayAmt, PatNum, ClinicNum, PayNote, DateTStamp) "
                               "VALUES (71, '2026-03-02', 180, ?, 1, 'At the desk', ?)", (pat_num, stamp))
        recall = practice.execute("INSERT INTO recall (PatNum, DateDue, RecallTypeNum, IsDisabled, DateTStamp) "
                                  "VALUES (?, '2026-09-02', 1, 0, ?)", (pat_num, stamp))
        practice.commit()
    run_agent(live_server, key, database_url, state)

    raw = api_key_create(actor_membership=cast.alice_membership, mode="production").raw
    token = Client().post("/api/authenticates", HTTP_AUTHORIZATION=raw).json()["data"]["token"]
    api = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_NEX_API_VERSION": "v20240412"}
    scoped = {"subdomain": "ledger-dental", "location_id": location.pk, "per_page": 1000}
    patient = Patient.objects.get(location=location, foreign_id=str(pat_num))
    procedures = Client().get("/api/procedures", {**scoped, "patient_id": patient.pk}, **api).json()["data"]
    assert {"code": "D2391", "fee": {"amount": "180.00", "currency": "USD"}, "body_site": {"tooth": ["14"], "surface": "O"}}.items() <= \
        next(p for p in procedures if p["id"] == Procedure.objects.get(location=location, foreign_id=str(proc)).pk).items()
    payments = Client().get("/api/payments", {**scoped, "patient_id": patient.pk}, **api).json()["data"]
    assert str(pay) in [p["foreign_id"] for p in payments]
    recalls = Client().get("/api/patient_recalls", {**scoped, "patient_id": patient.pk}, **api).json()["data"]
    assert {"date_due": "2026-09-02", "foreign_id": str(recall)}.items() <= next(
        r for r in recalls if r["foreign_id"] == str(recall)).items()

    paid = Client().post(f"/api/payments?subdomain=ledger-dental&location_id={location.pk}",
                         json.dumps({"payment": {"patient_id": patient.pk, "amount": 55.25, "notes": "Online"}}),
                         content_type="application/json", **api)
    alerted = Client().post(f"/api/patients/{patient.pk}/alerts?subdomain=ledger-dental",
                            json.dumps({"patient_alert": {"note": "Prefers texts"}}), content_type="application/json", **api)
    assert paid.status_code == 202 and alerted.status_code == 201
    assert Sync.objects.get(pk=sync.pk).write_jobs_pending == 2

    run_agent(live_server, key, database_url, state)

    payment = Payment.objects.get(location=location, transaction_id="", description="Online")
    alert = PatientAlert.objects.get(pk=alerted.json()["data"]["id"])
    assert payment.foreign_id and alert.foreign_id  # the completion shows through the API as the foreign id
    shown = Client().get(paid["Location"], **api).json()["data"]
    assert shown["foreign_id"] == payment.foreign_id
    with Database(database_url) as practice:
        assert practice.query("SELECT PatNum, PayAmt, PayNote FROM payment WHERE PayNum = ?", [int(payment.foreign_id)]) == [
            {"PatNum": pat_num, "PayAmt": 55.25, "PayNote": "Online"}]
        assert practice.query("SELECT PatNum, Description FROM popup WHERE PopupNum = ?", [int(alert.foreign_id)]) == [
            {"PatNum": pat_num, "Description": "Prefers texts"}]
    assert Sync.objects.get(pk=sync.pk).write_jobs_pending == 0
