"""The Synchronizer's protocol, /synchronizer/v1/ (see README: "The Synchronizer protocol").

The agent authenticates with its product key once (activate) and then with the agent token it got back.
Errors use the developer API's envelope: 400 validation, 401 bad credential, 409 state conflict,
413 batch too large.
"""

import json
from datetime import datetime

from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.views import APIView

from portal.api.auth import bearer_token
from portal.api.base import validated
from portal.api.envelope import ok
from portal.api.schema import envelope_of
from portal.api.throttling import failed_key_attempts_exceeded, record_failed_key_attempt
from portal.audit import client_ip
from portal import crypto
from syncs.protocol import services as protocol_services
from syncs.protocol.records import BATCH_LIMIT, KINDS, RecordBatch, records_apply
from syncs.models import Sync, WriteJob
from syncs.write_jobs import write_job_complete

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
    """Authenticates and records in ONE indexed UPDATE ... RETURNING: no other read on the hottest path."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(operation_id="synchronizerHeartbeat", tags=["Synchronizer"], request=HeartbeatSerializer,
                   responses=envelope_of(inline_serializer("HeartbeatAnswer", {"write_jobs_pending": serializers.IntegerField()})))
    def post(self, request):
        token = bearer_token(request)
        if token is None:
            raise exceptions.NotAuthenticated("Send the agent token: Authorization: Bearer <agent_token>.")
        beat = validated(HeartbeatSerializer, request.data)
        host = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in beat.get("host", {}).items()}
        now = timezone.now()
        as_db = connection.ops.adapt_datetimefield_value  # raw SQL: adapt aware datetimes as the ORM would
        json_param = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Sync._meta.db_table} SET last_read_at = COALESCE(%s, last_read_at), "
                "last_write_at = COALESCE(%s, last_write_at), agent_version = COALESCE(%s, agent_version), "
                f"host_facts = {json_param} WHERE agent_token_hash = %s RETURNING write_jobs_pending",
                [as_db(min(beat["last_read_at"], now)) if beat.get("last_read_at") else None,
                 as_db(min(beat["last_write_at"], now)) if beat.get("last_write_at") else None,
                 beat.get("agent_version"), json.dumps(host), crypto.fingerprint(token)],
            )
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed("The agent token is invalid or was revoked by a reinstall.")
        return ok({"write_jobs_pending": row[0]})


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
