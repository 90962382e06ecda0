"""The practice's other records through the Synchronizer: pushed kinds upsert with their references and links;
payments, adjustments, alerts, documents and working hours the API accepts for a production location become
write jobs, and the agent's result gives the record its foreign id."""

from datetime import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from syncs import practice_writes
from syncs.models import (
    AppointmentType,
    Charge,
    Claim,
    Patient,
    PatientAlert,
    Payment,
    PaymentType,
    Procedure,
    Provider,
    TreatmentPlan,
    WorkingHour,
    WriteJob,
)
from tests.syncs.test_agent_protocol import BASE, active_location, post, sync, token  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def push(token, kind: str, records: list[dict], location: str = "1"):
    response = post("records", {"location_foreign_id": location, "kind": kind, "records": records}, token)
    assert response.status_code == 200, response.content
    return response.json()["data"]


@pytest.fixture
def chart(active_location, token):  # noqa: F811
    push(token, "providers", [{"foreign_id": "7", "first_name": "Ada", "last_name": "Ng"}])
    push(token, "patients", [{"foreign_id": "9", "first_name": "Ana", "last_name": "Diaz", "provider_foreign_id": "7"}])
    return active_location


def test_ledger_kinds_upsert_with_references_and_links(chart, token):
    push(token, "procedures", [{"foreign_id": "p1", "patient_foreign_id": "9", "provider_foreign_id": "7",
                                "code": "D1110", "name": "Prophylaxis - adult", "status": "completed", "fee": "110.00"},
                               {"foreign_id": "p2", "patient_foreign_id": "9", "code": "D2391", "status": "planned"}])
    push(token, "charges", [{"foreign_id": "c1", "patient_foreign_id": "9", "procedure_foreign_id": "p1", "fee": "110"}])
    push(token, "claims", [{"foreign_id": "cl1", "patient_foreign_id": "9", "status": "sent", "charges": [
        {"charge_foreign_id": "c1", "amount_billed_to_insurance": "110", "estimated_insurance_payment": "88"}]}])
    push(token, "treatment_plans", [{"foreign_id": "t1", "patient_foreign_id": "9", "status": "proposed",
                                     "procedure_foreign_ids": ["p2"]}])
    again = push(token, "payments", [{"foreign_id": "pay1", "patient_foreign_id": "9", "claim_foreign_id": "cl1",
                                      "amount": "88.00", "paid_at": "2026-03-01"}])

    assert again == {"upserted": 1, "deleted": 0, "stored": True}
    charge = Charge.objects.get(foreign_id="c1")
    assert charge.procedure == Procedure.objects.get(foreign_id="p1") and charge.patient.foreign_id == "9"
    claim = Claim.objects.get(foreign_id="cl1")
    assert [(p.charge_id, p.estimated_insurance_payment) for p in claim.payouts.all()] == [(charge.pk, Decimal("88"))]
    assert [p.foreign_id for p in TreatmentPlan.objects.get(foreign_id="t1").procedures.all()] == ["p2"]
    assert Payment.objects.get(foreign_id="pay1").claim == claim
    push(token, "claims", [{"foreign_id": "cl1", "patient_foreign_id": "9", "status": "received", "charges": []}])
    assert not Claim.objects.get(foreign_id="cl1").payouts.exists()


def test_a_record_naming_an_unknown_required_parent_writes_nothing(chart, token):
    response = post("records", {"location_foreign_id": "1", "kind": "patient_alerts", "records": [
        {"foreign_id": "a1", "patient_foreign_id": "9", "note": "Latex allergy"},
        {"foreign_id": "a2", "patient_foreign_id": "404", "note": "Unknown"}]}, token)
    assert response.status_code == 400 and "patient_foreign_id" in response.json()["error"][0]
    assert not PatientAlert.objects.exists()


def test_working_hours_upsert_with_their_provider_and_keep_the_apis_appointment_types(chart, token):  # noqa: F811
    push(token, "operatories", [{"foreign_id": "3", "name": "Op 3"}])
    push(token, "appointment_types", [{"foreign_id": "2", "name": "Adult Prophy", "minutes": 40}])
    push(token, "working_hours", [
        {"foreign_id": "s1", "provider_foreign_id": "7", "operatory_foreign_id": "3", "begin_time": "08:00:00",
         "end_time": "17:00:00", "specific_date": "2026-03-11"},
        {"foreign_id": "s2", "provider_foreign_id": "7", "begin_time": "07:30", "end_time": "12:00",
         "days": ["Monday", "Friday"]}])
    dated, weekly = WorkingHour.objects.order_by("foreign_id")
    assert (dated.provider.foreign_id, dated.operatory.foreign_id, str(dated.specific_date), dated.days,
            dated.source) == ("7", "3", "2026-03-11", [], "synced")
    assert (weekly.begin_time, weekly.days, weekly.operatory) == (time(7, 30), ["Monday", "Friday"], None)

    prophy = AppointmentType.objects.get()
    dated.appointment_types.set([prophy])  # as the API sets them
    push(token, "working_hours", [{"foreign_id": "s1", "provider_foreign_id": "7", "begin_time": "09:00",
                                   "end_time": "17:00", "specific_date": "2026-03-11"}])
    dated.refresh_from_db()
    assert dated.begin_time == time(9) and dated.operatory is None
    assert list(dated.appointment_types.all()) == [prophy]  # not the agent's to clear

    for bad, field in [({"end_time": "08:00"}, "end_time"), ({"specific_date": None}, "days"),
                       ({"provider_foreign_id": "404"}, "provider_foreign_id")]:
        response = post("records", {"location_foreign_id": "1", "kind": "working_hours", "records": [
            {"foreign_id": "s3", "provider_foreign_id": "7", "begin_time": "09:00", "end_time": "17:00",
             "specific_date": "2026-03-12", **bad}]}, token)
        assert response.status_code == 400 and field in str(response.json()["error"]), (bad, response.content)
    assert not WorkingHour.objects.filter(foreign_id="s3").exists()


def jobs(token) -> list[dict]:
    return Client().get(f"{BASE}/write_jobs", HTTP_AUTHORIZATION=f"Bearer {token}").json()["data"]


def test_api_writes_at_a_production_location_become_write_jobs_the_agent_completes(chart, token):
    patient = Patient.objects.get(foreign_id="9")
    push(token, "payment_types", [{"foreign_id": "71", "name": "Credit Card"}])
    payment = practice_writes.payment_create(location=chart, data={
        "patient_id": patient.pk, "amount": Decimal("42.50"), "payment_type_id": PaymentType.objects.get().pk})
    alert = practice_writes.patient_alert_create(patient=patient, note="Latex allergy")
    practice_writes.patient_document_create(
        patient=patient, location=chart, document_type_id=None,
        upload=SimpleUploadedFile("card.pdf", b"%PDF", content_type="application/pdf"))
    hour = practice_writes.working_hour_create(location=chart, data={
        "provider_id": Provider.objects.get().pk, "begin_time": time(8), "end_time": time(12), "days": ["Monday"]})

    pending = {job["kind"]: job for job in jobs(token)}
    assert set(pending) == {"payment_insertion", "patient_alert_insertion", "patient_document_insertion",
                            "working_hour_insertion"}
    expected = {"patient_foreign_id": "9", "type_foreign_id": "71", "amount": "42.50", "currency": "USD"}
    assert pending["payment_insertion"]["payload"].items() >= expected.items()
    assert pending["patient_alert_insertion"]["payload"] == {"patient_foreign_id": "9", "note": "Latex allergy"}

    done = post(f"write_jobs/{pending['payment_insertion']['id']}", {"status": "complete", "foreign_id": "5501"}, token)
    failed = post(f"write_jobs/{pending['patient_alert_insertion']['id']}", {"status": "failed", "error": "Locked"}, token)
    assert done.status_code == failed.status_code == 200
    payment.refresh_from_db()
    alert.refresh_from_db()
    assert payment.foreign_id == "5501" and payment.last_sync_time is not None
    assert alert.foreign_id is None and WriteJob.objects.get(kind="patient_alert_insertion").error == "Locked"
    assert post(f"write_jobs/{pending['payment_insertion']['id']}", {"status": "complete", "foreign_id": "5501"},
                token).status_code == 409
    assert hour.source == "manual"
