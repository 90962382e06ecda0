"""Writes for the Synchronizer: what the API accepted for a production location (appointments where the location
inserts them; payments, adjustments, patient documents and alerts, working hours wherever a Synchronizer runs)."""

from django.apps import apps
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from institutions.selectors import organizations_reaching
from syncs.models import (
    Appointment,
    PatientDocument,
    Sync,
    WriteJob,
    health_deadline_after_new_data,
)
from syncs.serializers import AppointmentSerializer
from syncs.webhooks.services import webhooks_emit


def write_job_for_appointment(appointment: Appointment) -> WriteJob | None:
    """Queue an insertion when the location's Synchronizer inserts appointments (never in the sandbox)."""
    location = appointment.location
    if location.institution.is_sandbox or not location.insert_appt_client or location.sync_id is None:
        return None
    job = WriteJob.objects.create(
        sync_id=location.sync_id, location=location, appointment=appointment,
        payload={
            "patient_foreign_id": appointment.patient.foreign_id if appointment.patient else None,
            "provider_foreign_id": appointment.provider.foreign_id if appointment.provider else None,
            "operatory_foreign_id": appointment.operatory.foreign_id if appointment.operatory else None,
            "appointment_type_foreign_id": appointment.appointment_type.foreign_id if appointment.appointment_type else None,
            "start_time": appointment.start_time.isoformat(), "end_time": appointment.end_time.isoformat(),
            "note": appointment.note,
        },
    )
    Sync.objects.filter(pk=location.sync_id).update(write_jobs_pending=F("write_jobs_pending") + 1)
    return job


def write_job_for_record(*, record, kind: str, payload: dict) -> WriteJob | None:
    """Queue a write of `record` (any practice record) for the location's Synchronizer; never in the sandbox."""
    location = record.location
    if location.institution.is_sandbox or location.sync_id is None:
        return None
    job = WriteJob.objects.create(sync_id=location.sync_id, location=location, kind=kind, payload=payload,
                                  record_type=record._meta.label, record_id=record.pk)
    Sync.objects.filter(pk=location.sync_id).update(write_jobs_pending=F("write_jobs_pending") + 1)
    return job


def write_job_document(*, sync: Sync, job_id) -> PatientDocument | None:
    """The document a document write job of `sync` inserts, with its stored file, for the agent to download; None when
    the job is another sync's, of another kind, or its document has no file (never another sync's file)."""
    job = WriteJob.objects.filter(sync=sync, public_id=job_id, kind=WriteJob.Kind.PATIENT_DOCUMENT_INSERTION,
                                  record_type=PatientDocument._meta.label).values("record_id")
    return PatientDocument.objects.filter(pk__in=job, location__sync=sync).exclude(file="").first()


@transaction.atomic
def write_job_complete(*, job: WriteJob, status: str, foreign_id: str = "", error: str = "") -> bool:
    """Record the agent's result once; a repeat returns False. The appointment gets its foreign id."""
    now = timezone.now()
    claimed = WriteJob.objects.filter(pk=job.pk, status=WriteJob.Status.PENDING).update(
        status=status, error=error[:2000], completed_at=now)
    if not claimed:
        return False
    Sync.objects.filter(pk=job.sync_id, write_jobs_pending__gt=0).update(
        write_jobs_pending=F("write_jobs_pending") - 1, last_write_at=now,
        health_deadline_at=health_deadline_after_new_data(now))
    if status == WriteJob.Status.COMPLETE and job.appointment_id:
        Appointment.objects.filter(pk=job.appointment_id).update(foreign_id=foreign_id, last_sync_time=now, updated_at=now)
    if job.record_type and job.record_id:
        # Other kinds have no event in the reference's webhook catalogue: the completion shows through the API
        # as the record's foreign_id and last_sync_time. An insertion names the record's new foreign id;
        # an update or a deletion leaves it as it was.
        model = apps.get_model(job.record_type)
        fields = {"last_sync_time": now, "updated_at": now}
        if status == WriteJob.Status.COMPLETE and foreign_id and job.kind.endswith("_insertion"):
            fields["foreign_id"] = foreign_id
        if status == WriteJob.Status.COMPLETE:
            model.objects.filter(pk=job.record_id).update(**fields)
    if job.kind == WriteJob.Kind.APPOINTMENT_INSERTION:
        _emit_insertion_result(job, status, error)
    return True


def _emit_insertion_result(job: WriteJob, status: str, error: str) -> None:
    """appointment_insertion.complete / .failed to every organization that reaches the institution."""
    appointment = Appointment.objects.select_related("location__institution", "provider").filter(pk=job.appointment_id).first()
    if appointment is None:
        return
    institution = appointment.location.institution
    payload = {"appointment": AppointmentSerializer(appointment).data}
    for organization in organizations_reaching(institution):
        webhooks_emit(organization=organization, sandbox=institution.is_sandbox, institution=institution,
                      event=f"appointment_insertion.{status}", payload=payload,
                      delivery_errors=[error] if status == WriteJob.Status.FAILED and error else None)
