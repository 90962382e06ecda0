"""The whole loop against the real server: create institution -> Open Dental sync -> the agent (a real
process) activates with the product key -> select locations -> data in the API -> book an appointment
through the API -> the agent writes it into the practice database."""

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from institutions.models import Location
from portal.api_keys import api_key_create
from portal.services import organization_enable_production
from syncs import services
from syncs.agent.db import Database
from syncs.agent.practice_db import generate
from syncs.models import (
    Adjustment,
    AdjustmentType,
    Claim,
    InsuranceCoverage,
    InsurancePlan,
    Patient,
    PatientAlert,
    PatientDocument,
    Payment,
    Procedure,
    Provider,
    Sync,
    SyncStatus,
    WebhookSubscription,
    WorkingHour,
)
from syncs.webhooks.services import webhook_endpoint_create
from tests.factories import InstitutionFactory
from tests.syncs.test_webhooks import receiver  # noqa: F401  (fixture)

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


def test_the_chart_and_the_ledger_flow_both_ways(live_server, cast, database_url, tmp_path, receiver):  # noqa: F811
    """A procedure, a payment, a recall, a claim, an insurance coverage and a clinical note written in the practice
    database appear through the API; a payment, a patient alert, an adjustment, a working hour, a document (its file
    in the practice's images folder) and an appointment created through the API reach the practice through write jobs, whose completion shows through the API
    (and, for the appointment, the one kind the reference's webhook catalogue has, as a webhook)."""
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
    Location.objects.filter(pk=location.pk).update(insert_appt_client=True)
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
        sub = practice.execute("INSERT INTO inssub (PlanNum, Subscriber, DateEffective, DateTerm, SubscriberID, DateTStamp)"
                               " VALUES (2, ?, '2025-01-01', '0001-01-01', 'XZ555', ?)", (pat_num, stamp))
        coverage = practice.execute("INSERT INTO patplan (PatNum, Ordinal, IsPending, Relationship, PatID, InsSubNum, "
                                    "DateTStamp) VALUES (?, 1, 0, 0, '', ?, ?)", (pat_num, sub, stamp))
        claim = practice.execute("INSERT INTO claim (PatNum, DateService, DateSent, ClaimStatus, PlanNum, ProvTreat, "
                                 "ClaimFee, InsPayEst, WriteOff, ClaimNote, InsSubNum, ClinicNum, DateTStamp) VALUES "
                                 "(?, '2026-03-02', '2026-03-03', 'S', 2, 1, 180, 115.2, 36, '', ?, 1, ?)",
                                 (pat_num, sub, stamp))
        practice.execute("INSERT INTO claimproc (ProcNum, ClaimNum, PatNum, ProvNum, FeeBilled, InsPayEst, WriteOff, "
                         "PlanNum, InsSubNum, ClinicNum, ProcDate, DateTStamp) VALUES (?, ?, ?, 1, 180, 115.2, 36, 2, ?, "
                         "1, '2026-03-02', ?)", (proc, claim, pat_num, sub, stamp))
        practice.execute("INSERT INTO procnote (PatNum, ProcNum, EntryDateTime, UserNum, Note, Signature, DateTStamp) "
                         "VALUES (?, ?, '2026-03-02 10:15:00', 1, 'Composite on #14 O; pt comfortable.', 'AB12', ?)",
                         (pat_num, proc, stamp))
        practice.commit()
    run_agent(live_server, key, database_url, state)

    raw = api_key_create(actor_membership=cast.alice_membership, mode="production").raw
    token = Client().post("/api/authenticates", HTTP_AUTHORIZATION=raw).json()["data"]["token"]
    api = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_NEX_API_VERSION": "v20240412"}
    scoped = {"subdomain": "ledger-dental", "location_id": location.pk, "per_page": 1000}
    patient = Patient.objects.get(location=location, foreign_id=str(pat_num))

    def listed(path: str) -> list[dict]:
        return Client().get(f"/api/{path}", {**scoped, "patient_id": patient.pk}, **api).json()["data"]

    procedure = Procedure.objects.get(location=location, foreign_id=str(proc))
    assert {"code": "D2391", "fee": {"amount": "180.00", "currency": "USD"}, "body_site": {"tooth": ["14"], "surface": "O"}}.items() <= \
        next(p for p in listed("procedures") if p["id"] == procedure.pk).items()
    assert str(pay) in [p["foreign_id"] for p in listed("payments")]
    assert {"date_due": "2026-09-02", "foreign_id": str(recall)}.items() <= next(
        r for r in listed("patient_recalls") if r["foreign_id"] == str(recall)).items()
    plan = InsurancePlan.objects.get(location=location, foreign_id="2")
    assert {"plan_id": plan.pk, "priority": 1, "subscriber_num": "XZ555", "subscription_relation": "self",
            "effective_date": "2025-01-01", "active": True}.items() <= next(
        c for c in listed("insurance_coverages") if c["id"] == InsuranceCoverage.objects.get(
            location=location, foreign_id=str(coverage)).pk).items()
    shown_claim = next(c for c in listed("claims") if c["id"] == Claim.objects.get(location=location, foreign_id=str(claim)).pk)
    assert (shown_claim["status"], shown_claim["primary_insurance_plan_id"], shown_claim["date_of_service"]) == (
        "sent", plan.pk, "2026-03-02")
    assert shown_claim["totals"]["amount_billed_to_insurance"]["amount"] == "180.00"
    assert shown_claim["totals"]["estimated_insurance_payment"]["amount"] == "115.20"
    assert {"procedure_id": procedure.pk, "content": "Composite on #14 O; pt comfortable.", "completed": True,
            "signed": True}.items() <= next(n for n in listed("clinical_notes") if n["procedure_id"] == procedure.pk).items()

    endpoint = webhook_endpoint_create(organization=cast.acme, sandbox=False, target_url=receiver.url)
    WebhookSubscription.objects.create(endpoint=endpoint, institution=institution, resource_type="Appointment",
                                       event="appointment_insertion")
    provider = Provider.objects.get(location=location, foreign_id="1")
    paid = Client().post(f"/api/payments?subdomain=ledger-dental&location_id={location.pk}",
                         json.dumps({"payment": {"patient_id": patient.pk, "amount": 55.25, "notes": "Online"}}),
                         content_type="application/json", **api)
    alerted = Client().post(f"/api/patients/{patient.pk}/alerts?subdomain=ledger-dental",
                            json.dumps({"patient_alert": {"note": "Prefers texts"}}), content_type="application/json", **api)
    adjusted = Client().post(f"/api/adjustments?subdomain=ledger-dental&location_id={location.pk}", json.dumps(
        {"adjustment": {"patient_id": patient.pk, "amount": -12.5, "notes": "Courtesy",
                        "adjustment_type_id": AdjustmentType.objects.get(location=location, foreign_id="1").pk}}),
        content_type="application/json", **api)
    hour = Client().post(f"/api/working_hours?subdomain=ledger-dental&location_id={location.pk}", json.dumps(
        {"working_hour": {"provider_id": provider.pk, "begin_time": "09:00", "end_time": "13:00",
                          "specific_date": "2026-04-06"}}), content_type="application/json", **api)
    start = (timezone.now() + timedelta(days=30)).replace(hour=15, minute=0, second=0, microsecond=0)
    booked = Client().post(f"/api/appointments?subdomain=ledger-dental&location_id={location.pk}",
                           json.dumps({"appt": {"patient_id": patient.pk, "provider_id": provider.pk,
                                                "start_time": start.isoformat()}}),
                           content_type="application/json", **api)
    scan = b"%PDF-1.7 \x00\xff consent signed"
    filed = Client().post(f"/api/patients/{patient.pk}/documents?subdomain=ledger-dental&location_id={location.pk}",
                          {"file": SimpleUploadedFile("consent.pdf", scan, content_type="application/pdf")}, **api)
    assert (paid.status_code, alerted.status_code, adjusted.status_code, hour.status_code, booked.status_code,
            filed.status_code) == (202, 201, 202, 201, 201, 201), (hour.content, filed.content)
    assert Sync.objects.get(pk=sync.pk).write_jobs_pending == 6

    run_agent(live_server, key, database_url, state)

    payment = Payment.objects.get(location=location, transaction_id="", description="Online")
    alert = PatientAlert.objects.get(pk=alerted.json()["data"]["id"])
    assert payment.foreign_id and alert.foreign_id  # the completion shows through the API as the foreign id
    assert Client().get(paid["Location"], **api).json()["data"]["foreign_id"] == payment.foreign_id
    adjustment = Client().get(adjusted["Location"], **api).json()["data"]
    assert adjustment["foreign_id"]
    hour_id = hour.json()["data"]["id"]
    hour_foreign_id = WorkingHour.objects.get(pk=hour_id).foreign_id
    with Database(database_url) as practice:
        assert practice.query("SELECT PatNum, PayAmt, PayNote FROM payment WHERE PayNum = ?", [int(payment.foreign_id)]) == [
            {"PatNum": pat_num, "PayAmt": 55.25, "PayNote": "Online"}]
        assert practice.query("SELECT PatNum, Description FROM popup WHERE PopupNum = ?", [int(alert.foreign_id)]) == [
            {"PatNum": pat_num, "Description": "Prefers texts"}]
        assert practice.query("SELECT PatNum, AdjAmt, AdjType, AdjNote FROM adjustment WHERE AdjNum = ?",
                              [int(adjustment["foreign_id"])]) == [
            {"PatNum": pat_num, "AdjAmt": -12.5, "AdjType": 1, "AdjNote": "Courtesy"}]
        assert practice.query("SELECT SchedDate, StartTime, StopTime, SchedType, ProvNum, ClinicNum FROM schedule "
                              "WHERE ScheduleNum = ?", [int(hour_foreign_id)]) == [
            {"SchedDate": "2026-04-06", "StartTime": "09:00:00", "StopTime": "13:00:00", "SchedType": 1, "ProvNum": 1,
             "ClinicNum": 1}]
        doc_num = int(PatientDocument.objects.get(pk=filed.json()["data"]["id"]).foreign_id)
        [row] = practice.query("SELECT PatNum, FileName FROM document WHERE DocNum = ?", [doc_num])
        # The agent's default images folder sits beside its state file, in Open Dental's A to Z layout.
        [stored] = (tmp_path / "OpenDentImages").rglob("consent*.pdf")
        assert row == {"PatNum": pat_num, "FileName": stored.name} and stored.read_bytes() == scan
        assert stored.parent.name.endswith(str(pat_num))
        # The front desk moves the end of that day: the API's working hour follows, as one record.
        practice.execute("UPDATE schedule SET StopTime = '16:00:00', DateTStamp = ? WHERE ScheduleNum = ?",
                         (timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), int(hour_foreign_id)))
        practice.commit()
    assert Sync.objects.get(pk=sync.pk).write_jobs_pending == 0
    # The appointment's insertion is the one event the reference's catalogue has; the other kinds emit none.
    assert [json.loads(r["body"])["event_name"] for r in receiver.requests] == ["appointment_insertion.complete"]

    run_agent(live_server, key, database_url, state)

    shown_hour = Client().get(f"/api/working_hours/{hour_id}", {"subdomain": "ledger-dental"}, **api).json()["data"]
    assert (shown_hour["specific_date"], shown_hour["begin_time"], shown_hour["end_time"]) == ("2026-04-06", "09:00", "16:00")
    assert WorkingHour.objects.filter(location=location, specific_date="2026-04-06", provider=provider).count() == 1
    assert Adjustment.objects.filter(location=location, description="Courtesy").count() == 1
