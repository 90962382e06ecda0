"""Webhooks, as NexHealth sends them: endpoints and subscriptions, signed POSTs, retries, deactivation.

Emitting writes a WebhookDelivery row per matching subscription in the caller's transaction and publishes a task
after commit. A failed attempt stores the next one's time in the row (the reference's totals since the first
attempt: 30 s, 90 s, 210 s ... 48 h) and publishes a task with that ETA when it is near; the task does nothing
before the row says so, so an early or redelivered message cannot send early. `retry_webhooks` (every 30 s) re-drives
due rows as a safety net, so a broker outage delays messages, never loses them. Each attempt is claimed with a
conditional UPDATE on the row's own columns, which is atomic on SQLite and PostgreSQL alike, so two workers never
send the same attempt.

Targets are resolved once per attempt; in production every address must be public (IPv4 embedded in IPv6
included), and the connection goes to the address that was checked, so DNS rebinding cannot reach the inside.

Wire format (../shared/reference/nexhealth-webhooks-asyncapi.yml): POST application/json with headers `timestamp`
(ISO 8601) and `signature` = hex HMAC-SHA256 of "{timestamp}.{base64(body)}" keyed with the endpoint's secret_key;
body {resource_type, event_name, event_time, data, delivery_errors}.
"""

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.crypto import get_random_string

from institutions.models import Institution
from portal.audit import audit_record
from portal.models import ApiKey, Organization
from portal.outbox import enqueue_on_commit
from syncs.models import WebhookDelivery, WebhookEndpoint, WebhookSubscription

logger = logging.getLogger(__name__)

# The reference's catalog (postWebhookEndpointsIdWebhookSubscriptions), to validate and filter by.
RESOURCE_TYPES = (
    "Adjustment", "AdjustmentType", "Appointment", "Charge", "Claim", "Document", "FeeSchedule", "FormResponse",
    "Message", "Onboarding", "Patient", "PatientInsuranceCoverage", "Payment", "PaymentType", "Procedure",
    "ProcedureCode", "SyncStatus", "TreatmentPlan",
)
EVENTS = (
    "adjustment_created", "adjustment_updated", "adjustment_deleted", "adjustment_insertion",
    "adjustment_type_created", "adjustment_type_updated", "appointment_insertion", "appointment_created",
    "appointment_updated", "appointment_requested", "charge_created", "charge_updated", "charge_deleted",
    "claim_created", "claim_updated", "claim_deleted", "document_insertion", "fee_schedule_created",
    "fee_schedule_updated", "form_response_insertion", "message_created", "message_updated", "onboarding_created",
    "onboarding_updated", "onboarding_availability_ready", "patient_created", "patient_updated",
    "patient_insurance_created", "patient_insurance_updated", "payment_created", "payment_updated", "payment_deleted",
    "payment_insertion", "payment_type_created", "payment_type_updated", "procedure_created", "procedure_updated",
    "procedure_code_created", "procedure_code_updated", "procedure_code_deleted", "sync_status_read_change",
    "sync_status_write_change", "treatment_plan_created", "treatment_plan_updated", "treatment_plan_deleted",
)
# The events Chairside emits, with their resource type. Subscribing to another reference event is a 400 rather
# than a subscription that silently never fires; add an event here once something calls webhooks_emit for it.
SUPPORTED_EVENTS = {
    "sync_status_read_change": "SyncStatus",
    "sync_status_write_change": "SyncStatus",
    "appointment_insertion": "Appointment",  # delivered as appointment_insertion.complete / .failed
}

# The reference's retry schedule: total time since the first attempt, for retries 1 to 10.
RETRY_AFTER = (
    timedelta(seconds=30), timedelta(seconds=90), timedelta(seconds=210), timedelta(minutes=10),
    timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5), timedelta(hours=10), timedelta(hours=24),
    timedelta(hours=48),
)
DEACTIVATE_AFTER = timedelta(hours=48)  # of consecutive failures on an endpoint
SEND_TIMEOUT = 10  # seconds
# A claimed attempt is invisible to other workers this long: more than the send timeout and the task time
# limit, so only a crashed worker's attempt is ever picked up again.
CLAIM_LEASE = timedelta(minutes=5)
DUE_BATCH = 500
# Attempts due sooner than this get a task with an ETA; later ones are left to the sweep. A Redis broker hands an
# unacknowledged ETA message out again after its visibility timeout (1 h), so far-off ETAs would pile up copies.
COUNTDOWN_WITHIN = timedelta(minutes=15)
KEEP_FINISHED = timedelta(days=30)  # payloads may carry PHI: finished deliveries are not kept for ever
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


# --- Endpoints and subscriptions -------------------------------------------------------------------------

def mode_of(sandbox: bool) -> str:
    return ApiKey.Mode.SANDBOX if sandbox else ApiKey.Mode.PRODUCTION


def target_url_clean(url: str) -> str:
    """HTTPS (payloads may carry PHI); plain http only to localhost, and only outside production.
    Production also refuses IP literals that are not public (the send re-checks what a name resolves to)."""
    url = url.strip()
    URLValidator(schemes=["http", "https"])(url)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise ValidationError("The URL must not contain credentials.")
    if parts.scheme == "http" and (settings.PRODUCTION or host not in LOCAL_HOSTS):
        raise ValidationError("Use an https:// URL (plain http is only allowed for localhost outside production).")
    if settings.PRODUCTION and (host in LOCAL_HOSTS or not _is_public_literal(host)):
        raise ValidationError("The URL must point to a public address.")
    return url


def _is_public_literal(host: str) -> bool:
    try:
        return is_public_address(host)
    except ValueError:  # a name, not an address
        return True


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public_address(address: str) -> bool:
    """A globally routable unicast address. IPv6 forms that carry an IPv4 address (mapped ::ffff:, NAT64
    64:ff9b::/96, 6to4 2002::/16, Teredo, the old ::a.b.c.d) are judged by the IPv4 address they reach:
    `is_global` alone passes 64:ff9b::a9fe:a9fe, which a NAT64 gateway turns into 169.254.169.254."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6:
        if ip.ipv4_mapped:
            return is_public_address(str(ip.ipv4_mapped))
        if ip.sixtofour:
            return is_public_address(str(ip.sixtofour))
        if ip.teredo:
            return all(is_public_address(str(part)) for part in ip.teredo)
        if any(ip in network for network in NAT64) or ip in IPV4_COMPATIBLE:
            return is_public_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def webhook_endpoint_create(*, organization: Organization, sandbox: bool, target_url: str,
                            active: bool = True) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(organization=organization, mode=mode_of(sandbox), target_url=target_url, active=active)
    endpoint.secret_key = get_random_string(32)  # ~190 bits, base62
    endpoint.save()
    return endpoint


def webhook_endpoint_update(endpoint: WebhookEndpoint, *, target_url: str | None = None,
                            active: bool | None = None) -> WebhookEndpoint:
    if target_url is not None:
        endpoint.target_url = target_url
    if active is not None:
        if active and not endpoint.active:  # reactivated: the failure run starts over
            endpoint.failing_since, endpoint.deactivated_reason = None, ""
        endpoint.active = active
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_subscription_create(*, endpoint: WebhookEndpoint, institution: Institution, resource_type: str,
                                event: str, active: bool, api_key: ApiKey, ip: str | None = None) -> WebhookSubscription:
    """Raises IntegrityError when the endpoint already subscribes to this event for this institution."""
    subscription = WebhookSubscription.objects.create(endpoint=endpoint, institution=institution,
                                                      resource_type=resource_type, event=event, active=active)
    audit_record(verb="webhook_subscription.created", actor=None, organization=api_key.organization,
                 target=subscription, target_label=f"{event} for {institution.subdomain}", ip=ip,
                 details={"api_key": api_key.display_prefix, "endpoint_id": endpoint.pk, "active": active})
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription, api_key: ApiKey, ip: str | None = None) -> None:
    audit_record(verb="webhook_subscription.deleted", actor=None, organization=api_key.organization,
                 target=subscription, target_label=f"{subscription.event} for {subscription.institution.subdomain}",
                 ip=ip, details={"api_key": api_key.display_prefix, "endpoint_id": subscription.endpoint_id})
    subscription.delete()


def webhook_subscription_update(subscription: WebhookSubscription, *, endpoint: WebhookEndpoint | None = None,
                                active: bool | None = None) -> WebhookSubscription:
    if endpoint is not None:
        subscription.endpoint = endpoint
    if active is not None:
        subscription.active = active
        # The reference: "To reactivate your endpoint you can make a patch request to the subscription or endpoint".
        # Only an endpoint we stopped ourselves; one its owner switched off stays off.
        if active and not subscription.endpoint.active and subscription.endpoint.deactivated_reason:
            webhook_endpoint_update(subscription.endpoint, active=True)
    subscription.save()
    return subscription


# --- Emitting ----------------------------------------------------------------------------------------------

def webhooks_emit(*, organization: Organization, sandbox: bool, institution: Institution, event: str, payload: dict,
                  delivery_errors: list[str] | None = None) -> list[WebhookDelivery]:
    """Queue `event` for every active subscription of `organization`'s active endpoints in that mode and institution.

    `event` is the delivered name: "sync_status_read_change", "sync_status_write_change",
    "appointment_insertion.complete" or "appointment_insertion.failed" (the part before the dot is what clients
    subscribe to). `payload` is the message's `data` object, the resource as our API serves it: for sync status
    {"sync_status": SyncStatusSerializer(sync_status_row(...)).data}; for appointment insertion
    {"appointment": AppointmentSerializer(appointment).data}, with `delivery_errors` (list of strings) on .failed.
    Call it inside the transaction that makes the change: the delivery rows commit with it, the sends start after.
    """
    from syncs.tasks import deliver_webhook  # syncs.tasks imports this module: a real cycle

    subscribed = event.partition(".")[0]
    if subscribed not in SUPPORTED_EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}")
    # An institution that withdrew the organization's access must stop receiving its events at once.
    if not Institution.objects.reachable_by(organization).filter(pk=institution.pk).exists():
        return []
    subscriptions = WebhookSubscription.objects.filter(
        event=subscribed, institution=institution, active=True, endpoint__active=True,
        endpoint__organization=organization, endpoint__mode=mode_of(sandbox),
    ).order_by("id")
    now = timezone.now()
    message = {
        "resource_type": SUPPORTED_EVENTS[subscribed],
        "event_name": event,
        "event_time": now.isoformat().replace("+00:00", "Z"),
        "data": payload,
        "delivery_errors": list(delivery_errors or []),
    }
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(endpoint_id=s.endpoint_id, subscription=s, event=event, payload=message, next_attempt_at=now)
        for s in subscriptions
    ])
    for delivery in deliveries:
        enqueue_on_commit(deliver_webhook, delivery.pk)
    return deliveries


# --- Sending ----------------------------------------------------------------------------------------------

def signature_of(secret_key: str, timestamp: str, body: bytes) -> str:
    signed = f"{timestamp}.{base64.b64encode(body).decode()}".encode()
    return hmac.new(secret_key.encode(), signed, hashlib.sha256).hexdigest()


class TargetRefused(Exception):
    """The target resolves to an address we must not send to."""


def _resolve_once(host: str, port: int) -> str:
    """The one address the attempt connects to. In production every address the name has must be public:
    a name that also points inside is refused, whichever address a later lookup would have picked."""
    addresses = [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    if not addresses:
        raise OSError(f"{host} has no address")
    if settings.PRODUCTION and not all(is_public_address(address) for address in addresses):
        raise TargetRefused("The target resolves to a private address.")
    return addresses[0]


def _connection_to(url: str, address: str) -> tuple[http.client.HTTPConnection, str]:
    """An HTTP(S) connection pinned to `address`: the Host header, TLS SNI and certificate check keep the name."""
    parts = urlsplit(url)
    host, https = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    if https:
        connection = http.client.HTTPSConnection(host, port, timeout=SEND_TIMEOUT, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, port, timeout=SEND_TIMEOUT)
    # http.client opens its socket through this attribute: connect to the checked address, never a new lookup.
    connection._create_connection = lambda _address, timeout, source_address=None: socket.create_connection(
        (address, port), timeout, source_address)
    return connection, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _post(url: str, secret_key: str, body: bytes) -> tuple[int | None, str]:
    """POST the signed body; a redirect is a failure (following it could send PHI, signed, somewhere the owner
    never registered). Returns (status code or None, error text); never includes the secret."""
    parts = urlsplit(url)
    try:
        address = _resolve_once(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except TargetRefused as exc:
        return None, str(exc)
    except (OSError, UnicodeError) as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:500]
    timestamp = timezone.now().isoformat().replace("+00:00", "Z")
    connection, path = _connection_to(url, address)
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json",
            "User-Agent": "Chairside-Webhooks/1.0",
            "timestamp": timestamp,
            "signature": signature_of(secret_key, timestamp, body),
        })
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:500]
    finally:
        connection.close()
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


def next_attempt_time(first_attempt_at, attempts: int):
    """When the next attempt is due after `attempts` failed ones: the reference's total since the first attempt;
    None when the schedule is over."""
    if attempts > len(RETRY_AFTER):
        return None
    return first_attempt_at + RETRY_AFTER[attempts - 1]


def _publish_attempt(delivery_id: int, due) -> None:
    """A task for the next attempt at `due`, when near; the sweep sends the rest (and anything this loses)."""
    from syncs.tasks import deliver_webhook  # syncs.tasks imports this module: a real cycle

    if due - timezone.now() > COUNTDOWN_WITHIN:
        return
    try:
        deliver_webhook.apply_async(args=(delivery_id,), eta=due)
    except Exception as exc:  # the broker is down: the row keeps the time, the sweep sends it
        logger.warning("Could not publish webhook delivery %s (%s); the sweep will send it", delivery_id,
                       exc.__class__.__name__)


def webhook_deliver(delivery_id: int) -> bool:
    """Make the delivery's due attempt, at most once. Returns True if this call delivered it."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.select_related("endpoint", "subscription").filter(pk=delivery_id).first()
    if delivery is None:
        return False
    if not (delivery.endpoint.active and delivery.subscription and delivery.subscription.active):
        _give_up(WebhookDelivery.objects.filter(pk=delivery_id), "The endpoint or subscription is inactive.")
        return False
    # The claim: only one worker's UPDATE matches (next_attempt_at moves past `now`), checked on the row itself.
    # A message that arrives before next_attempt_at (early, or redelivered) matches nothing and sends nothing.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, delivered_at__isnull=True, next_attempt_at__lte=now, attempts=delivery.attempts,
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE,
             first_attempt_at=Coalesce(F("first_attempt_at"), now))
    if not claimed:
        return False
    first_attempt_at = delivery.first_attempt_at or now
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    status, error = _post(endpoint.target_url, endpoint.secret_key, body)
    done = timezone.now()
    if status is not None and 200 <= status < 300:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            delivered_at=done, next_attempt_at=None, last_status_code=status, last_error="")
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        return True
    due = next_attempt_time(first_attempt_at, delivery.attempts + 1)
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        next_attempt_at=due, last_status_code=status, last_error=error)
    logger.info("Webhook delivery %s to endpoint %s failed (attempt %s): %s",
                delivery_id, endpoint.pk, delivery.attempts + 1, error)
    _record_endpoint_failure(endpoint, failed_at=now, error=error)
    if due is not None and WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).exists():
        _publish_attempt(delivery_id, due)
    return False


def _record_endpoint_failure(endpoint: WebhookEndpoint, *, failed_at, error: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=failed_at)
    failing_since = WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True).first()
    if failing_since is None or failed_at - failing_since < DEACTIVATE_AFTER:
        return
    reason = f"Deactivated after 48 hours of failed deliveries (since {failing_since:%Y-%m-%d %H:%M} UTC). Last error: {error}"
    if WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False, deactivated_reason=reason[:300]):
        _give_up(WebhookDelivery.objects.filter(endpoint=endpoint), "The endpoint was deactivated.")
        audit_record(verb="webhook_endpoint.deactivated", actor=None, organization=endpoint.organization,
                     target=endpoint, target_label=endpoint.target_url[:254], details={"reason": reason[:300]})
        logger.warning("Webhook endpoint %s deactivated after 48 hours of failed deliveries", endpoint.pk)


def _give_up(deliveries, why: str) -> int:
    return deliveries.filter(delivered_at__isnull=True, next_attempt_at__isnull=False).update(
        next_attempt_at=None, last_error=why)


def webhooks_due(now=None) -> list[int]:
    """Deliveries whose next attempt is due; those whose endpoint or subscription went inactive are dropped."""
    now = now or timezone.now()
    pending = WebhookDelivery.objects.filter(delivered_at__isnull=True, next_attempt_at__lte=now)
    _give_up(pending.filter(Q(endpoint__active=False) | Q(subscription__isnull=True) | Q(subscription__active=False)),
             "The endpoint or subscription is inactive.")
    return list(pending.order_by("next_attempt_at").values_list("pk", flat=True)[:DUE_BATCH])


def webhooks_prune(now=None) -> int:
    """Delete deliveries finished (delivered or given up) more than KEEP_FINISHED ago."""
    cutoff = (now or timezone.now()) - KEEP_FINISHED
    finished = Q(delivered_at__isnull=False) | Q(next_attempt_at__isnull=True)
    stale = WebhookDelivery.objects.filter(finished, created_at__lt=cutoff).values_list("pk", flat=True)[:DUE_BATCH * 10]
    return WebhookDelivery.objects.filter(pk__in=list(stale)).delete()[0]
