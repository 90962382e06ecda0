"""The practice-data endpoints: sync status, providers, operatories, appointment types, patients,
appointments, working hours and available slots. Scoping rules live in institutions.scoping."""

from itertools import groupby
from operator import itemgetter

from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers

from institutions.scoping import Scope, reachable_institutions, scope_for, serving_locations
from institutions.serializers import LocationBasicSerializer
from portal.api.base import IdField, ListParams, NexApiView, sort_param
from portal.api.envelope import ok
from portal.api.fast import IsoUtc, iso_datetime
from portal.api.schema import envelope_of
from portal.api.sql_json import RowsAsJson
from portal.audit import client_ip
from syncs import record_writes
from syncs.catalog import CATALOG
from syncs.models import (
    GRACE,
    GREEN,
    HEALTHY_CADENCE,
    RED,
    Appointment,
    AppointmentType,
    Operatory,
    Patient,
    Provider,
    Sync,
    WorkingHour,
)
from syncs.serializers import (
    AppointmentEnvelopeDataSerializer,
    AppointmentSerializer,
    AppointmentTypeSerializer,
    AppointmentTypeWithDescriptorsSerializer,
    AvailableSlotsSerializer,
    CreatedPatientSerializer,
    OperatorySerializer,
    PatientSerializer,
    PatientWithVisitsSerializer,
    ProviderSerializer,
    SyncStatusSerializer,
    WorkingHourSerializer,
    sync_source,
)
from syncs.slots import SlotQuery, available_slots

MAX_SLOT_DAYS = 31


class IdList(serializers.ListField):
    child = IdField()


class SubdomainParams(serializers.Serializer):
    subdomain = serializers.CharField()


class RecordView(NexApiView):
    """Records of one institution, optionally one location: only at locations the organization may reach."""

    def scope(self, params: dict) -> Scope:
        return scope_for(self.client, subdomain=params.get("subdomain"), location_id=params.get("location_id"))

    def records(self, model, scope: Scope):
        queryset = model.objects.filter(institution=scope.institution)
        if scope.location is not None:
            return queryset.filter(location=scope.location)
        return queryset.filter(location__in=serving_locations(self.client, scope.institution))

    def record(self, model, scope: Scope, pk: int):
        obj = self.records(model, scope).filter(pk=pk).first()
        if obj is None:
            raise exceptions.NotFound(f"{model._meta.verbose_name.capitalize()} {pk} was not found.")
        return obj


# --- Sync status -------------------------------------------------------------------------------------

class SyncStatusParams(serializers.Serializer):
    subdomain = serializers.CharField(required=False)
    read_status = serializers.ChoiceField(choices=["green", "red"], required=False)
    write_status = serializers.ChoiceField(choices=["green", "red"], required=False)
    location_ids = IdList(required=False)


class SyncStatusList(NexApiView):
    version_header_required = False

    @extend_schema(operation_id="getSyncStatus", tags=["Sync Status"], parameters=[SyncStatusParams],
                   responses=envelope_of(SyncStatusSerializer, many=True))
    def get(self, request):
        params = self.query(SyncStatusParams)
        institutions = reachable_institutions(self.client)
        if params.get("subdomain"):
            institutions = institutions.filter(subdomain=params["subdomain"])
            if not institutions.exists():
                raise exceptions.PermissionDenied(f"You do not have access to the institution '{params['subdomain']}' with this API key.")
        # One query, one row per serving location of an active sync, values only: an organization may have 10,000
        # syncs in one answer, and model instances, DRF fields, even parsing and printing timestamps cost more than
        # the query (see README: Performance). The database says which side is fresh and prints the times.
        now = timezone.now()
        fresh_since = now - HEALTHY_CADENCE - GRACE
        locations = (serving_locations(self.client).filter(sync__status=Sync.Status.ACTIVE, institution__in=institutions)
                     .annotate(**sync_status_columns(fresh_since)).order_by("sync_id", "id")
                     .values_list(*SYNC_STATUS_COLUMNS, *LOCATION_COLUMNS))
        if params.get("location_ids"):
            locations = locations.filter(pk__in=params["location_ids"])
        data = []
        now_text = iso_datetime(now, timezone.get_current_timezone())
        wanted_read, wanted_write = params.get("read_status"), params.get("write_status")
        for _, group in groupby(locations, key=itemgetter(0)):
            group = list(group)
            _, ehr, read_at, write_at, read_fresh, write_fresh, institution_id, sandbox, since = group[0][:len(SYNC_STATUS_COLUMNS)]
            if sandbox:  # no agent behind the sandbox: always fresh (Sync.health_at)
                read_at = write_at = now_text
                read_fresh = write_fresh = True
            # Sync.health as the API shapes it: expected downtime is still red here, so the schedule plays no part.
            read, write = (GREEN if read_fresh else RED), (GREEN if write_fresh else RED)
            if (wanted_read and wanted_read != read) or (wanted_write and wanted_write != write):
                continue
            # Until the first report the times are the activation's (Sync.health): the reference declares them
            # non-nullable.
            data.append({"institution_id": institution_id, **SOURCE[ehr], "read_status": read,
                         "read_status_at": read_at or since, "write_status": write,
                         "write_status_at": write_at or since,
                         "locations": [location_basic(values[len(SYNC_STATUS_COLUMNS):]) for values in group]})
        return ok(data, count=len(data))


SYNC_STATUS_COLUMNS = ("sync_id", "sync__ehr", "read_at", "write_at", "read_fresh", "write_fresh", "institution_id",
                       "institution__is_sandbox", "since")


def sync_status_columns(fresh_since) -> dict:
    """The annotations behind SYNC_STATUS_COLUMNS: times as text (IsoUtc), freshness as booleans."""
    return {"read_at": IsoUtc("sync__last_read_at"), "write_at": IsoUtc("sync__last_write_at"),
            "read_fresh": ExpressionWrapper(Q(sync__last_read_at__gte=fresh_since), output_field=BooleanField()),
            "write_fresh": ExpressionWrapper(Q(sync__last_write_at__gte=fresh_since), output_field=BooleanField()),
            "since": IsoUtc(Coalesce("sync__activated_at", "sync__status_changed_at")),
            "deactivated": ExpressionWrapper(Q(deactivated_at__isnull=False), output_field=BooleanField())}
SOURCE = {name: sync_source(name) for name in CATALOG}
LOCATION_COLUMNS = (*(f for f in LocationBasicSerializer.Meta.fields if f != "inactive"), "active", "deactivated")


LOCATION_KEYS = LOCATION_COLUMNS[:-2]


def location_basic(values: tuple) -> dict:
    """LocationBasicSerializer's output from LOCATION_COLUMNS (tests/api/test_query_counts.py compares them)."""
    row = dict(zip(LOCATION_KEYS, values))
    row["inactive"] = not values[-2] or bool(values[-1])  # Location.inactive (values[-1]: deactivated)
    return row


# --- Providers -----------------------------------------------------------------------------------------

class ProviderListParams(ListParams):
    location_id = IdField(required=False)
    foreign_id = serializers.CharField(required=False)
    inactive = serializers.BooleanField(required=False, default=False)
    updated_since = serializers.DateTimeField(required=False)
    sort = sort_param("updated_at", "id")
    requestable = serializers.BooleanField(required=False)
    ids = IdList(required=False)


def providers_with_resources(queryset):
    hours = WorkingHour.objects.select_related("location", "label").prefetch_related("appointment_types").order_by("id")
    return queryset.select_related("location__sync").prefetch_related(Prefetch("working_hours", queryset=hours))


class ProviderList(RecordView):
    @extend_schema(operation_id="getProviders", tags=["Providers"], parameters=[ProviderListParams],
                   responses=envelope_of(ProviderSerializer, many=True, paged=True))
    def get(self, request):
        params = self.query(ProviderListParams)
        providers = self.records(Provider, self.scope(params)).filter(inactive=params["inactive"])
        if params.get("foreign_id"):
            providers = providers.filter(foreign_id=params["foreign_id"])
        if params.get("updated_since"):
            providers = providers.filter(updated_at__gte=params["updated_since"])
        if params.get("ids"):
            providers = providers.filter(pk__in=params["ids"])
        page = self.page(providers_with_resources(providers), params)
        return ok(ProviderSerializer(page.items, many=True).data, count=page.count, page_info=page.page_info)


class ProviderDetail(RecordView):
    @extend_schema(operation_id="getProvidersId", tags=["Providers"], parameters=[SubdomainParams],
                   responses=envelope_of(ProviderSerializer))
    def get(self, request, id: int):
        scope = self.scope(self.query(SubdomainParams))
        provider = providers_with_resources(self.records(Provider, scope)).filter(pk=id).first()
        if provider is None:
            raise exceptions.NotFound(f"Provider {id} was not found.")
        return ok(ProviderSerializer(provider).data, count=1)


# --- Operatories --------------------------------------------------------------------------------------

class OperatoryListParams(ListParams):
    location_id = IdField()
    search_name = serializers.CharField(required=False)
    foreign_id = serializers.CharField(required=False)
    updated_since = serializers.DateTimeField(required=False)


class OperatoryList(RecordView):
    @extend_schema(operation_id="getOperatories", tags=["Operatories"], parameters=[OperatoryListParams],
                   responses=envelope_of(OperatorySerializer, many=True, paged=True))
    def get(self, request):
        params = self.query(OperatoryListParams)
        operatories = self.records(Operatory, self.scope(params))
        if params.get("search_name"):
            operatories = operatories.filter(name__icontains=params["search_name"])
        if params.get("foreign_id"):
            operatories = operatories.filter(foreign_id=params["foreign_id"])
        if params.get("updated_since"):
            operatories = operatories.filter(updated_at__gte=params["updated_since"])
        page = self.page(operatories, params)
        return ok(OperatorySerializer(page.items, many=True).data, count=page.count, page_info=page.page_info)


class OperatoryDetail(RecordView):
    @extend_schema(operation_id="getOperatoriesId", tags=["Operatories"], parameters=[SubdomainParams],
                   responses=envelope_of(OperatorySerializer))
    def get(self, request, id: int):
        scope = self.scope(self.query(SubdomainParams))
        return ok(OperatorySerializer(self.record(Operatory, scope, id)).data, count=1)


# --- Appointment types --------------------------------------------------------------------------------

class AppointmentTypeParams(serializers.Serializer):
    subdomain = serializers.CharField()
    location_id = IdField(required=False)


class AppointmentTypeInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    minutes = serializers.IntegerField(min_value=5, max_value=600)
    bookable_online = serializers.BooleanField(required=False)
    parent_type = serializers.ChoiceField(choices=["Institution", "Location"], required=False)
    parent_id = IdField(required=False)
    emr_appt_descriptor_ids = IdList(required=False)


class AppointmentTypeCreateBody(serializers.Serializer):
    location_id = IdField(required=False)
    appointment_type = AppointmentTypeInput()


class AppointmentTypePatchInput(AppointmentTypeInput):
    name = serializers.CharField(max_length=100, required=False)
    minutes = serializers.IntegerField(min_value=5, max_value=600, required=False)


class AppointmentTypePatchBody(serializers.Serializer):
    appointment_type = AppointmentTypePatchInput()


class AppointmentTypeList(RecordView):
    version_header_required = False

    @extend_schema(operation_id="getAppointmentTypes", tags=["Appointment Types"], parameters=[AppointmentTypeParams],
                   responses=envelope_of(AppointmentTypeWithDescriptorsSerializer, many=True))
    def get(self, request):
        scope = self.scope(self.query(AppointmentTypeParams))
        types = self.records(AppointmentType, scope).prefetch_related("descriptors").order_by("id")
        data = AppointmentTypeWithDescriptorsSerializer(types, many=True).data
        return ok(data, count=len(data))

    @extend_schema(operation_id="postAppointmentTypes", tags=["Appointment Types"], parameters=[SubdomainParams],
                   request=AppointmentTypeCreateBody, responses={201: envelope_of(AppointmentTypeSerializer)})
    def post(self, request):
        params = self.query(SubdomainParams)
        body = self.body(AppointmentTypeCreateBody)
        location_id = body.get("location_id") or (
            body["appointment_type"].get("parent_id") if body["appointment_type"].get("parent_type") == "Location" else None)
        if location_id is None:
            raise exceptions.ValidationError({"location_id": "This field is required."})
        scope = scope_for(self.client, subdomain=params["subdomain"], location_id=location_id)
        created = record_writes.appointment_type_create(location=scope.location, data=body["appointment_type"])
        return ok(AppointmentTypeSerializer(created).data, status_code=201, count=1)


class AppointmentTypeDetail(RecordView):
    version_header_required = False

    def _get(self, id: int) -> AppointmentType:
        scope = self.scope(self.query(SubdomainParams))
        appointment_type = self.records(AppointmentType, scope).prefetch_related("descriptors").filter(pk=id).first()
        if appointment_type is None:
            raise exceptions.NotFound(f"Appointment type {id} was not found.")
        return appointment_type

    @extend_schema(operation_id="getAppointmentTypesId", tags=["Appointment Types"], parameters=[SubdomainParams],
                   responses=envelope_of(AppointmentTypeWithDescriptorsSerializer))
    def get(self, request, id: int):
        return ok(AppointmentTypeWithDescriptorsSerializer(self._get(id)).data, count=1)

    @extend_schema(operation_id="patchAppointmentTypesId", tags=["Appointment Types"], parameters=[SubdomainParams],
                   request=AppointmentTypePatchBody, responses=envelope_of(AppointmentTypeSerializer))
    def patch(self, request, id: int):
        appointment_type = self._get(id)
        body = self.body(AppointmentTypePatchBody)
        updated = record_writes.appointment_type_update(appointment_type=appointment_type, data=body["appointment_type"])
        return ok(AppointmentTypeSerializer(updated).data, count=1)

    @extend_schema(operation_id="deleteAppointmentTypesId", tags=["Appointment Types"], parameters=[SubdomainParams],
                   responses={200: envelope_of(AppointmentTypeSerializer)})
    def delete(self, request, id: int):
        appointment_type = self._get(id)
        data = AppointmentTypeSerializer(appointment_type).data
        record_writes.appointment_type_delete(appointment_type=appointment_type, api_key=self.client.api_key,
                                              ip=client_ip(request._request))
        return ok(data, count=1)


# --- Patients ---------------------------------------------------------------------------------------------

class PatientListParams(ListParams):
    location_id = IdField()
    sort = sort_param("id", "updated_at")
    name = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    phone_number = serializers.CharField(required=False)
    date_of_birth = serializers.DateField(required=False)
    inactive = serializers.BooleanField(required=False, allow_null=True, default=None)
    foreign_id = serializers.CharField(required=False)
    updated_since = serializers.DateTimeField(required=False)
    new_patient = serializers.BooleanField(required=False, allow_null=True, default=None)
    non_patient = serializers.BooleanField(required=False, allow_null=True, default=None)
    location_strict = serializers.BooleanField(required=False)


class PatientScopeParams(serializers.Serializer):
    subdomain = serializers.CharField()
    location_id = IdField()


class PatientBioInput(serializers.Serializer):
    date_of_birth = serializers.DateField()
    phone_number = serializers.RegexField(r"^\+?[0-9()\-. ]{7,20}$", error_messages={"invalid": "Enter a phone number."})
    gender = serializers.ChoiceField(choices=["Male", "Female", "Other"], required=False)
    street_address = serializers.CharField(required=False, allow_blank=True)
    address_line_1 = serializers.CharField(required=False, allow_blank=True)
    address_line_2 = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField(required=False, allow_blank=True)
    state = serializers.CharField(required=False, allow_blank=True)
    zip_code = serializers.CharField(required=False, allow_blank=True)
    cell_phone_number = serializers.CharField(required=False, allow_blank=True)
    home_phone_number = serializers.CharField(required=False, allow_blank=True)
    work_phone_number = serializers.CharField(required=False, allow_blank=True)


class PatientInput(serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField()
    bio = PatientBioInput()


class PatientProviderInput(serializers.Serializer):
    provider_id = IdField()


class PatientCreateBody(serializers.Serializer):
    provider = PatientProviderInput()
    patient = PatientInput()
    return_existing_if_match = serializers.BooleanField(required=False, default=False)


# PatientSerializer's `name` (Patient.name: the non-empty first and last names, space-separated) in SQL.
PATIENTS_JSON = RowsAsJson(PatientSerializer, {"name": "concat_ws(' ', NULLIF(t.first_name, ''), NULLIF(t.last_name, ''))"})


class PatientList(RecordView):
    rate_bucket = "records"

    @extend_schema(operation_id="getPatients", tags=["Patients"], parameters=[PatientListParams],
                   responses=envelope_of(PatientSerializer, many=True, paged=True))
    def get(self, request):
        params = self.query(PatientListParams)
        patients = self.records(Patient, self.scope(params))
        if params.get("name"):
            for word in params["name"].split():
                patients = patients.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
        if params.get("email"):
            patients = patients.filter(email__iexact=params["email"])
        if params.get("phone_number"):
            patients = patients.filter(bio__phone_number=params["phone_number"])
        if params.get("date_of_birth"):
            patients = patients.filter(bio__date_of_birth=params["date_of_birth"].isoformat())
        if params.get("inactive") is not None:
            patients = patients.filter(inactive=params["inactive"])
        if params.get("foreign_id"):
            patients = patients.filter(foreign_id=params["foreign_id"])
        if params.get("updated_since"):
            patients = patients.filter(updated_at__gte=params["updated_since"])
        # The page is chosen on ids and the sort's columns alone; its records' JSON is built in one more query.
        page = self.page(patients.only("id", "updated_at"), params)
        return ok(PATIENTS_JSON.page([patient.pk for patient in page.items]), count=page.count,
                  page_info=page.page_info)

    @extend_schema(operation_id="postPatients", tags=["Patients"], parameters=[PatientScopeParams],
                   request=PatientCreateBody, responses={201: envelope_of(CreatedPatientSerializer)})
    def post(self, request):
        scope = self.scope(self.query(PatientScopeParams))
        body = self.body(PatientCreateBody)
        data = body["patient"]
        if body["return_existing_if_match"]:
            existing = self.records(Patient, scope).filter(
                first_name__iexact=data["first_name"], last_name__iexact=data["last_name"],
                bio__date_of_birth=data["bio"]["date_of_birth"].isoformat()).first()
            if existing:
                return ok(CreatedPatientSerializer({"user": existing}).data, status_code=200, count=1)
        data = {**data, "bio": {**data["bio"], "date_of_birth": data["bio"]["date_of_birth"].isoformat()}}
        patient = record_writes.patient_create(location=scope.location, provider_id=body["provider"]["provider_id"], data=data)
        return ok(CreatedPatientSerializer({"user": patient}).data, status_code=201, count=1)


class PatientDetail(RecordView):
    rate_bucket = "records"

    @extend_schema(operation_id="getPatientsId", tags=["Patients"], parameters=[SubdomainParams],
                   responses=envelope_of(PatientWithVisitsSerializer))
    def get(self, request, id: int):
        scope = self.scope(self.query(SubdomainParams))
        visits = Appointment.objects.select_related("provider").order_by("-start_time")
        patient = self.records(Patient, scope).prefetch_related(
            Prefetch("appointments", queryset=visits, to_attr="visits")).filter(pk=id).first()
        if patient is None:
            raise exceptions.NotFound(f"Patient {id} was not found.")
        return ok(PatientWithVisitsSerializer(patient, context={"now": timezone.now()}).data, count=1)


# --- Appointments ------------------------------------------------------------------------------------------

class AppointmentListParams(ListParams):
    location_id = IdField(required=False)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    cancelled = serializers.BooleanField(required=False, allow_null=True, default=None)
    unavailable = serializers.BooleanField(required=False, allow_null=True, default=None)
    updated_since = serializers.DateTimeField(required=False)
    appointment_type_id = IdField(required=False)
    foreign_id = serializers.CharField(required=False)
    sort = sort_param("updated_at", "id")
    patient_ids = IdList(required=False)
    provider_ids = IdList(required=False)
    operatory_ids = IdList(required=False)

    def validate(self, attrs):
        if not attrs.get("location_id") and not attrs.get("foreign_id"):
            raise serializers.ValidationError({"location_id": "Provide location_id or foreign_id."})
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "Must not be before start."})
        return attrs


class AppointmentInput(serializers.Serializer):
    patient_id = IdField()
    provider_id = IdField()
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField(required=False)
    operatory_id = IdField(required=False)
    appointment_type_id = IdField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    unavailable = serializers.BooleanField(required=False)
    is_new_clients_patient = serializers.BooleanField(required=False)
    is_guardian = serializers.BooleanField(required=False)
    referrer = serializers.CharField(required=False, allow_blank=True, max_length=200)


class AppointmentCreateBody(serializers.Serializer):
    appt = AppointmentInput()


class AppointmentPatchInput(serializers.Serializer):
    cancelled = serializers.BooleanField(required=False)
    confirmed = serializers.BooleanField(required=False)
    checkin_at = serializers.DateTimeField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    start_time = serializers.DateTimeField(required=False)
    end_time = serializers.DateTimeField(required=False)
    operatory_id = IdField(required=False)


class AppointmentPatchBody(serializers.Serializer):
    appt = AppointmentPatchInput()


def appointments_with_resources(queryset):
    return queryset.select_related("location", "provider")


# AppointmentSerializer's computed fields in SQL: the provider's name (Provider.name), the location's time zone and
# its UTC offset at the start time, printed as utc_offset prints it ('-06:00'), and the reference's constants.
APPOINTMENTS_JSON = RowsAsJson(AppointmentSerializer, {
    "provider_name": "CASE WHEN p.id IS NULL THEN NULL "
                     "ELSE concat_ws(' ', NULLIF(p.first_name, ''), NULLIF(p.last_name, '')) END",
    "timezone": "l.tz",
    "timezone_offset": "CASE WHEN o.minutes < 0 THEN '-' ELSE '+' END || lpad((abs(o.minutes) / 60)::text, 2, '0') "
                       "|| ':' || lpad(mod(abs(o.minutes), 60)::text, 2, '0')",
    "created_by_user_id": "NULL::integer",
    "is_past_patient": "NOT t.is_new_clients_patient",
    "patient_confirmed": "false",
    "patient_confirmed_at": "NULL::text",
}, joins=(
    "JOIN institutions_location l ON l.id = t.location_id LEFT JOIN syncs_provider p ON p.id = t.provider_id "
    "CROSS JOIN LATERAL (SELECT (EXTRACT(EPOCH FROM (t.start_time AT TIME ZONE l.tz) - (t.start_time AT TIME ZONE "
    "'UTC')) / 60)::integer AS minutes) o"), select_related=("location", "provider"))


class AppointmentList(RecordView):
    rate_bucket = "records"

    @extend_schema(operation_id="getAppointments", tags=["Appointments"], parameters=[AppointmentListParams],
                   responses=envelope_of(AppointmentSerializer, many=True, paged=True))
    def get(self, request):
        params = self.query(AppointmentListParams)
        appointments = self.records(Appointment, self.scope(params)).filter(
            start_time__gte=params["start"], start_time__lte=params["end"])
        filters = {
            "cancelled": params.get("cancelled"), "unavailable": params.get("unavailable"),
            "appointment_type_id": params.get("appointment_type_id"), "foreign_id": params.get("foreign_id"),
            "updated_at__gte": params.get("updated_since"), "patient_id__in": params.get("patient_ids"),
            "provider_id__in": params.get("provider_ids"), "operatory_id__in": params.get("operatory_ids"),
        }
        appointments = appointments.filter(**{k: v for k, v in filters.items() if v is not None and v != []})
        # The page is chosen on ids and the sort's columns alone; its records' JSON is built in one more query.
        page = self.page(appointments.only("id", "updated_at"), params)
        return ok(APPOINTMENTS_JSON.page([appointment.pk for appointment in page.items]), count=page.count,
                  page_info=page.page_info)

    @extend_schema(operation_id="postAppointments", tags=["Appointments"], parameters=[PatientScopeParams],
                   request=AppointmentCreateBody, responses={201: envelope_of(AppointmentEnvelopeDataSerializer)})
    def post(self, request):
        scope = self.scope(self.query(PatientScopeParams))
        body = self.body(AppointmentCreateBody)
        appointment = record_writes.appointment_create(location=scope.location, data=body["appt"])
        appointment = appointments_with_resources(Appointment.objects).get(pk=appointment.pk)
        return ok({"appt": AppointmentSerializer(appointment).data}, status_code=201, count=1)


class AppointmentDetail(RecordView):
    rate_bucket = "records"

    def _get(self, id: int) -> Appointment:
        scope = self.scope(self.query(SubdomainParams))
        appointment = appointments_with_resources(self.records(Appointment, scope)).filter(pk=id).first()
        if appointment is None:
            raise exceptions.NotFound(f"Appointment {id} was not found.")
        return appointment

    @property
    def version_header_required(self) -> bool:  # GET follows v2 (no header), PATCH v20240412
        return self.request.method != "GET"

    @extend_schema(operation_id="getAppointmentsId", tags=["Appointments"], parameters=[SubdomainParams],
                   responses=envelope_of(AppointmentSerializer))
    def get(self, request, id: int):
        return ok(AppointmentSerializer(self._get(id)).data, count=1)

    @extend_schema(operation_id="patchAppointmentsId", tags=["Appointments"], parameters=[SubdomainParams],
                   request=AppointmentPatchBody, responses=envelope_of(AppointmentEnvelopeDataSerializer))
    def patch(self, request, id: int):
        appointment = self._get(id)
        body = self.body(AppointmentPatchBody)
        updated = record_writes.appointment_update(appointment=appointment, data=body["appt"])
        return ok({"appt": AppointmentSerializer(updated).data}, count=1)


# --- Working hours and available slots ---------------------------------------------------------------------

class WorkingHourListParams(ListParams):
    location_id = IdField()
    provider_id = IdField(required=False)
    operatory_id = IdField(required=False)
    active = serializers.BooleanField(required=False, default=True)


class WorkingHourList(RecordView):
    @extend_schema(operation_id="getWorkingHours", tags=["Working Hours"], parameters=[WorkingHourListParams],
                   responses=envelope_of(WorkingHourSerializer, many=True, paged=True))
    def get(self, request):
        params = self.query(WorkingHourListParams)
        hours = self.records(WorkingHour, self.scope(params)).filter(active=params["active"])
        if params.get("provider_id"):
            hours = hours.filter(provider_id=params["provider_id"])
        if params.get("operatory_id"):
            hours = hours.filter(operatory_id=params["operatory_id"])
        page = self.page(hours.select_related("location", "label").prefetch_related("appointment_types"), params)
        data = WorkingHourSerializer(page.items, many=True, context={"now": timezone.now()}).data
        return ok(data, count=page.count, page_info=page.page_info)


class AvailableSlotParams(serializers.Serializer):
    subdomain = serializers.CharField()
    start_date = serializers.DateField()
    days = serializers.IntegerField(min_value=1, max_value=MAX_SLOT_DAYS)
    lids = IdList(allow_empty=False)
    pids = IdList(required=False)
    operatory_ids = IdList(required=False)
    appointment_type_id = IdField(required=False)
    slot_length = serializers.IntegerField(required=False, min_value=5, max_value=480)
    slot_interval = serializers.IntegerField(required=False, min_value=5, max_value=480)

    def validate(self, attrs):
        if not attrs.get("pids") and not attrs.get("appointment_type_id"):
            raise serializers.ValidationError({"pids": "Provide pids[] or appointment_type_id."})
        return attrs


class AvailableSlots(RecordView):
    @extend_schema(operation_id="getAvailableSlots", tags=["Available Slots"], parameters=[AvailableSlotParams],
                   responses=envelope_of(AvailableSlotsSerializer, many=True))
    def get(self, request):
        params = self.query(AvailableSlotParams)
        scope = scope_for(self.client, subdomain=params["subdomain"], location_id=None)
        try:  # the reference has no 404 here: an id that names nothing is a bad parameter
            locations = [scope_for(self.client, subdomain=params["subdomain"], location_id=lid).location
                         for lid in params["lids"]]
            minutes = params.get("slot_length")
            if minutes is None and params.get("appointment_type_id"):
                minutes = self.record(AppointmentType, scope, params["appointment_type_id"]).minutes
        except exceptions.NotFound as error:
            raise exceptions.ValidationError({"lids" if "Location" in str(error.detail) else "appointment_type_id":
                                              str(error.detail)}) from None
        minutes = minutes or 15
        query = SlotQuery(
            locations=locations, start_date=params["start_date"], days=params["days"],
            provider_ids=params.get("pids"), operatory_ids=params.get("operatory_ids"),
            appointment_type_id=params.get("appointment_type_id"), slot_length=minutes,
            slot_interval=params.get("slot_interval") or minutes,
        )
        data = AvailableSlotsSerializer(available_slots(query, now=timezone.now()), many=True).data
        return ok(data, count=len(data))
