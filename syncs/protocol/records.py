"""Records pushed by the Synchronizer: validated, then upserted by (location, foreign_id), all or nothing."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from institutions.models import Location
from syncs.models import (Appointment, AppointmentType, Operatory, Patient, PracticeRecord, Provider, Sync,
                          health_deadline_after_new_data)

BATCH_LIMIT = 1000


@dataclass
class RecordBatch:
    location_foreign_id: str
    kind: str
    records: list[dict]
    deleted: list[str] = field(default_factory=list)


class ProviderIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    first_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    middle_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    email = serializers.EmailField(allow_blank=True, default="")
    display_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    npi = serializers.CharField(max_length=20, allow_blank=True, default="")
    inactive = serializers.BooleanField(default=False)


class OperatoryIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100)
    display_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    active = serializers.BooleanField(default=True)


class AppointmentTypeIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100)
    minutes = serializers.IntegerField(min_value=1, max_value=1440)


class PatientIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    first_name = serializers.CharField(max_length=100, allow_blank=True)
    last_name = serializers.CharField(max_length=100, allow_blank=True)
    email = serializers.EmailField(allow_blank=True, default="")
    bio = serializers.DictField(default=dict)
    inactive = serializers.BooleanField(default=False)
    provider_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)


class AppointmentIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    patient_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    provider_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    operatory_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    appointment_type_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    cancelled = serializers.BooleanField(default=False)
    confirmed = serializers.BooleanField(default=False)
    note = serializers.CharField(allow_blank=True, default="", max_length=5000)

    def validate(self, attrs):
        if attrs["end_time"] < attrs["start_time"]:
            raise serializers.ValidationError({"end_time": "Must not be before start_time."})
        return attrs


KINDS: dict[str, tuple[type[PracticeRecord], type[serializers.Serializer]]] = {
    "providers": (Provider, ProviderIn),
    "operatories": (Operatory, OperatoryIn),
    "appointment_types": (AppointmentType, AppointmentTypeIn),
    "patients": (Patient, PatientIn),
    "appointments": (Appointment, AppointmentIn),
}
# Foreign-id references to resolve into ids at the same location, per kind.
REFERENCES = {
    "patients": {"provider_foreign_id": ("provider_id", Provider)},
    "appointments": {
        "patient_foreign_id": ("patient_id", Patient), "provider_foreign_id": ("provider_id", Provider),
        "operatory_foreign_id": ("operatory_id", Operatory),
        "appointment_type_foreign_id": ("appointment_type_id", AppointmentType),
    },
}


def _resolve(location: Location, rows: list[dict], kind: str) -> None:
    """Replace *_foreign_id by ids with one query per referenced kind (never one per row)."""
    for key, (attribute, model) in REFERENCES.get(kind, {}).items():
        wanted = {row[key] for row in rows if row.get(key)}
        ids = dict(model.objects.filter(location=location, foreign_id__in=wanted).values_list("foreign_id", "pk"))
        for row in rows:
            row[attribute] = ids.get(row.pop(key, None) or "")


def records_apply(*, sync: Sync, batch: RecordBatch) -> dict:
    location = Location.objects.filter(sync=sync, foreign_id=batch.location_foreign_id).first()
    if location is None:
        raise serializers.ValidationError({"location_foreign_id": "Report this location through /locations first."})
    model, row_serializer = KINDS[batch.kind]
    rows_in = row_serializer(data=batch.records, many=True)
    rows_in.is_valid(raise_exception=True)
    rows = [dict(row) for row in rows_in.validated_data]
    if len({row["foreign_id"] for row in rows}) != len(rows):
        raise serializers.ValidationError({"records": "Each foreign_id may appear once a batch."})
    if not location.active or location.deactivated_at is not None:
        # Not selected (yet): accepted and dropped; the history is read again when it is activated.
        return {"upserted": 0, "deleted": 0, "stored": False}
    now = timezone.now()
    with transaction.atomic():
        _resolve(location, rows, batch.kind)
        objects = [model(institution_id=location.institution_id, location=location, foreign_id_type=location.foreign_id_type,
                         last_sync_time=now, created_at=now, updated_at=now, **row) for row in rows]
        update_fields = [name for name in rows[0] if name != "foreign_id"] + ["last_sync_time", "updated_at"] if rows else []
        if objects:
            model.objects.bulk_create(objects, batch_size=500, update_conflicts=True,
                                      unique_fields=["location", "foreign_id"], update_fields=update_fields)
        deleted, _ = model.objects.filter(location=location, foreign_id__in=batch.deleted).delete() if batch.deleted else (0, {})
        sync_touch_read(sync, now)
    return {"upserted": len(objects), "deleted": deleted, "stored": True}


def sync_touch_read(sync: Sync, now) -> None:
    Sync.objects.filter(pk=sync.pk).update(last_read_at=now, health_deadline_at=health_deadline_after_new_data(now))
