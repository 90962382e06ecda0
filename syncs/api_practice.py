"""Endpoints around the schedule and the chart that are more than a list: working hours (create, read, change,
delete), appointment descriptors, `include[]` on an appointment, patients' documents and alerts, and the
payments and adjustments the API accepts. Writes go through syncs.practice_writes."""

from django.db.models import Prefetch
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from institutions.models import Location
from institutions.scoping import location_in, reachable_institutions, scope_for
from portal.api.base import IdField, NexApiView
from portal.api.envelope import ok
from portal.api.schema import envelope_of
from syncs import api as schedule_api
from syncs import api_records, practice_writes
from syncs.api import IdList, RecordView, SubdomainParams
from syncs.models import (
    WEEKDAYS,
    Adjustment,
    Appointment,
    AppointmentDescriptor,
    AppointmentType,
    Charge,
    InsuranceCoverage,
    Patient,
    PatientAlert,
    PatientDocument,
    Payment,
    Procedure,
    WorkingHour,
)
from syncs.record_serializers import AppointmentDescriptorSerializer, PatientAlertSerializer, PatientDocumentSerializer
from syncs.serializers import (
    AppointmentDetailSerializer,
    CreatedWorkingHourSerializer,
    PatientChartSerializer,
    WorkingHourSerializer,
)


def body_of(request, serializer_class) -> dict:
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


class ScopeParams(serializers.Serializer):
    subdomain = serializers.CharField()
    location_id = IdField()


# --- Working hours --------------------------------------------------------------------------------------

class CustomRecurrenceInput(serializers.Serializer):
    num = serializers.IntegerField(min_value=1, max_value=52)
    unit = serializers.ChoiceField(choices=["", "day", "week", "month"])
    ref = serializers.DateField()


class WorkingHourInput(serializers.Serializer):
    provider_id = IdField(required=False)
    operatory_id = IdField(required=False)
    begin_time = serializers.TimeField(required=False)
    end_time = serializers.TimeField(required=False)
    days = serializers.ListField(child=serializers.ChoiceField(choices=WEEKDAYS), required=False, max_length=7)
    specific_date = serializers.DateField(required=False)
    custom_recurrence = CustomRecurrenceInput(required=False)
    active = serializers.BooleanField(required=False)
    appointment_type_ids = IdList(required=False, max_length=100)


class WorkingHourCreateInput(WorkingHourInput):
    provider_id = IdField()
    begin_time = serializers.TimeField()
    end_time = serializers.TimeField()


class WorkingHourCreateBody(serializers.Serializer):
    working_hour = WorkingHourCreateInput()


class WorkingHourPatchBody(serializers.Serializer):
    working_hour = WorkingHourInput()


def hour_data(data: dict) -> dict:
    if data.get("custom_recurrence"):
        data = {**data, "custom_recurrence": {**data["custom_recurrence"], "ref": data["custom_recurrence"]["ref"].isoformat()}}
    return data


def hours_with_resources(queryset):
    return queryset.select_related("location", "label").prefetch_related("appointment_types")


class WorkingHours(schedule_api.WorkingHourList):
    @extend_schema(operation_id="postWorkingHours", tags=["Working Hours"], parameters=[ScopeParams],
                   request=WorkingHourCreateBody, responses={201: envelope_of(CreatedWorkingHourSerializer)})
    def post(self, request):
        scope = self.scope(self.query(ScopeParams))
        body = body_of(request, WorkingHourCreateBody)
        hour = practice_writes.working_hour_create(location=scope.location, data=hour_data(body["working_hour"]))
        hour = hours_with_resources(WorkingHour.objects).get(pk=hour.pk)
        return ok(CreatedWorkingHourSerializer(hour, context={"now": timezone.now()}).data, status_code=201, count=1)


class WorkingHourDetailParams(SubdomainParams):
    include = serializers.ListField(child=serializers.ChoiceField(choices=["appointment_types"]), required=False)

    def to_internal_value(self, data):
        return super().to_internal_value({key.removesuffix("[]"): value for key, value in data.items()})


class WorkingHourDetail(RecordView):
    reference_lacks = {"DELETE": frozenset({403})}  # an unreachable subdomain is a 404 there

    def _get(self, id: int) -> WorkingHour:
        scope = self.scope(self.query(WorkingHourDetailParams))
        hour = hours_with_resources(self.records(WorkingHour, scope)).filter(pk=id).first()
        if hour is None:
            raise exceptions.NotFound(f"Working hour {id} was not found.")
        return hour

    def _answer(self, hour: WorkingHour):
        return ok(WorkingHourSerializer(hour, context={"now": timezone.now()}).data, count=1)

    @extend_schema(operation_id="getWorkingHoursId", tags=["Working Hours"], parameters=[WorkingHourDetailParams],
                   responses=envelope_of(WorkingHourSerializer))
    def get(self, request, id: int):
        return self._answer(self._get(id))

    @extend_schema(operation_id="patchWorkingHoursId", tags=["Working Hours"], parameters=[SubdomainParams],
                   request=WorkingHourPatchBody, responses=envelope_of(WorkingHourSerializer))
    def patch(self, request, id: int):
        hour = self._get(id)
        body = body_of(request, WorkingHourPatchBody)
        practice_writes.working_hour_update(hour=hour, data=hour_data(body["working_hour"]))
        return self._answer(hours_with_resources(WorkingHour.objects).get(pk=id))

    @extend_schema(operation_id="deleteWorkingHoursId", tags=["Working Hours"], parameters=[SubdomainParams],
                   responses={204: None})
    def delete(self, request, id: int):
        practice_writes.working_hour_delete(hour=self._get(id))
        return Response(status=204)


# --- Appointment descriptors --------------------------------------------------------------------------------

class DescriptorParams(serializers.Serializer):
    subdomain = serializers.CharField()
    location_id = IdField(required=False)
    descriptor_type = serializers.CharField(required=False)


class LocationDescriptorParams(serializers.Serializer):
    descriptor_type = serializers.CharField(required=False)


def descriptors_answer(queryset, params: dict):
    if params.get("descriptor_type"):
        queryset = queryset.filter(descriptor_type__iexact=params["descriptor_type"])
    data = AppointmentDescriptorSerializer(queryset.order_by("id"), many=True).data
    return ok(data, count=len(data))


class AppointmentTypeDescriptors(RecordView):
    version_header_required = False

    @extend_schema(operation_id="getAppointmentTypesIdAppointmentDescriptors", tags=["Appointment Descriptors"],
                   parameters=[DescriptorParams], responses=envelope_of(AppointmentDescriptorSerializer, many=True))
    def get(self, request, id: int):
        params = self.query(DescriptorParams)
        appointment_type = self.record(AppointmentType, self.scope(params), id)
        return descriptors_answer(appointment_type.descriptors.all(), params)


class AppointmentDescriptors(RecordView):
    version_header_required = False

    @extend_schema(operation_id="getAppointmentsIdAppointmentDescriptors", tags=["Appointment Descriptors"],
                   parameters=[DescriptorParams], responses=envelope_of(AppointmentDescriptorSerializer, many=True))
    def get(self, request, id: int):
        params = self.query(DescriptorParams)
        appointment = self.record(Appointment, self.scope(params), id)
        return descriptors_answer(appointment.descriptors.all(), params)


class LocationDescriptors(NexApiView):
    version_header_required = False

    @extend_schema(operation_id="getLocationsIdAppointmentDescriptors", tags=["Appointment Descriptors"],
                   parameters=[LocationDescriptorParams], responses=envelope_of(AppointmentDescriptorSerializer, many=True))
    def get(self, request, id: int):
        params = self.query(LocationDescriptorParams)
        location = Location.objects.filter(pk=id, institution__in=reachable_institutions(self.client)).first()
        if location is None:
            raise exceptions.NotFound(f"Location {id} was not found.")
        try:
            location_in(self.client, location.institution, location.pk)
        except exceptions.PermissionDenied:  # an inactive location: the reference has no 403 here
            raise exceptions.NotFound(f"Location {id} was not found.") from None
        return descriptors_answer(AppointmentDescriptor.objects.filter(location=location), params)


# --- One appointment with include[] ---------------------------------------------------------------------------

APPOINTMENT_INCLUDES = ["patient", "guarantor", "descriptors", "booking_details", "procedures", "operatory",
                        "appointment_type"]


class AppointmentIncludeParams(SubdomainParams):
    include = serializers.ListField(child=serializers.ChoiceField(choices=APPOINTMENT_INCLUDES), required=False)

    def to_internal_value(self, data):
        return super().to_internal_value({key.removesuffix("[]"): value for key, value in data.items()})


class AppointmentDetail(schedule_api.AppointmentDetail):
    @extend_schema(operation_id="getAppointmentsId", tags=["Appointments"], parameters=[AppointmentIncludeParams],
                   responses=envelope_of(AppointmentDetailSerializer))
    def get(self, request, id: int):
        params = self.query(AppointmentIncludeParams)
        scope = self.scope(params)
        appointment = (schedule_api.appointments_with_resources(self.records(Appointment, scope))
                       .select_related("patient__guarantor", "operatory", "appointment_type")
                       .prefetch_related("descriptors", "procedures").filter(pk=id).first())
        if appointment is None:
            raise exceptions.NotFound(f"Appointment {id} was not found.")
        return ok(AppointmentDetailSerializer(appointment, context={"include": params.get("include") or ()}).data,
                  count=1)


# --- One patient with include[] -----------------------------------------------------------------------------

PATIENT_INCLUDES = ["upcoming_appts", "last_visited_appointment", "children", "guarantor", "procedures",
                    "insurance_coverages", "adjustments", "charges", "payments", "patient_alerts", "address", "provider"]
# The chart's kinds: the attribute the serializer reads, and the query of the patient's records.
CHART = {
    "procedures": lambda p: Procedure.objects.filter(patient=p).prefetch_related("treatment_plans"),
    "insurance_coverages": lambda p: InsuranceCoverage.objects.filter(patient=p).select_related("plan", "subscriber"),
    "adjustments": lambda p: Adjustment.objects.filter(patient=p, deleted_at__isnull=True),
    "charges": lambda p: Charge.objects.filter(patient=p, deleted_at__isnull=True),
    "payments": lambda p: Payment.objects.filter(patient=p, deleted_at__isnull=True),
    "patient_alerts": lambda p: PatientAlert.objects.filter(patient=p, disabled_at__isnull=True),
    "children": lambda p: Patient.objects.filter(guarantor=p).exclude(pk=p.pk),
}


class PatientIncludeParams(SubdomainParams):
    include = serializers.ListField(child=serializers.ChoiceField(choices=PATIENT_INCLUDES), required=False)

    def to_internal_value(self, data):
        return super().to_internal_value({key.removesuffix("[]"): value for key, value in data.items()})


class PatientDetail(schedule_api.PatientDetail):
    @extend_schema(operation_id="getPatientsId", tags=["Patients"], parameters=[PatientIncludeParams],
                   responses=envelope_of(PatientChartSerializer))
    def get(self, request, id: int):
        params = self.query(PatientIncludeParams)
        include = params.get("include") or []
        visits = Appointment.objects.select_related("provider").order_by("-start_time")
        patient = (self.records(Patient, self.scope(params)).select_related("guarantor", "provider")
                   .prefetch_related(Prefetch("appointments", queryset=visits, to_attr="visits")).filter(pk=id).first())
        if patient is None:
            raise exceptions.NotFound(f"Patient {id} was not found.")
        now = timezone.now()
        for name in include:
            if name in CHART:
                setattr(patient, f"chart_{name}", list(CHART[name](patient).order_by("id")))
        patient.last_visited_appointment = next(
            (a for a in patient.visits if a.start_time <= now and not a.cancelled and a.provider_id), None)
        return ok(PatientChartSerializer(patient, context={"now": now, "include": include}).data, count=1)


# --- Patients' documents and alerts ------------------------------------------------------------------------------

class PatientRecordView(RecordView):
    version_header_required = False

    def patient(self, params: dict, id: int) -> Patient:
        return self.record(Patient, self.scope({"subdomain": params.get("subdomain")}), id)


class DocumentUpload(serializers.Serializer):
    file = serializers.FileField()
    document_type_id = IdField(required=False)


class PatientDocuments(PatientRecordView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="getPatientsIdDocuments", tags=["Patient Documents"], parameters=[SubdomainParams],
                   responses=envelope_of(PatientDocumentSerializer, many=True))
    def get(self, request, id: int):
        patient = self.patient(self.query(SubdomainParams), id)
        documents = PatientDocument.objects.filter(patient=patient).order_by("id")
        data = PatientDocumentSerializer(documents, many=True, context={"request": request}).data
        return ok(data, count=len(data))

    @extend_schema(operation_id="postPatientsIdDocuments", tags=["Patient Documents"], parameters=[ScopeParams],
                   request={"multipart/form-data": DocumentUpload}, responses={201: envelope_of(PatientDocumentSerializer)})
    def post(self, request, id: int):
        params = self.query(ScopeParams)
        scope = scope_for(self.client, subdomain=params["subdomain"], location_id=params["location_id"])
        patient = self.patient(params, id)
        upload = body_of(request, DocumentUpload)
        document = practice_writes.patient_document_create(patient=patient, location=scope.location, upload=upload["file"],
                                                           document_type_id=upload.get("document_type_id"))
        return ok(PatientDocumentSerializer(document, context={"request": request}).data, status_code=201, count=1)


class PatientDocumentFile(PatientRecordView):
    @extend_schema(operation_id="getPatientsIdDocumentsIdFile", tags=["Patient Documents"], parameters=[SubdomainParams],
                   responses={(200, "application/octet-stream"): bytes})
    def get(self, request, id: int, document_id: int):
        patient = self.patient(self.query(SubdomainParams), id)
        document = PatientDocument.objects.filter(patient=patient, pk=document_id).exclude(file="").first()
        if document is None:
            raise exceptions.NotFound(f"Document {document_id} of patient {id} was not found.")
        return FileResponse(document.file.open("rb"), as_attachment=True, filename=document.filename,
                            content_type=document.content_type)


class AlertListParams(SubdomainParams):
    include_disabled = serializers.BooleanField(required=False, default=False)


class AlertInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class AlertCreateBody(serializers.Serializer):
    patient_alert = AlertInput()


class AlertPatchInput(serializers.Serializer):
    disabled = serializers.BooleanField()


class AlertPatchBody(serializers.Serializer):
    patient_alert = AlertPatchInput()


class PatientAlerts(PatientRecordView):
    @extend_schema(operation_id="getPatientsIdAlerts", tags=["Patient Alerts"], parameters=[AlertListParams],
                   responses=envelope_of(PatientAlertSerializer, many=True))
    def get(self, request, id: int):
        params = self.query(AlertListParams)
        alerts = PatientAlert.objects.filter(patient=self.patient(params, id)).order_by("id")
        if not params["include_disabled"]:
            alerts = alerts.filter(disabled_at__isnull=True)
        data = PatientAlertSerializer(alerts, many=True).data
        return ok(data, count=len(data))

    @extend_schema(operation_id="postPatientsIdAlerts", tags=["Patient Alerts"], parameters=[SubdomainParams],
                   request=AlertCreateBody, responses={201: envelope_of(PatientAlertSerializer)})
    def post(self, request, id: int):
        patient = self.patient(self.query(SubdomainParams), id)
        body = body_of(request, AlertCreateBody)
        alert = practice_writes.patient_alert_create(patient=patient, note=body["patient_alert"]["note"])
        return ok(PatientAlertSerializer(alert).data, status_code=201, count=1)


class PatientAlertDetail(PatientRecordView):
    def _get(self, id: int, alert_id: int) -> PatientAlert:
        patient = self.patient(self.query(SubdomainParams), id)
        alert = PatientAlert.objects.select_related("patient").filter(patient=patient, pk=alert_id).first()
        if alert is None:
            raise exceptions.NotFound(f"Alert {alert_id} of patient {id} was not found.")
        return alert

    @extend_schema(operation_id="getPatientsIdAlertsAlertId", tags=["Patient Alerts"], parameters=[SubdomainParams],
                   responses=envelope_of(PatientAlertSerializer))
    def get(self, request, id: int, alert_id: int):
        return ok(PatientAlertSerializer(self._get(id, alert_id)).data, count=1)

    @extend_schema(operation_id="patchPatientsIdAlertsAlertId", tags=["Patient Alerts"], parameters=[SubdomainParams],
                   request=AlertPatchBody, responses=envelope_of(PatientAlertSerializer))
    def patch(self, request, id: int, alert_id: int):
        alert = self._get(id, alert_id)
        body = body_of(request, AlertPatchBody)
        alert = practice_writes.patient_alert_update(alert=alert, disabled=body["patient_alert"]["disabled"])
        return ok(PatientAlertSerializer(alert).data, count=1)


# --- Payments and adjustments the API accepts ------------------------------------------------------------------

class LedgerInput(serializers.Serializer):
    patient_id = IdField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=500)
    transaction_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    charge_splits = serializers.DictField(required=False)
    provider_splits = serializers.DictField(required=False)


class PaymentInput(LedgerInput):
    payment_type_id = IdField(required=False)
    paid_at = serializers.DateTimeField(required=False)


class AdjustmentInput(LedgerInput):
    adjustment_type_id = IdField(required=False)
    adjusted_at = serializers.DateTimeField(required=False)


class PaymentBody(serializers.Serializer):
    payment = PaymentInput()


class AdjustmentBody(serializers.Serializer):
    adjustment = AdjustmentInput()


def accepted(path: str) -> Response:
    """202 without a body, as the reference answers; Location names the stored record (a production location's
    health record system gets it through the Synchronizer, and its foreign_id appears once written)."""
    return Response(status=202, headers={"Location": path})


class Payments(api_records.VIEWS["payments"][0]):
    @extend_schema(operation_id="postPayments", tags=["Payments"], parameters=[ScopeParams], request=PaymentBody,
                   responses={202: None})
    def post(self, request):
        scope = scope_for(self.client, **self.query(ScopeParams))
        payment = practice_writes.payment_create(location=scope.location, data=body_of(request, PaymentBody)["payment"])
        return accepted(f"/api/payments/{payment.pk}?subdomain={scope.institution.subdomain}")


class Adjustments(api_records.VIEWS["adjustments"][0]):
    @extend_schema(operation_id="postAdjustments", tags=["Adjustments"], parameters=[ScopeParams],
                   request=AdjustmentBody, responses={202: None})
    def post(self, request):
        scope = scope_for(self.client, **self.query(ScopeParams))
        adjustment = practice_writes.adjustment_create(location=scope.location,
                                                       data=body_of(request, AdjustmentBody)["adjustment"])
        return accepted(f"/api/adjustments/{adjustment.pk}?subdomain={scope.institution.subdomain}")

