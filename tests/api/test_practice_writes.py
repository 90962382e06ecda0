"""Writes beyond appointments through the API: working hours, patients' alerts and documents, payments and
adjustments. In the sandbox they are stored and read back; nothing becomes a write job."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from syncs.models import (
    AppointmentType,
    Patient,
    PatientAlert,
    Payment,
    PaymentType,
    Provider,
    WorkingHour,
    WriteJob,
)

pytestmark = pytest.mark.django_db


def scoped(api, location) -> dict:
    return {"subdomain": api.subdomain, "location_id": location.pk}


def test_a_working_hour_is_created_read_changed_and_deleted(api, locations):
    loc = locations[0]
    provider = Provider.objects.filter(location=loc).first()
    cleaning = AppointmentType.objects.get(location=loc, name="Cleaning")
    created = api.post("working_hours", {"working_hour": {
        "provider_id": provider.pk, "begin_time": "08:00", "end_time": "12:30", "days": ["Saturday"],
        "appointment_type_ids": [cleaning.pk], "custom_recurrence": {"num": 2, "unit": "week", "ref": "2026-01-03"}}},
        scoped(api, loc))
    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert (data["begin_time"], data["end_time"], data["days"], data["source"]) == ("08:00", "12:30", ["Saturday"], "manual")
    assert data["custom_recurrence"] == {"num": 2, "unit": "week", "ref": "2026-01-03"}
    hour_id = data["id"]

    shown = api.get(f"working_hours/{hour_id}", {"subdomain": api.subdomain}).json()["data"]
    assert [t["id"] for t in shown["appointment_types"]] == [cleaning.pk]
    changed = api.patch(f"working_hours/{hour_id}", {"working_hour": {"end_time": "13:00", "appointment_type_ids": []}},
                        {"subdomain": api.subdomain})
    assert changed.status_code == 200 and changed.json()["data"]["end_time"] == "13:00"
    assert changed.json()["data"]["appointment_types"] == []

    gone = api.delete(f"working_hours/{hour_id}", {"subdomain": api.subdomain}, version="v20240412")
    assert gone.status_code == 204 and not gone.content
    assert not WorkingHour.objects.filter(pk=hour_id).exists()
    assert api.get(f"working_hours/{hour_id}", {"subdomain": api.subdomain}).status_code == 404
    assert not WriteJob.objects.exists()  # the sandbox never writes to a health record system


@pytest.mark.parametrize("body, field", [
    ({"begin_time": "12:00", "end_time": "08:00", "days": ["Monday"]}, "working_hour.end_time"),
    ({"begin_time": "08:00", "end_time": "12:00"}, "working_hour.days"),
    ({"begin_time": "08:00", "end_time": "12:00", "days": ["Funday"]}, "working_hour.days"),
])
def test_a_working_hour_that_makes_no_sense_is_a_400(api, locations, body, field):
    provider = Provider.objects.filter(location=locations[0]).first()
    response = api.post("working_hours", {"working_hour": {"provider_id": provider.pk, **body}}, scoped(api, locations[0]))
    assert response.status_code == 400
    assert any(message.startswith(field) for message in response.json()["error"]), response.json()


def test_another_locations_provider_cannot_get_working_hours_here(api, locations):
    elsewhere = Provider.objects.filter(location=locations[1]).first()
    response = api.post("working_hours", {"working_hour": {
        "provider_id": elsewhere.pk, "begin_time": "08:00", "end_time": "12:00", "days": ["Monday"]}}, scoped(api, locations[0]))
    assert response.status_code == 400


def test_an_alert_is_added_disabled_and_hidden_unless_asked_for(api, locations):
    patient = Patient.objects.filter(location=locations[0]).first()
    one = {"subdomain": api.subdomain}
    created = api.post(f"patients/{patient.pk}/alerts", {"patient_alert": {"note": "Needs a wheelchair ramp"}}, one,
                       version=None)
    assert created.status_code == 201 and "disabled_at" not in created.json()["data"]
    alert_id = created.json()["data"]["id"]
    disabled = api.patch(f"patients/{patient.pk}/alerts/{alert_id}", {"patient_alert": {"disabled": True}}, one,
                         version=None)
    assert disabled.json()["data"]["disabled_at"]
    listed = api.get(f"patients/{patient.pk}/alerts", one, version=None).json()["data"]
    assert alert_id not in [a["id"] for a in listed]
    everything = api.get(f"patients/{patient.pk}/alerts", {**one, "include_disabled": "true"}, version=None).json()["data"]
    assert alert_id in [a["id"] for a in everything]
    assert PatientAlert.objects.get(pk=alert_id).source == "api"


def test_a_document_is_uploaded_listed_and_downloaded_by_a_key_that_reaches_the_patient(api, locations):
    patient = Patient.objects.filter(location=locations[0]).first()
    upload = SimpleUploadedFile("x-ray.png", b"\x89PNG sample", content_type="image/png")
    created = api.client.post(f"/api/patients/{patient.pk}/documents?subdomain={api.subdomain}&location_id={locations[0].pk}",
                              {"file": upload}, **api.headers(None))
    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert (data["filename"], data["type"]) == ("x-ray.png", "image/png")
    listed = api.get(f"patients/{patient.pk}/documents", {"subdomain": api.subdomain}, version=None).json()["data"]
    assert data["id"] in [d["id"] for d in listed]
    download = api.client.get(data["url"], {"subdomain": api.subdomain}, **api.headers(None))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"\x89PNG sample"
    assert api.client.get(data["url"], {"subdomain": api.subdomain}).status_code == 401


def test_a_payment_is_accepted_with_202_and_readable_at_its_location(api, locations):
    loc = locations[0]
    patient = Patient.objects.filter(location=loc).first()
    card = PaymentType.objects.get(location=loc, name="Credit Card")
    response = api.post("payments", {"payment": {"patient_id": patient.pk, "amount": 42.5, "payment_type_id": card.pk,
                                                 "transaction_id": "ch_123", "notes": "Copay"}}, scoped(api, loc))
    assert response.status_code == 202 and not response.content
    payment = Payment.objects.get(transaction_id="ch_123")
    assert response["Location"].startswith(f"/api/payments/{payment.pk}")
    shown = api.get(f"payments/{payment.pk}", {"subdomain": api.subdomain, "include[]": "payment_type"}).json()["data"]
    assert shown["payment_amount"] == {"amount": "42.50", "currency": "USD"}
    assert shown["payment_type"]["name"] == "Credit Card" and shown["patient_id"] == patient.pk


def test_a_payment_for_another_locations_patient_is_a_400(api, locations):
    patient = Patient.objects.filter(location=locations[1]).first()
    response = api.post("payments", {"payment": {"patient_id": patient.pk, "amount": 10}}, scoped(api, locations[0]))
    assert response.status_code == 400 and "payment.patient_id" in response.json()["error"][0]
