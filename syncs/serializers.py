"""Output and input shapes of the NexHealth API for synced practice records (field names as in the reference)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from portal.api.fast import FastModelSerializer, iso_datetime
from institutions.serializers import LocationBasicSerializer, LocationSerializer
from syncs.catalog import CATALOG
from syncs.record_serializers import (
    AdjustmentSerializer,
    AppointmentDescriptorSerializer,
    ChargeBriefSerializer,
    PatientAlertSerializer,
    PatientBriefSerializer,
    PaymentSerializer,
    PersonSerializer,
    ProcedureDetailSerializer,
    ProcedureSerializer,
    ProviderPersonSerializer,
    SubscriberSerializer,
    WorkingHourLabelSerializer,
)
from syncs.models import (
    Appointment,
    AppointmentType,
    InsuranceCoverage,
    InsurancePlan,
    Operatory,
    Patient,
    Provider,
    Sync,
    WorkingHour,
)


def utc_offset(tz: str, at: datetime) -> str:
    """'-06:00' for America/Chicago in winter."""
    offset = at.astimezone(ZoneInfo(tz)).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class AppointmentTypeSerializer(serializers.ModelSerializer):
    parent_type = serializers.SerializerMethodField()
    parent_id = serializers.IntegerField(source="location_id")

    class Meta:
        model = AppointmentType
        fields = ["id", "name", "parent_type", "parent_id", "minutes", "bookable_online"]

    def get_parent_type(self, obj) -> str:
        return "Location"


class AppointmentTypeWithDescriptorsSerializer(AppointmentTypeSerializer):
    descriptors = serializers.SerializerMethodField()

    class Meta(AppointmentTypeSerializer.Meta):
        fields = AppointmentTypeSerializer.Meta.fields + ["descriptors"]

    @extend_schema_field(AppointmentDescriptorSerializer(many=True))
    def get_descriptors(self, obj) -> list[dict]:
        return AppointmentDescriptorSerializer(obj.descriptors.all(), many=True).data


class OperatorySerializer(FastModelSerializer):
    appointment_types = serializers.SerializerMethodField()

    class Meta:
        model = Operatory
        fields = ["id", "name", "foreign_id", "foreign_id_type", "location_id", "last_sync_time", "created_at",
                  "updated_at", "display_name", "active", "bookable_online", "appointment_types"]

    def get_appointment_types(self, obj) -> list[dict]:
        return []


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "10:30"})
class HourMinuteField(serializers.TimeField):
    """A working hour's time as sent (and as the reference shows it): "10:30", practice time, no seconds."""

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%H:%M", **kwargs)


class WorkingHourSerializer(serializers.ModelSerializer):
    """Callers select_related location and label and prefetch appointment_types."""

    begin_time = HourMinuteField()
    end_time = HourMinuteField()
    tz_offset = serializers.SerializerMethodField()
    source = serializers.ChoiceField(choices=["manual", "synced"])
    label = WorkingHourLabelSerializer(required=False)
    appointment_types = AppointmentTypeSerializer(many=True)

    class Meta:
        model = WorkingHour
        fields = ["id", "provider_id", "location_id", "operatory_id", "begin_time", "end_time", "days", "specific_date",
                  "custom_recurrence", "tz_offset", "active", "source", "label", "appointment_types"]

    def to_representation(self, instance) -> dict:
        data = super().to_representation(instance)
        if data["label"] is None:
            del data["label"]  # an object in the reference, never null: absent when the hour has none
        return data

    def get_tz_offset(self, obj) -> str:
        return utc_offset(obj.location.tz, self.context.get("now") or datetime.now(ZoneInfo("UTC")))


class ProviderSerializer(serializers.ModelSerializer):
    name = serializers.CharField()
    locations = serializers.SerializerMethodField()
    availabilities = serializers.SerializerMethodField()
    provider_requestables = serializers.SerializerMethodField()

    class Meta:
        model = Provider
        fields = ["id", "email", "first_name", "middle_name", "last_name", "name", "created_at", "updated_at",
                  "institution_id", "foreign_id", "foreign_id_type", "bio", "inactive", "last_sync_time",
                  "display_name", "npi", "tin", "state_license", "specialty_code", "locations", "availabilities",
                  "provider_requestables"]

    def get_locations(self, obj) -> list[dict]:
        return [LocationSerializer(obj.location).data]

    def get_availabilities(self, obj) -> list[dict]:
        return WorkingHourSerializer(obj.working_hours.all(), many=True, context=self.context).data

    @extend_schema_field(inline_serializer("ProviderRequestable", {"location_id": serializers.IntegerField()}, many=True))
    def get_provider_requestables(self, obj) -> list[dict]:
        """Where patients can request this provider: their location, while they have active working hours."""
        return [{"location_id": obj.location_id}] if any(h.active for h in obj.working_hours.all()) else []


class PatientSerializer(FastModelSerializer):
    name = serializers.CharField()
    guarantor_id = serializers.IntegerField(allow_null=True)
    provider_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Patient
        fields = ["id", "email", "first_name", "middle_name", "last_name", "name", "created_at", "updated_at",
                  "institution_id", "foreign_id", "foreign_id_type", "bio", "inactive", "last_sync_time",
                  "guarantor_id", "billing_type", "chart_id", "preferred_language", "provider_id"]


class PatientDetailSerializer(PatientSerializer):
    location_ids = serializers.SerializerMethodField()

    class Meta(PatientSerializer.Meta):
        fields = PatientSerializer.Meta.fields + ["location_ids"]

    def get_location_ids(self, obj) -> list[int]:
        return [obj.location_id]


class AppointmentBasicSerializer(FastModelSerializer):
    provider_id = serializers.IntegerField(allow_null=True)
    provider_name = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = ["id", "start_time", "end_time", "confirmed", "location_id", "provider_id", "provider_name"]

    def get_provider_name(self, obj) -> str | None:
        return obj.provider.name if obj.provider else None


class PatientAddressSerializer(serializers.Serializer):
    line_1 = serializers.CharField(allow_null=True)
    line_2 = serializers.CharField(allow_null=True)
    city = serializers.CharField(allow_null=True)
    region = serializers.CharField(allow_null=True)
    postal_code = serializers.CharField(allow_null=True)


class PatientWithVisitsSerializer(PatientDetailSerializer):
    """GET /patients/{id}: the patient with address and visits (callers prefetch `visits`, newest first)."""

    address = serializers.SerializerMethodField()
    appointments = serializers.SerializerMethodField()
    upcoming_appts = serializers.SerializerMethodField()

    class Meta(PatientDetailSerializer.Meta):
        fields = PatientDetailSerializer.Meta.fields + ["address", "appointments", "upcoming_appts"]

    @extend_schema_field(PatientAddressSerializer)
    def get_address(self, obj) -> dict:
        bio = obj.bio or {}
        return {"line_1": bio.get("street_address") or bio.get("address_line_1"), "line_2": bio.get("address_line_2"),
                "city": bio.get("city"), "region": bio.get("state"), "postal_code": bio.get("zip_code")}

    @extend_schema_field(AppointmentBasicSerializer(many=True))
    def get_appointments(self, obj) -> list[dict]:
        return AppointmentBasicSerializer(obj.visits, many=True).data

    @extend_schema_field(AppointmentBasicSerializer(many=True))
    def get_upcoming_appts(self, obj) -> list[dict]:
        now = self.context["now"]
        upcoming = [a for a in reversed(obj.visits) if a.start_time > now and not a.cancelled]
        return AppointmentBasicSerializer(upcoming, many=True).data


class PatientBasicSerializer(PatientDetailSerializer):
    """What POST /patients answers with: the reference's PatientBasic (no provider_id)."""

    class Meta(PatientDetailSerializer.Meta):
        fields = [f for f in PatientDetailSerializer.Meta.fields if f != "provider_id"]


class CreatedPatientSerializer(serializers.Serializer):
    user = PatientBasicSerializer()


class AppointmentSerializer(FastModelSerializer):
    provider_name = serializers.SerializerMethodField()
    timezone = serializers.SerializerMethodField()
    timezone_offset = serializers.SerializerMethodField()
    patient_id = serializers.IntegerField(allow_null=True)
    provider_id = serializers.IntegerField(allow_null=True)
    operatory_id = serializers.IntegerField(allow_null=True)
    appointment_type_id = serializers.IntegerField(allow_null=True)
    created_by_user_id = serializers.SerializerMethodField()
    is_past_patient = serializers.SerializerMethodField()
    patient_confirmed = serializers.SerializerMethodField()
    patient_confirmed_at = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = ["id", "patient_id", "provider_id", "provider_name", "start_time", "end_time", "confirmed",
                  "confirmed_at", "patient_missed", "created_at", "updated_at", "note", "unavailable", "cancelled",
                  "cancelled_at", "timezone", "timezone_offset", "institution_id", "appointment_type_id", "checkin_at",
                  "checked_out", "checked_out_at", "location_id", "foreign_id", "foreign_id_type", "misc",
                  "last_sync_time", "created_by_user_id", "sooner_if_possible", "operatory_id",
                  "is_new_clients_patient", "is_guardian", "is_past_patient", "patient_confirmed",
                  "patient_confirmed_at", "referrer"]

    def get_is_past_patient(self, obj) -> bool:
        return not obj.is_new_clients_patient

    def get_patient_confirmed(self, obj) -> bool:
        # Chairside sends patients no confirmation requests: no patient confirmed through it.
        return False

    def get_patient_confirmed_at(self, obj) -> str | None:
        return None

    def get_provider_name(self, obj) -> str | None:
        return obj.provider.name if obj.provider else None

    def get_timezone(self, obj) -> str:
        return obj.location.tz

    def get_timezone_offset(self, obj) -> str:
        return utc_offset(obj.location.tz, obj.start_time)

    def get_created_by_user_id(self, obj) -> int | None:
        return None


class AppointmentEnvelopeDataSerializer(serializers.Serializer):
    appt = AppointmentSerializer()


class EmrSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    display_name = serializers.CharField()
    type = serializers.ChoiceField(choices=["cloud", "onprem"])


class SyncStatusSerializer(serializers.Serializer):
    institution_id = serializers.IntegerField()
    sync_source_type = serializers.CharField()
    sync_source_name = serializers.CharField()
    emr = EmrSerializer()
    read_status = serializers.ChoiceField(choices=["green", "red"])
    read_status_at = serializers.DateTimeField(allow_null=True)
    write_status = serializers.ChoiceField(choices=["green", "red"])
    write_status_at = serializers.DateTimeField(allow_null=True)
    locations = LocationBasicSerializer(many=True)

    def to_representation(self, row: dict) -> dict:
        """Rows come ready from sync_status_row; only times and locations need converting (10,000 rows a call)."""
        tz = self.fields["locations"].child.fast_tz
        location = self.fields["locations"].child.to_representation
        return {**row, "read_status_at": iso_datetime(row["read_status_at"], tz),
                "write_status_at": iso_datetime(row["write_status_at"], tz),
                "locations": [location(loc) for loc in row["locations"]]}


EMR_IDS = {name: n for n, name in enumerate(CATALOG, start=1)}


def sync_source(ehr: str) -> dict:
    """The part of a sync_status row that depends on the health record system only."""
    entry = CATALOG[ehr]
    return {"sync_source_type": "synchronizer" if entry.emr_type == "onprem" else "cloud",
            "sync_source_name": f"{entry.label} Synchronizer",
            "emr": {"id": EMR_IDS[entry.name], "name": entry.name, "display_name": entry.label, "type": entry.emr_type}}


def sync_status_row(sync: Sync, now: datetime, *, locations: list | None = None) -> dict:
    """One sync's row of GET /api/sync_status; its locations are `locations`, else sync.active_locations."""
    return {
        "institution_id": sync.institution_id,
        **sync_source(sync.ehr),
        **sync.health(now),
        "locations": sync.active_locations if locations is None else locations,
    }


class SlotSerializer(serializers.Serializer):
    time = serializers.CharField()
    end_time = serializers.CharField()
    operatory_id = serializers.IntegerField(allow_null=True)
    provider_id = serializers.IntegerField()


class AvailableSlotsSerializer(serializers.Serializer):
    lid = serializers.IntegerField()
    pid = serializers.IntegerField(allow_null=True)
    operatory_id = serializers.IntegerField(allow_null=True)
    slots = SlotSerializer(many=True)
    next_available_date = serializers.DateField(allow_null=True)


class CreatedWorkingHourSerializer(WorkingHourSerializer):
    """What POST /working_hours answers with: the reference's shape has no appointment types."""

    class Meta(WorkingHourSerializer.Meta):
        fields = [f for f in WorkingHourSerializer.Meta.fields if f != "appointment_types"]


class AppointmentPatientSerializer(PatientBriefSerializer):
    """The patient inside an appointment; its guarantor only with include[]=guarantor."""

    location_ids = serializers.SerializerMethodField()
    guarantor = PersonSerializer(required=False)

    class Meta(PatientBriefSerializer.Meta):
        fields = PatientBriefSerializer.Meta.fields + ["location_ids", "guarantor"]

    def to_representation(self, instance) -> dict:
        data = super().to_representation(instance)
        if data["guarantor"] is None or "guarantor" not in (self.context.get("include") or ()):
            del data["guarantor"]
        return data

    def get_location_ids(self, obj) -> list[int]:
        return [obj.location_id]


class BookingDetailsSerializer(serializers.Serializer):
    booked_via_nexhealth_generated_link = serializers.BooleanField()
    booked_via_one_click = serializers.BooleanField()


class AppointmentOperatorySerializer(OperatorySerializer):
    class Meta(OperatorySerializer.Meta):
        fields = [f for f in OperatorySerializer.Meta.fields if f != "appointment_types"]


class AppointmentDetailSerializer(AppointmentSerializer):
    """GET /appointments/{id}: expansions only when include[] names them (callers select and prefetch them)."""

    expansions = ("patient", "descriptors", "booking_details", "procedures", "operatory", "appointment_type")
    patient = AppointmentPatientSerializer(required=False)
    descriptors = AppointmentDescriptorSerializer(many=True, required=False)
    booking_details = serializers.SerializerMethodField()
    procedures = ProcedureSerializer(many=True, required=False)
    operatory = AppointmentOperatorySerializer(required=False)
    appointment_type = AppointmentTypeSerializer(required=False)

    class Meta(AppointmentSerializer.Meta):
        fields = AppointmentSerializer.Meta.fields + ["patient", "descriptors", "booking_details", "procedures",
                                                      "operatory", "appointment_type"]

    def to_representation(self, instance) -> dict:
        include = self.context.get("include") or ()
        wanted = set(include) | ({"patient"} if "guarantor" in include else set())
        data = {name: read(self, instance) for name, read in self.fast_plan()
                if name not in self.expansions or name in wanted}
        # Objects the reference declares non-nullable: absent rather than null when the appointment has none.
        return {k: v for k, v in data.items() if v is not None or k not in self.expansions}

    @extend_schema_field(BookingDetailsSerializer)
    def get_booking_details(self, obj) -> dict:
        # Chairside has no booking links or campaigns: nothing was booked through one.
        return {"booked_via_nexhealth_generated_link": False, "booked_via_one_click": False}


class CoveragePlanSerializer(FastModelSerializer):
    class Meta:
        model = InsurancePlan
        fields = ["id", "name", "payer_id", "group_num", "employer_name", "address", "address2", "city", "state",
                  "zip_code", "country_code", "foreign_id", "deleted_at", "updated_at"]


class PatientCoverageSerializer(FastModelSerializer):
    patient_id = serializers.IntegerField(allow_null=True)
    plan_id = serializers.IntegerField(allow_null=True)
    plan = CoveragePlanSerializer(required=False)
    subscriber = SubscriberSerializer(required=False)

    class Meta:
        model = InsuranceCoverage
        fields = ["id", "patient_id", "plan_id", "priority", "subscriber_num", "subscription_relation",
                  "effective_date", "expiration_date", "plan", "subscriber"]

    def to_representation(self, instance) -> dict:
        return {k: v for k, v in super().to_representation(instance).items()
                if v is not None or k not in ("plan", "subscriber")}


class VisitSerializer(AppointmentBasicSerializer):
    provider_id = serializers.IntegerField()  # the reference's last visit always names its provider


class PatientChartSerializer(PatientWithVisitsSerializer):
    """GET /patients/{id} with include[]: the chart's records come from the view (one query per kind asked for)."""

    expansions = ("children", "guarantor", "provider", "procedures", "insurance_coverages", "adjustments", "charges",
                  "payments", "patient_alerts", "last_visited_appointment")
    children = PersonSerializer(many=True, required=False, source="chart_children")
    guarantor = PersonSerializer(required=False)
    provider = ProviderPersonSerializer(required=False)
    procedures = ProcedureDetailSerializer(many=True, required=False, source="chart_procedures")
    insurance_coverages = PatientCoverageSerializer(many=True, required=False, source="chart_insurance_coverages")
    adjustments = AdjustmentSerializer(many=True, required=False, source="chart_adjustments")
    charges = ChargeBriefSerializer(many=True, required=False, source="chart_charges")
    payments = PaymentSerializer(many=True, required=False, source="chart_payments")
    patient_alerts = PatientAlertSerializer(many=True, required=False, source="chart_patient_alerts")
    last_visited_appointment = VisitSerializer(required=False)

    class Meta(PatientWithVisitsSerializer.Meta):
        fields = PatientWithVisitsSerializer.Meta.fields + ["children", "guarantor", "provider", "procedures",
                                                            "insurance_coverages", "adjustments", "charges",
                                                            "payments", "patient_alerts", "last_visited_appointment"]

    def to_representation(self, instance) -> dict:
        include = self.context.get("include") or ()
        data = {name: read(self, instance) for name, read in self.fast_plan()
                if name not in self.expansions or name in include}
        return {k: v for k, v in data.items() if v is not None or k not in self.expansions}
