"""The Synchronizer's protocol, /synchronizer/v1/ (see README: "The Synchronizer protocol").

The agent authenticates with its product key once (activate) and then with the agent token it got back.
Errors use the developer API's envelope: 400 validation, 401 bad credential, 409 state conflict,
413 batch too large.
"""

import json
from datetime import datetime

from django.db import connection
from django.http import FileResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.views import APIView

from portal.api.auth import bearer_token
from portal.api.base import validated
from portal.api.envelope import DESCRIPTIONS, error_body, flatten_errors, ok
from portal.api.schema import envelope_of
from portal.api.throttling import failed_key_attempts_exceeded, record_failed_key_attempt
from portal.audit import client_ip
from portal import crypto
from syncs.protocol import services as protocol_services
from syncs.protocol.records import BATCH_LIMIT, KINDS, RecordBatch, records_apply
from syncs.models import GRACE, GREEN, HEALTHY_CADENCE, Sync, WriteJob
from syncs.write_jobs import write_job_complete, write_job_document

HEARTBEAT_INTERVAL_S = 60


class AgentConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict"


class AgentTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <agent token>`: one indexed lookup by the token's SHA-256."""

    def authenticate(self, request):
        token = bearer_token(request)
        if token is None:
            raise exceptions.NotAuthenticated("Send the agent token: Authorization: Bearer <agent_token>.")
        sync = Sync.objects.select_related("institution").filter(agent_token_hash=crypto.fingerprint(token)).first()
        if sync is None:
            raise exceptions.AuthenticationFailed("The agent token is invalid or was revoked by a reinstall.")
        return AgentClient(sync), sync

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="synchronizer"'


class AgentClient:
    is_authenticated = True

    def __init__(self, sync: Sync) -> None:
        self.sync = sync


class IsAgent:
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, AgentClient)


class AgentView(APIView):
    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [IsAgent]

    @property
    def sync(self) -> Sync:
        return self.request.user.sync

    def body(self, serializer_class) -> dict:
        return validated(serializer_class, self.request.data)


# --- activate ----------------------------------------------------------------------------------------

class HostSerializer(serializers.Serializer):
    hostname = serializers.CharField(max_length=100, required=False, allow_blank=True)
    os = serializers.CharField(max_length=100, required=False, allow_blank=True)
    agent_version = serializers.CharField(max_length=32, required=False, allow_blank=True)


class ActivateSerializer(serializers.Serializer):
    product_key = serializers.CharField(max_length=64)
    host = HostSerializer(required=False)


class Activate(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(operation_id="synchronizerActivate", tags=["Synchronizer"], request=ActivateSerializer,
                   responses={201: envelope_of(inline_serializer("Activation", {
                       "sync_id": serializers.CharField(), "agent_token": serializers.CharField(),
                       "ehr": serializers.CharField(), "heartbeat_interval_s": serializers.IntegerField(),
                       "batch_limit": serializers.IntegerField()}))})
    def post(self, request):
        ip = client_ip(request._request)
        if failed_key_attempts_exceeded(ip):
            raise exceptions.Throttled(wait=60, detail="Too many attempts with invalid product keys. Try again in a minute.")
        body = validated(ActivateSerializer, request.data)
        try:
            sync, token = protocol_services.sync_activate(product_key=body["product_key"], host=body.get("host", {}))
        except protocol_services.ProductKeyInvalid:
            record_failed_key_attempt(ip)
            raise exceptions.AuthenticationFailed("This product key is not valid. Copy it again from the Chairside portal.")
        except protocol_services.ProductKeyUsed:
            raise AgentConflict("This product key was already used. Ask for a reinstall key in the portal.")
        response = ok({"sync_id": sync.code, "agent_token": token, "ehr": sync.ehr,
                       "heartbeat_interval_s": HEARTBEAT_INTERVAL_S, "batch_limit": BATCH_LIMIT}, status_code=201)
        response["Cache-Control"] = "no-store"  # the agent token, shown once
        return response


# --- locations -----------------------------------------------------------------------------------------

class FoundLocationSerializer(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    street_address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    street_address_2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    state = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    zip_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    phone_number = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    tz = serializers.CharField(max_length=64, required=False, default="America/New_York")


class LocationsSerializer(serializers.Serializer):
    locations = FoundLocationSerializer(many=True, allow_empty=False, max_length=500)


class Locations(AgentView):
    @extend_schema(operation_id="synchronizerLocations", tags=["Synchronizer"], request=LocationsSerializer,
                   responses=envelope_of(inline_serializer("LocationsFound", {"count": serializers.IntegerField()})))
    def post(self, request):
        found = self.body(LocationsSerializer)["locations"]
        protocol_services.locations_report(sync=self.sync, found=found)
        return ok({"count": len(found)})


# --- heartbeat (the hot path) ----------------------------------------------------------------------------

class HeartbeatHostSerializer(serializers.Serializer):
    free_disk_mb = serializers.IntegerField(min_value=0, required=False)
    service_password_expires_at = serializers.DateTimeField(required=False, allow_null=True)
    pending_reboot = serializers.BooleanField(required=False)


class HeartbeatSerializer(serializers.Serializer):
    last_read_at = serializers.DateTimeField(required=False, allow_null=True)
    last_write_at = serializers.DateTimeField(required=False, allow_null=True)
    agent_version = serializers.CharField(max_length=32, required=False, allow_blank=True)
    host = HeartbeatHostSerializer(required=False)


class Heartbeat(APIView):
    """Authenticates and records in ONE indexed UPDATE ... RETURNING: no other read on the hottest path.

    10,000 agents send one every 15 s, so the view around the UPDATE is plain Django: the profile showed DRF's
    request wrapping, content negotiation, serializer validation and rendering costing several times the UPDATE.
    This class stays the OpenAPI description; `as_view` serves `heartbeat` with it attached for the schema.
    A body the quick check does not accept goes through HeartbeatSerializer, so errors read as before.
    """

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(operation_id="synchronizerHeartbeat", tags=["Synchronizer"], request=HeartbeatSerializer,
                   responses=envelope_of(inline_serializer("HeartbeatAnswer", {"write_jobs_pending": serializers.IntegerField()})))
    def post(self, request):  # described for the schema; `heartbeat` answers
        raise NotImplementedError

    @classmethod
    def as_view(cls, **initkwargs):
        view = csrf_exempt(heartbeat)
        view.cls, view.initkwargs = cls, initkwargs  # what drf-spectacular reads to describe the endpoint
        view.view_class = cls  # as Django's as_view: the methods it serves (POST) are the class's handlers
        return view


def _aware(value) -> datetime | None | bool:
    """An ISO 8601 string with an offset, None for null, False for anything the serializer must judge."""
    if value is None:
        return None
    if not isinstance(value, str):
        return False
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return False
    return parsed if parsed is not None and parsed.tzinfo is not None else False


def _quick_beat(data) -> dict | None:
    """HeartbeatSerializer's result for the bodies agents send; None for anything else (the serializer decides)."""
    if not isinstance(data, dict):
        return None
    beat = {}
    for name in ("last_read_at", "last_write_at"):
        if name in data:
            if (value := _aware(data[name])) is False:
                return None
            beat[name] = value
    if "agent_version" in data:
        if not isinstance(data["agent_version"], str) or len(data["agent_version"]) > 32:
            return None
        beat["agent_version"] = data["agent_version"].strip()
    if "host" in data:
        host, facts = data["host"], {}
        if not isinstance(host, dict):
            return None
        if "free_disk_mb" in host:
            if type(host["free_disk_mb"]) is not int or host["free_disk_mb"] < 0:
                return None
            facts["free_disk_mb"] = host["free_disk_mb"]
        if "service_password_expires_at" in host:
            if (value := _aware(host["service_password_expires_at"])) is False:
                return None
            facts["service_password_expires_at"] = value
        if "pending_reboot" in host:
            if type(host["pending_reboot"]) is not bool:
                return None
            facts["pending_reboot"] = host["pending_reboot"]
        beat["host"] = facts
    return beat


def _agent_error(status_code: int, message) -> JsonResponse:
    messages = flatten_errors(message) if not isinstance(message, str) else [message]
    response = JsonResponse(error_body(DESCRIPTIONS.get(status_code, "Error"), messages), status=status_code)
    if status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def heartbeat(request):
    if request.method != "POST":
        return _agent_error(405, f'Method "{request.method}" not allowed.')
    token = bearer_token(request)
    if token is None:
        return _agent_error(401, "Send the agent token: Authorization: Bearer <agent_token>.")
    try:
        data = json.loads(request.body or b"{}")
    except ValueError as error:
        return _agent_error(400, f"JSON parse error - {error}")
    beat = _quick_beat(data)
    if beat is None:
        serializer = HeartbeatSerializer(data=data)
        if not serializer.is_valid():
            return _agent_error(400, serializer.errors)
        beat = serializer.validated_data
    host = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in beat.get("host", {}).items()}
    now = timezone.now()
    read_at = min(beat["last_read_at"], now) if beat.get("last_read_at") else None
    write_at = min(beat["last_write_at"], now) if beat.get("last_write_at") else None
    fresh_for = HEALTHY_CADENCE + GRACE
    as_db = connection.ops.adapt_datetimefield_value  # raw SQL: adapt aware datetimes as the ORM would
    postgres = connection.vendor == "postgresql"
    json_param = "%s::jsonb" if postgres else "%s"
    least = "LEAST" if postgres else "MIN"
    # The sweep's deadline (Sync.health_due_at). An all-green sync keeps the deadline it has: the sweep, finding it
    # due, computes the next one from the newest times (once per cadence instead of on every beat), and a beat that
    # changes no indexed column lets PostgreSQL update the row in place (a HOT update). Without a deadline, an
    # all-green sync is next due when its older side goes stale; any other sync is due now, so the sweep notices a
    # recovery within a minute.
    # On PostgreSQL the beat commits asynchronously (its transaction's synchronous_commit off, set in the same
    # statement): it does not wait for the WAL flush, which halves its cost. A crash can lose the last fraction of a
    # second of beats, which the next beat, 15 s later, rewrites; nothing else is committed this way.
    asynchronous = ("WITH asynchronous AS (SELECT set_config('synchronous_commit', 'off', true)) ", "FROM asynchronous ")
    with_async, from_async = asynchronous if postgres else ("", "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"{with_async}UPDATE {Sync._meta.db_table} SET last_read_at = COALESCE(%s, last_read_at), "
            "last_write_at = COALESCE(%s, last_write_at), agent_version = COALESCE(%s, agent_version), "
            f"host_facts = {json_param}, health_deadline_at = CASE WHEN read_health = %s AND write_health = %s "
            f"THEN COALESCE(health_deadline_at, {least}(COALESCE(%s, %s), COALESCE(%s, %s))) "
            f"ELSE {least}(COALESCE(health_deadline_at, %s), %s) END "
            f"{from_async}WHERE agent_token_hash = %s RETURNING write_jobs_pending",
            [as_db(read_at), as_db(write_at), beat.get("agent_version"), json.dumps(host), GREEN, GREEN,
             as_db(read_at + fresh_for) if read_at else None, as_db(now),
             as_db(write_at + fresh_for) if write_at else None, as_db(now), as_db(now), as_db(now),
             crypto.fingerprint(token)],
        )
        row = cursor.fetchone()
    if row is None:
        return _agent_error(401, "The agent token is invalid or was revoked by a reinstall.")
    return JsonResponse({"code": True, "description": "Success", "error": [], "data": {"write_jobs_pending": row[0]}})


# --- records ---------------------------------------------------------------------------------------------

class RecordsSerializer(serializers.Serializer):
    location_foreign_id = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=list(KINDS))
    records = serializers.ListField(child=serializers.DictField(), allow_empty=True)
    deleted = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"At most {BATCH_LIMIT} records a batch."


class Records(AgentView):
    @extend_schema(operation_id="synchronizerRecords", tags=["Synchronizer"], request=RecordsSerializer,
                   responses=envelope_of(inline_serializer("RecordsApplied", {
                       "upserted": serializers.IntegerField(), "deleted": serializers.IntegerField(),
                       "stored": serializers.BooleanField()})))
    def post(self, request):
        if isinstance(request.data, dict) and len(request.data.get("records") or []) + len(request.data.get("deleted") or []) > BATCH_LIMIT:
            raise PayloadTooLarge()
        body = self.body(RecordsSerializer)
        result = records_apply(sync=self.sync, batch=RecordBatch(**body))
        return ok(result)


# --- write jobs ------------------------------------------------------------------------------------------

class WriteJobSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.CharField()
    location_foreign_id = serializers.CharField(source="location.foreign_id")
    payload = serializers.JSONField()


class WriteJobs(AgentView):
    @extend_schema(operation_id="synchronizerWriteJobs", tags=["Synchronizer"],
                   responses=envelope_of(WriteJobSerializer, many=True))
    def get(self, request):
        jobs = WriteJob.objects.filter(sync=self.sync, status=WriteJob.Status.PENDING).select_related("location")[:100]
        data = WriteJobSerializer(jobs, many=True).data
        return ok(data, count=len(data))


class WriteJobResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[WriteJob.Status.COMPLETE, WriteJob.Status.FAILED])
    foreign_id = serializers.CharField(max_length=64, required=False)
    error = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def validate(self, attrs):
        if attrs["status"] == WriteJob.Status.COMPLETE and not attrs.get("foreign_id"):
            raise serializers.ValidationError({"foreign_id": "Required when the job is complete."})
        return attrs


class WriteJobResult(AgentView):
    @extend_schema(operation_id="synchronizerWriteJobResult", tags=["Synchronizer"], request=WriteJobResultSerializer,
                   responses=envelope_of(WriteJobSerializer))
    def post(self, request, job_id):
        result = self.body(WriteJobResultSerializer)
        job = WriteJob.objects.filter(sync=self.sync, public_id=job_id).select_related("location").first()
        if job is None:
            raise exceptions.NotFound(f"Write job {job_id} was not found for this sync.")
        if not write_job_complete(job=job, status=result["status"], foreign_id=result.get("foreign_id", ""),
                                  error=result.get("error", "")):
            raise AgentConflict("This write job was already reported.")
        job.refresh_from_db()
        return ok(WriteJobSerializer(job).data)


class WriteJobFile(AgentView):
    """The bytes of a document write job's file: the agent stores them in the practice's images folder."""

    @extend_schema(operation_id="synchronizerWriteJobFile", tags=["Synchronizer"],
                   responses={(200, "application/octet-stream"): bytes})
    def get(self, request, job_id):
        document = write_job_document(sync=self.sync, job_id=job_id)
        try:
            handle = document.file.open("rb") if document is not None else None
        except FileNotFoundError:  # the row names a file the storage lost: as good as none
            handle = None
        if handle is None:
            raise exceptions.NotFound(f"Write job {job_id} has no document file for this sync.")
        return FileResponse(handle, as_attachment=True, filename=document.filename, content_type=document.content_type)


# --- browser extension (cloud syncs) ------------------------------------------------------------------------

class ExtensionHeartbeatSerializer(serializers.Serializer):
    workstation_id = serializers.CharField(max_length=64)
    last_activity_at = serializers.DateTimeField(required=False)
    extension_version = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class ExtensionHeartbeat(APIView):
    """A workstation's extension is alive: counts toward coverage and refreshes the sync's read/write times."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(operation_id="synchronizerExtensionHeartbeat", tags=["Synchronizer"], request=ExtensionHeartbeatSerializer,
                   responses=envelope_of(inline_serializer("ExtensionCoverage", {"workstations_last_hour": serializers.IntegerField()})))
    def post(self, request):
        token = bearer_token(request)
        sync = Sync.objects.filter(extension_token_hash=crypto.fingerprint(token)).first() if token else None
        if sync is None:
            raise exceptions.AuthenticationFailed("Send this sync's extension token: Authorization: Bearer <token>.")
        body = validated(ExtensionHeartbeatSerializer, request.data)
        coverage = protocol_services.extension_heartbeat_record(
            sync=sync, workstation_id=body["workstation_id"], extension_version=body["extension_version"],
            last_activity_at=body.get("last_activity_at"))
        return ok({"workstations_last_hour": coverage})
