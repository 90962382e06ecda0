"""Writes the API accepts beyond patients and appointments: working hours, patient alerts and documents,
payments and adjustments. Stored at once (the API answers with them); for a production location with a
Synchronizer each also becomes a write job the agent applies to the health record system (syncs.write_jobs)."""

from datetime import datetime

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions

from institutions.models import Location
from syncs.models import (
    AdjustmentType,
    Adjustment,
    AppointmentType,
    DocumentType,
    Operatory,
    Patient,
    PatientAlert,
    PatientDocument,
    Payment,
    PaymentType,
    Provider,
    RecordSource,
    WorkingHour,
    WriteJob,
)
from syncs.record_writes import record_at_location
from syncs.write_jobs import write_job_for_record

MAX_DOCUMENT_BYTES = 20 * 2**20


def _foreign(obj) -> str | None:
    return obj.foreign_id if obj is not None else None


def _hour_payload(hour: WorkingHour) -> dict:
    return {
        "foreign_id": hour.foreign_id, "provider_foreign_id": _foreign(hour.provider),
        "operatory_foreign_id": _foreign(hour.operatory), "begin_time": hour.begin_time.strftime("%H:%M"),
        "end_time": hour.end_time.strftime("%H:%M"), "days": hour.days,
        "specific_date": hour.specific_date.isoformat() if hour.specific_date else None,
        "custom_recurrence": hour.custom_recurrence, "active": hour.active,
        "appointment_type_foreign_ids": [t.foreign_id for t in hour.appointment_types.all() if t.foreign_id],
    }


def _apply_hour(hour: WorkingHour, data: dict) -> list[AppointmentType] | None:
    location = hour.location
    if "provider_id" in data:
        hour.provider = record_at_location(Provider, location, data["provider_id"], "working_hour.provider_id")
    if "operatory_id" in data:
        hour.operatory = record_at_location(Operatory, location, data["operatory_id"], "working_hour.operatory_id")
    for field in ("begin_time", "end_time", "days", "specific_date", "custom_recurrence", "active"):
        if field in data:
            setattr(hour, field, data[field])
    if hour.end_time <= hour.begin_time:
        raise exceptions.ValidationError({"working_hour.end_time": "Must be after begin_time."})
    if not hour.days and hour.specific_date is None:
        raise exceptions.ValidationError({"working_hour.days": "Give days or a specific_date."})
    if "appointment_type_ids" not in data:
        return None
    types = list(AppointmentType.objects.filter(location=location, pk__in=data["appointment_type_ids"]))
    if len(types) != len(set(data["appointment_type_ids"])):
        raise exceptions.ValidationError({"working_hour.appointment_type_ids": "Each must be an appointment type of this location."})
    return types


@transaction.atomic
def working_hour_create(*, location: Location, data: dict) -> WorkingHour:
    hour = WorkingHour(institution_id=location.institution_id, location=location, source="manual",
                       foreign_id_type=location.foreign_id_type, days=[], active=True)
    if "provider_id" not in data:
        raise exceptions.ValidationError({"working_hour.provider_id": "This field is required."})
    types = _apply_hour(hour, data)
    hour.save()
    if types is not None:
        hour.appointment_types.set(types)
    write_job_for_record(record=hour, kind=WriteJob.Kind.WORKING_HOUR_INSERTION, payload=_hour_payload(hour))
    return hour


@transaction.atomic
def working_hour_update(*, hour: WorkingHour, data: dict) -> WorkingHour:
    types = _apply_hour(hour, data)
    hour.save()
    if types is not None:
        hour.appointment_types.set(types)
    write_job_for_record(record=hour, kind=WriteJob.Kind.WORKING_HOUR_UPDATE, payload=_hour_payload(hour))
    return hour


@transaction.atomic
def working_hour_delete(*, hour: WorkingHour) -> None:
    write_job_for_record(record=hour, kind=WriteJob.Kind.WORKING_HOUR_DELETION,
                         payload={"foreign_id": hour.foreign_id})
    hour.delete()


def _patient_payload(patient: Patient) -> dict:
    return {"patient_foreign_id": patient.foreign_id}


@transaction.atomic
def patient_alert_create(*, patient: Patient, note: str) -> PatientAlert:
    alert = PatientAlert.objects.create(institution_id=patient.institution_id, location_id=patient.location_id,
                                        patient=patient, note=note, source=RecordSource.API,
                                        foreign_id_type=patient.foreign_id_type)
    write_job_for_record(record=alert, kind=WriteJob.Kind.PATIENT_ALERT_INSERTION,
                         payload={**_patient_payload(patient), "note": note})
    return alert


@transaction.atomic
def patient_alert_update(*, alert: PatientAlert, disabled: bool) -> PatientAlert:
    if disabled == (alert.disabled_at is not None):
        return alert  # nothing changes, nothing to write
    alert.disabled_at = timezone.now() if disabled else None
    alert.save()
    write_job_for_record(record=alert, kind=WriteJob.Kind.PATIENT_ALERT_UPDATE,
                         payload={**_patient_payload(alert.patient), "foreign_id": alert.foreign_id,
                                  "disabled": disabled})
    return alert


@transaction.atomic
def patient_document_create(*, patient: Patient, location: Location, upload: UploadedFile,
                            document_type_id: int | None) -> PatientDocument:
    if upload.size > MAX_DOCUMENT_BYTES:
        raise exceptions.ValidationError({"file": f"At most {MAX_DOCUMENT_BYTES // 2**20} MB."})
    document_type = record_at_location(DocumentType, location, document_type_id, "document_type_id")
    document = PatientDocument(institution_id=patient.institution_id, location=location, patient=patient,
                               document_type=document_type, filename=upload.name[:255], source=RecordSource.API,
                               content_type=upload.content_type or "application/octet-stream",
                               foreign_id_type=location.foreign_id_type)
    document.file.save(upload.name, upload, save=False)
    document.save()
    write_job_for_record(record=document, kind=WriteJob.Kind.PATIENT_DOCUMENT_INSERTION, payload={
        **_patient_payload(patient), "document_type_foreign_id": _foreign(document_type), "filename": document.filename,
        "content_type": document.content_type, "path": document.file.name})
    return document


def _ledger_entry(model, location: Location, data: dict, *, type_model, type_field: str, body: str, **fields):
    patient = record_at_location(Patient, location, data["patient_id"], f"{body}.patient_id")
    entry_type = record_at_location(type_model, location, data.get(type_field), f"{body}.{type_field}")
    moment: datetime = data.get("paid_at") or data.get("adjusted_at") or timezone.now()
    return model.objects.create(
        institution_id=location.institution_id, location=location, patient=patient, guarantor_id=patient.guarantor_id,
        provider_id=patient.provider_id, amount=data["amount"], currency=(data.get("currency") or "USD").upper(),
        description=data.get("notes", ""), transaction_id=data.get("transaction_id", ""), source=RecordSource.API,
        foreign_id_type=location.foreign_id_type, **{type_field.removesuffix("_id"): entry_type},
        **{fields["date_field"]: timezone.localtime(moment).date()},
    )


def _ledger_payload(entry, type_obj, *, date_field: str) -> dict:
    return {"patient_foreign_id": _foreign(entry.patient), "provider_foreign_id": _foreign(entry.provider),
            "type_foreign_id": _foreign(type_obj), "amount": str(entry.amount), "currency": entry.currency,
            "date": getattr(entry, date_field).isoformat(), "note": entry.description,
            "transaction_id": entry.transaction_id}


@transaction.atomic
def payment_create(*, location: Location, data: dict) -> Payment:
    payment = _ledger_entry(Payment, location, data, type_model=PaymentType, type_field="payment_type_id",
                            body="payment", date_field="paid_at")
    write_job_for_record(record=payment, kind=WriteJob.Kind.PAYMENT_INSERTION,
                         payload=_ledger_payload(payment, payment.payment_type, date_field="paid_at"))
    return payment


@transaction.atomic
def adjustment_create(*, location: Location, data: dict) -> Adjustment:
    adjustment = _ledger_entry(Adjustment, location, data, type_model=AdjustmentType, type_field="adjustment_type_id",
                               body="adjustment", date_field="adjusted_at")
    write_job_for_record(record=adjustment, kind=WriteJob.Kind.ADJUSTMENT_INSERTION,
                         payload=_ledger_payload(adjustment, adjustment.adjustment_type, date_field="adjusted_at"))
    return adjustment
