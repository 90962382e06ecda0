"""The fast serializers print exactly what DRF's standard path prints for the same declared fields."""

from datetime import UTC

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


def test_the_fast_renderer_prints_the_bytes_drfs_renderer_prints():
    import uuid
    from datetime import date, datetime, timedelta
    from datetime import timezone as dt_timezone
    from decimal import Decimal

    from django.utils.translation import gettext_lazy
    from rest_framework.exceptions import ErrorDetail
    from rest_framework.renderers import JSONRenderer

    from portal.api.renderers import FastJSONRenderer

    moment = datetime(2026, 11, 29, 23, 5, 1, 250000, tzinfo=UTC)
    data = {"code": True, "error": [ErrorDetail("bad", code="invalid"), gettext_lazy("Success")],
            "data": [{"at": moment, "local": moment.astimezone(dt_timezone(timedelta(hours=-6))), "day": date(2026, 1, 2),
                      "fee": Decimal("12.50"), "id": uuid.UUID(int=7), "name": "Zoë", "bio": {"n": None, "ok": False},
                      "count": 3, "ratio": 0.5}]}

    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)
    assert FastJSONRenderer().render(None) == JSONRenderer().render(None) == b""


@pytest.mark.parametrize("microsecond", [0, 120000, 5])
def test_timestamps_printed_by_the_database_read_as_drf_prints_them(sandbox, microsecond):
    from datetime import UTC, datetime

    from portal.api.fast import IsoUtc, iso_datetime
    from syncs.models import Sync

    moment = datetime(2026, 11, 29, 23, 5, 1, microsecond, tzinfo=UTC)
    Sync.objects.filter(institution=sandbox).update(last_read_at=moment)
    text = Sync.objects.filter(institution=sandbox).annotate(at=IsoUtc("last_read_at")).values_list("at", flat=True).get()

    assert text == iso_datetime(moment, UTC) == serializers.DateTimeField().to_representation(moment)


def test_a_page_built_by_the_database_holds_what_the_serializer_prints(sandbox):
    """Every sandbox patient, with the values that differ in print: empty and missing names, whole-second, fractional
    and missing timestamps, a guarantor, no provider (on PostgreSQL the SQL path, elsewhere the fallback)."""
    from datetime import UTC, datetime

    import orjson

    from syncs.api import PATIENTS_JSON

    patients = list(Patient.objects.filter(institution=sandbox).order_by("-id"))
    first, second, third = patients[:3]
    Patient.objects.filter(pk=first.pk).update(first_name="", middle_name="Q", last_sync_time=None, provider=None,
                                               created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    Patient.objects.filter(pk=second.pk).update(last_name="", guarantor=third, bio={},
                                                updated_at=datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC))
    ids = [patient.pk for patient in patients]  # a page's own order, not the table's

    page = PATIENTS_JSON.page(ids)
    built = orjson.loads(orjson.dumps(page))
    expected = PatientSerializer(Patient.objects.in_bulk(ids).values(), many=True).data
    by_id = {record["id"]: record for record in expected}

    assert [record["id"] for record in built] == ids
    assert built == [dict(by_id[pk]) for pk in ids]
    assert orjson.loads(orjson.dumps(PATIENTS_JSON.page([]))) == []


def test_appointments_json_built_by_the_database_equals_the_serializers(sandbox):
    """Every sandbox appointment, with the values that differ in print: no provider, a provider with one name, a
    start in summer and in winter (the offset follows daylight saving time), a half-hour zone, missing timestamps
    (on PostgreSQL the SQL path, elsewhere the fallback)."""
    from datetime import UTC, datetime

    import orjson

    from institutions.models import Location
    from syncs.api import APPOINTMENTS_JSON
    from syncs.models import Provider

    appointments = list(Appointment.objects.filter(institution=sandbox).order_by("-id"))
    first, second, third = appointments[:3]
    Appointment.objects.filter(pk=first.pk).update(provider=None, confirmed_at=None, last_sync_time=None,
                                                   start_time=datetime(2026, 7, 1, 14, 30, tzinfo=UTC))
    Appointment.objects.filter(pk=second.pk).update(start_time=datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC),
                                                    is_new_clients_patient=True, misc={"chair": 2})
    Provider.objects.filter(pk=third.provider_id).update(first_name="")
    Location.objects.filter(pk=third.location_id).update(tz="Asia/Kolkata")
    ids = [appointment.pk for appointment in appointments]  # a page's own order, not the table's

    built = orjson.loads(orjson.dumps(APPOINTMENTS_JSON.page(ids)))
    expected = AppointmentSerializer(Appointment.objects.select_related("location", "provider").in_bulk(ids).values(),
                                     many=True).data
    by_id = {record["id"]: record for record in expected}

    assert [record["id"] for record in built] == ids
    assert built == [dict(by_id[pk]) for pk in ids]
    assert {record["timezone_offset"] for record in built} >= {"+05:30"}


def test_a_text_the_reference_declares_non_nullable_prints_empty_not_null(sandbox):
    from syncs.models import Adjustment
    from syncs.record_serializers import AdjustmentSerializer

    adjustment = Adjustment.objects.filter(institution=sandbox).first()
    adjustment.foreign_id = None

    assert AdjustmentSerializer(adjustment).data["foreign_id"] == ""
    assert AdjustmentSerializer(adjustment).data == standard(AdjustmentSerializer, adjustment)
