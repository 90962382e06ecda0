"""Writes that arrive through the developer API. In the sandbox they are stored and never sent anywhere."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions

from institutions.models import Location
from portal.audit import audit_record
from portal.models import ApiKey
from syncs.models import Appointment, AppointmentType, Operatory, Patient, Provider
from syncs.write_jobs import write_job_for_appointment

DEFAULT_APPOINTMENT_MINUTES = 30


def record_at_location(model, location: Location, pk: int | None, field: str):
    if pk is None:
        return None
    obj = model.objects.filter(location=location, pk=pk).first()
    if obj is None:
        raise exceptions.ValidationError({field: f"No {model._meta.verbose_name} {pk} at location {location.pk}."})
    return obj


@transaction.atomic
def patient_create(*, location: Location, provider_id: int, data: dict) -> Patient:
    provider = record_at_location(Provider, location, provider_id, "provider.provider_id")
    return Patient.objects.create(
        institution_id=location.institution_id, location=location, provider=provider,
        first_name=data["first_name"], last_name=data["last_name"], email=data.get("email", ""),
        bio=data["bio"], foreign_id_type=location.foreign_id_type,
    )


@transaction.atomic
def appointment_create(*, location: Location, data: dict) -> Appointment:
    """Stored with source=api. Outside the sandbox, locations that insert appointments hand them to their
    Synchronizer as a write job; nothing here talks to a health record system."""
    patient = record_at_location(Patient, location, data["patient_id"], "appt.patient_id")
    provider = record_at_location(Provider, location, data["provider_id"], "appt.provider_id")
    operatory = record_at_location(Operatory, location, data.get("operatory_id"), "appt.operatory_id")
    appointment_type = record_at_location(AppointmentType, location, data.get("appointment_type_id"), "appt.appointment_type_id")
    start: datetime = data["start_time"]
    minutes = appointment_type.minutes if appointment_type else DEFAULT_APPOINTMENT_MINUTES
    end: datetime = data.get("end_time") or start + timedelta(minutes=minutes)
    if end <= start:
        raise exceptions.ValidationError({"appt.end_time": "Must be after start_time."})
    appointment = Appointment.objects.create(
        institution_id=location.institution_id, location=location, patient=patient, provider=provider,
        operatory=operatory, appointment_type=appointment_type, start_time=start, end_time=end,
        note=data.get("note", ""), unavailable=data.get("unavailable", False),
        is_new_clients_patient=data.get("is_new_clients_patient", False), is_guardian=data.get("is_guardian", False),
        referrer=data.get("referrer", ""),
        source=Appointment.Source.API, foreign_id_type=location.foreign_id_type,
    )
    write_job_for_appointment(appointment)
    return appointment


@transaction.atomic
def appointment_update(*, appointment: Appointment, data: dict) -> Appointment:
    now = timezone.now()
    if "operatory_id" in data:
        appointment.operatory = record_at_location(Operatory, appointment.location, data["operatory_id"], "appt.operatory_id")
    for field in ("note", "start_time", "end_time", "checkin_at"):
        if field in data:
            setattr(appointment, field, data[field])
    if "cancelled" in data and data["cancelled"] != appointment.cancelled:
        appointment.cancelled = data["cancelled"]
        appointment.cancelled_at = now if data["cancelled"] else None
    if "confirmed" in data and data["confirmed"] != appointment.confirmed:
        appointment.confirmed = data["confirmed"]
        appointment.confirmed_at = now if data["confirmed"] else None
    if appointment.end_time <= appointment.start_time:
        raise exceptions.ValidationError({"appt.end_time": "Must be after start_time."})
    appointment.save()
    return appointment


@transaction.atomic
def appointment_type_create(*, location: Location, data: dict) -> AppointmentType:
    return AppointmentType.objects.create(
        institution_id=location.institution_id, location=location, name=data["name"], minutes=data["minutes"],
        bookable_online=data.get("bookable_online", True),
    )


@transaction.atomic
def appointment_type_update(*, appointment_type: AppointmentType, data: dict) -> AppointmentType:
    for field in ("name", "minutes", "bookable_online"):
        if field in data:
            setattr(appointment_type, field, data[field])
    appointment_type.save()
    return appointment_type


@transaction.atomic
def appointment_type_delete(*, appointment_type: AppointmentType, api_key: ApiKey, ip: str | None = None) -> None:
    audit_record(verb="appointment_type.deleted", actor=None, organization=api_key.organization, target=appointment_type,
                 target_label=appointment_type.name, ip=ip,
                 details={"api_key": api_key.display_prefix, "institution_id": appointment_type.institution_id,
                          "location_id": appointment_type.location_id})
    appointment_type.delete()
