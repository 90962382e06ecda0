"""The fast serializers print exactly what DRF's standard path prints for the same declared fields."""

import pytest
from django.utils import timezone
from rest_framework import serializers

from syncs.models import Appointment, Operatory, Patient
from syncs.serializers import (
    AppointmentBasicSerializer,
    AppointmentSerializer,
    OperatorySerializer,
    PatientDetailSerializer,
    PatientSerializer,
    PatientWithVisitsSerializer,
)

pytestmark = pytest.mark.django_db


def standard(serializer_class, obj, context=None) -> dict:
    serializer = serializer_class(context=context or {})
    return serializers.ModelSerializer.to_representation(serializer, obj)


@pytest.mark.parametrize("serializer_class, model", [
    (PatientSerializer, Patient), (PatientDetailSerializer, Patient), (AppointmentSerializer, Appointment),
    (AppointmentBasicSerializer, Appointment), (OperatorySerializer, Operatory),
])
def test_fast_output_equals_the_standard_output(sandbox, serializer_class, model):
    objects = list(model.objects.filter(institution=sandbox).order_by("id")[:60])
    objects[0].email = "" if hasattr(objects[0], "email") else None

    for obj in objects:
        assert serializer_class(obj).data == standard(serializer_class, obj)


def test_patient_with_visits_matches_too(sandbox):
    patient = Patient.objects.filter(institution=sandbox).first()
    patient.visits = list(patient.appointments.select_related("provider").order_by("-start_time"))
    context = {"now": timezone.now()}

    assert PatientWithVisitsSerializer(patient, context=context).data == standard(PatientWithVisitsSerializer, patient, context)


def test_sync_status_rows_match_the_standard_output(sandbox):
    from syncs.models import Sync
    from syncs.serializers import SyncStatusSerializer, sync_status_row

    sync = Sync.objects.get(institution=sandbox)
    sync.active_locations = list(sync.locations.order_by("id"))
    row = sync_status_row(sync, timezone.now())

    assert SyncStatusSerializer(row).data == serializers.Serializer.to_representation(SyncStatusSerializer(), row)
