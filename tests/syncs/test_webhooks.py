"""Webhook delivery against a real local HTTP receiver: signature, retry schedule, deactivation, at most once per attempt."""

import base64
import hashlib
import hmac
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import connection

from institutions.models import Institution, InstitutionAccess
from syncs.webhooks import services as webhooks
from portal.models import AuditEvent
from syncs.models import WebhookDelivery, WebhookEndpoint, WebhookSubscription
from syncs.tasks import deliver_webhook, retry_webhooks

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DATA = {"appointment": {"id": 42, "patient_id": 7, "start_time": "2026-03-09T14:00:00.000Z"}}


@dataclass
class Receiver:
    url: str
    statuses: list[int]  # answers to give, in order; 200 once they run out
    requests: list[dict] = field(default_factory=list)


@pytest.fixture
def receiver():
    state = Receiver(url="", statuses=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append({"headers": self.headers, "body": body})  # case-insensitive, as HTTP says
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            if self.path == "/redirect":
                self.send_header("Location", "/elsewhere")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://localhost:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def institution(cast) -> Institution:
    return Institution.objects.get(accesses__organization=cast.acme, is_sandbox=True)


def hook(organization, institution, url: str, *, sandbox=True, event="appointment_insertion") -> WebhookEndpoint:
    endpoint = webhooks.webhook_endpoint_create(organization=organization, sandbox=sandbox, target_url=url)
    WebhookSubscription.objects.create(endpoint=endpoint, institution=institution,
                                       resource_type=webhooks.SUPPORTED_EVENTS[event], event=event)
    return endpoint


def emit(cast, institution, capture, event="appointment_insertion.complete", **extra) -> list[WebhookDelivery]:
    with capture(execute=True):
        return webhooks.webhooks_emit(organization=cast.acme, sandbox=True, institution=institution, event=event,
                                      payload=DATA, **extra)


def test_a_delivery_is_signed_as_the_reference_says(cast, institution, receiver, django_capture_on_commit_callbacks):
    endpoint = hook(cast.acme, institution, receiver.url)

    [delivery] = emit(cast, institution, django_capture_on_commit_callbacks)

    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert headers["Content-Type"] == "application/json"
    timestamp = headers["timestamp"]
    assert datetime.fromisoformat(timestamp)  # ISO 8601
    expected = hmac.new(endpoint.secret_key.encode(), f"{timestamp}.{base64.b64encode(body).decode()}".encode(),
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["signature"], expected)
    assert webhooks.signature_of("wrong secret", timestamp, body) != headers["signature"]
    message = json.loads(body)
    assert message == {"resource_type": "Appointment", "event_name": "appointment_insertion.complete",
                       "event_time": message["event_time"], "data": DATA, "delivery_errors": []}
    delivery.refresh_from_db()
    assert delivery.delivered_at and delivery.next_attempt_at is None
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)


def test_only_matching_active_subscriptions_in_the_mode_get_the_event(cast, institution, receiver,
                                                                      django_capture_on_commit_callbacks):
    mine = hook(cast.acme, institution, receiver.url)
    hook(cast.acme, institution, receiver.url, event="sync_status_read_change")  # another event
    hook(cast.acme, institution, receiver.url, sandbox=False)  # the production endpoint of the same organization
    other_institution = Institution.objects.get(accesses__organization=cast.other, is_sandbox=True)
    hook(cast.other, other_institution, receiver.url)  # another organization
    paused = hook(cast.acme, institution, receiver.url)
    paused.subscriptions.update(active=False)
    off = hook(cast.acme, institution, receiver.url)
    WebhookEndpoint.objects.filter(pk=off.pk).update(active=False)

    deliveries = emit(cast, institution, django_capture_on_commit_callbacks)

    assert [d.endpoint_id for d in deliveries] == [mine.pk]
    assert len(receiver.requests) == 1


def test_nothing_is_sent_once_the_institution_withdrew_access(cast, institution, receiver,
                                                              django_capture_on_commit_callbacks):
    hook(cast.acme, institution, receiver.url)
    InstitutionAccess.objects.filter(organization=cast.acme, institution=institution).update(
        status=InstitutionAccess.Status.REVOKED)

    assert emit(cast, institution, django_capture_on_commit_callbacks) == []
    assert receiver.requests == []


def test_an_unknown_event_is_a_programming_error(cast, institution):
    with pytest.raises(ValueError):
        webhooks.webhooks_emit(organization=cast.acme, sandbox=True, institution=institution, event="patient_created",
                               payload={})


def test_failures_are_retried_on_the_reference_schedule(cast, institution, receiver, django_capture_on_commit_callbacks):
    endpoint = hook(cast.acme, institution, receiver.url)
    receiver.statuses = [500, 503]  # fails twice, then succeeds
    with time_machine.travel(T0, tick=False) as clock:
        [delivery] = emit(cast, institution, django_capture_on_commit_callbacks)
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == T0 + timedelta(seconds=30)
        assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (1, 500, "HTTP 500")
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since == T0

        clock.move_to(T0 + timedelta(seconds=29))
        assert retry_webhooks() == 0
        clock.move_to(T0 + timedelta(seconds=30))
        assert retry_webhooks() == 1
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == T0 + timedelta(seconds=90)  # the reference's "1.5 min" total
        assert delivery.last_status_code == 503

        clock.move_to(T0 + timedelta(seconds=90))
        retry_webhooks()

    delivery.refresh_from_db()
    assert len(receiver.requests) == 3
    assert delivery.attempts == 3 and delivery.delivered_at == T0 + timedelta(seconds=90)
    assert delivery.next_attempt_at is None
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is None  # a success ends the failure run
    assert len({r["body"] for r in receiver.requests}) == 1  # every attempt sends the same message


def test_an_endpoint_failing_for_48_hours_is_deactivated(cast, institution, receiver, django_capture_on_commit_callbacks,
                                                         caplog):
    endpoint = hook(cast.acme, institution, receiver.url)
    receiver.statuses = [500] * 50
    caplog.set_level(logging.INFO, logger="syncs.webhooks.services")
    with time_machine.travel(T0, tick=False) as clock:
        [delivery] = emit(cast, institution, django_capture_on_commit_callbacks)
        sent_at = []
        while (due := WebhookDelivery.objects.get(pk=delivery.pk).next_attempt_at) is not None:
            assert WebhookEndpoint.objects.get(pk=endpoint.pk).active
            clock.move_to(due)
            sent_at.append(due - T0)
            retry_webhooks()

    totals = [timedelta(seconds=s) for s in (30, 90, 210)] + [timedelta(minutes=m) for m in (10, 30)] \
        + [timedelta(hours=h) for h in (2, 5, 10, 24, 48)]
    assert sent_at == totals  # the reference's "total time" of retries 1 to 10
    assert len(receiver.requests) == 11
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.deactivated_reason.startswith("Deactivated after 48 hours of failed deliveries")
    assert AuditEvent.objects.filter(verb="webhook_endpoint.deactivated", organization=cast.acme).exists()
    assert endpoint.secret_key not in caplog.text  # never logged
    assert emit(cast, institution, django_capture_on_commit_callbacks) == []  # nothing more is sent


def test_a_success_in_between_restarts_the_48_hours(cast, institution, receiver, django_capture_on_commit_callbacks):
    endpoint = hook(cast.acme, institution, receiver.url)
    receiver.statuses = [500]
    with time_machine.travel(T0, tick=False) as clock:
        emit(cast, institution, django_capture_on_commit_callbacks)
        clock.move_to(T0 + timedelta(hours=47))
        emit(cast, institution, django_capture_on_commit_callbacks)  # delivered: the failure run ends
        receiver.statuses = [500]
        clock.move_to(T0 + timedelta(hours=49))
        emit(cast, institution, django_capture_on_commit_callbacks)

    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since == T0 + timedelta(hours=49)


def test_a_delivery_is_sent_once_when_its_task_runs_twice(cast, institution, receiver, django_capture_on_commit_callbacks):
    hook(cast.acme, institution, receiver.url)
    with django_capture_on_commit_callbacks(execute=False):  # the broker lost the publish
        [delivery] = webhooks.webhooks_emit(organization=cast.acme, sandbox=True, institution=institution,
                                            event="appointment_insertion.complete", payload=DATA)

    assert deliver_webhook(delivery.pk) is True
    assert deliver_webhook(delivery.pk) is False
    assert retry_webhooks() == 0
    assert len(receiver.requests) == 1


def test_a_second_worker_does_not_send_an_attempt_in_flight(cast, institution, receiver, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    hook(cast.acme, institution, receiver.url)
    with django_capture_on_commit_callbacks(execute=False):
        [delivery] = webhooks.webhooks_emit(organization=cast.acme, sandbox=True, institution=institution,
                                            event="appointment_insertion.complete", payload=DATA)
    real_post, second_worker = webhooks._post, []

    def post_while_another_worker_runs(*args):
        second_worker.append((deliver_webhook(delivery.pk), retry_webhooks()))  # arrives mid-send
        return real_post(*args)

    monkeypatch.setattr(webhooks, "_post", post_while_another_worker_runs)

    assert deliver_webhook(delivery.pk) is True
    assert second_worker == [(False, 0)]
    assert len(receiver.requests) == 1


def test_an_attempt_whose_worker_died_is_sent_again_after_the_lease(cast, institution, receiver,
                                                                    django_capture_on_commit_callbacks):
    hook(cast.acme, institution, receiver.url)
    with time_machine.travel(T0, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=False):
            [delivery] = webhooks.webhooks_emit(organization=cast.acme, sandbox=True, institution=institution,
                                                event="appointment_insertion.complete", payload=DATA)
        # What a claim leaves behind when the worker is killed before it records the outcome.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1, next_attempt_at=T0 + webhooks.CLAIM_LEASE)

        assert retry_webhooks() == 0 and deliver_webhook(delivery.pk) is False
        clock.move_to(T0 + webhooks.CLAIM_LEASE)
        assert retry_webhooks() == 1

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 2


def test_a_lost_publish_is_sent_by_the_periodic_task(cast, institution, receiver, django_capture_on_commit_callbacks):
    hook(cast.acme, institution, receiver.url)
    with django_capture_on_commit_callbacks(execute=False):
        webhooks.webhooks_emit(organization=cast.acme, sandbox=True, institution=institution,
                               event="sync_status_read_change", payload={"sync_status": {"read_status": "green"}})

    assert retry_webhooks() == 0  # no one subscribes to that event
    hook(cast.acme, institution, receiver.url, event="sync_status_read_change")
    with django_capture_on_commit_callbacks(execute=False):
        webhooks.webhooks_emit(organization=cast.acme, sandbox=True, institution=institution,
                               event="sync_status_read_change", payload={"sync_status": {"read_status": "green"}})

    assert retry_webhooks() == 1
    assert json.loads(receiver.requests[0]["body"])["resource_type"] == "SyncStatus"


def test_a_redirect_or_unreachable_target_is_a_failure(cast, institution, receiver, django_capture_on_commit_callbacks):
    endpoint = hook(cast.acme, institution, receiver.url.replace("/hook", "/redirect"))
    receiver.statuses = [302]

    [delivery] = emit(cast, institution, django_capture_on_commit_callbacks)

    delivery.refresh_from_db()
    assert delivery.delivered_at is None and delivery.last_status_code == 302 and len(receiver.requests) == 1
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(target_url="http://localhost:9/closed")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and delivery.last_error.startswith("ConnectionRefusedError")


def test_deliveries_stop_when_the_subscription_is_paused_or_deleted(cast, institution, receiver,
                                                                     django_capture_on_commit_callbacks):
    endpoint = hook(cast.acme, institution, receiver.url)
    receiver.statuses = [500]
    [delivery] = emit(cast, institution, django_capture_on_commit_callbacks)
    endpoint.subscriptions.update(active=False)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)

    assert retry_webhooks() == 0
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is None and "inactive" in delivery.last_error
    assert len(receiver.requests) == 1


def test_the_secret_is_stored_encrypted(cast, institution):
    endpoint = hook(cast.acme, institution, "https://hooks.example.com/x")
    secret = endpoint.secret_key

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {WebhookEndpoint._meta.db_table} WHERE id = %s", [endpoint.pk])
        row = cursor.fetchone()

    assert len(secret) == 32
    assert not any(secret in str(value) for value in row)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret_key == secret
    assert secret not in str(endpoint) and secret not in repr(endpoint)


def test_finished_deliveries_are_pruned_after_30_days(cast, institution, receiver, django_capture_on_commit_callbacks):
    hook(cast.acme, institution, receiver.url)
    with time_machine.travel(T0, tick=False):
        [delivered] = emit(cast, institution, django_capture_on_commit_callbacks)

    assert webhooks.webhooks_prune(now=T0 + timedelta(days=29)) == 0
    assert webhooks.webhooks_prune(now=T0 + timedelta(days=31)) == 1
    assert not WebhookDelivery.objects.filter(pk=delivered.pk).exists()


def test_support_sees_webhooks_in_the_admin_but_never_the_secret(cast, institution, receiver,
                                                                 django_capture_on_commit_callbacks):
    from django.test import Client
    from django.urls import reverse

    from tests.factories import UserFactory

    endpoint = hook(cast.acme, institution, receiver.url)
    emit(cast, institution, django_capture_on_commit_callbacks)
    staff = Client()
    staff.force_login(UserFactory(email="support@chairside.example", is_staff=True, is_superuser=True))

    pages = [reverse(f"admin:syncs_{model}_changelist") for model in ("webhookendpoint", "webhooksubscription",
                                                                       "webhookdelivery")]
    pages.append(reverse("admin:syncs_webhookendpoint_change", args=[endpoint.pk]))
    for page in pages:
        response = staff.get(page)
        assert response.status_code == 200, page
        assert endpoint.secret_key not in response.content.decode()
        assert endpoint.secret_key_encrypted not in response.content.decode()


def countdown_recorder(countdowns: list, entry):
    """apply_async as a broker would take it: the first attempt runs now, ETA tasks are recorded (not run)."""

    def apply_async(args=None, kwargs=None, eta=None, **options):
        if eta is None:
            return deliver_webhook(*args)
        countdowns.append(entry(args, eta))

    return apply_async


def test_retries_keep_the_schedule_from_the_first_attempt_even_when_an_attempt_runs_late(
        cast, institution, receiver, monkeypatch, django_capture_on_commit_callbacks):
    hook(cast.acme, institution, receiver.url)
    receiver.statuses = [500, 500, 500]
    countdowns = []
    monkeypatch.setattr(deliver_webhook, "apply_async", countdown_recorder(countdowns, lambda args, eta: (args, eta)))
    with time_machine.travel(T0, tick=False) as clock:
        [delivery] = emit(cast, institution, django_capture_on_commit_callbacks)
        assert countdowns == [((delivery.pk,), T0 + timedelta(seconds=30))]  # a task waits for the attempt

        clock.move_to(T0 + timedelta(seconds=29))
        assert deliver_webhook(delivery.pk) is False  # an early (or redelivered) message sends nothing
        assert len(receiver.requests) == 1

        clock.move_to(T0 + timedelta(seconds=47))  # the worker was busy: the second attempt runs 17 s late
        deliver_webhook(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == T0 + timedelta(seconds=90)  # still 90 s from the first attempt
        assert countdowns[-1] == ((delivery.pk,), T0 + timedelta(seconds=90))

        clock.move_to(T0 + timedelta(seconds=90))
        deliver_webhook(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == T0 + timedelta(seconds=210)
        assert delivery.first_attempt_at == T0

        clock.move_to(T0 + timedelta(seconds=210))
        assert retry_webhooks() == 1  # the sweep sends what a lost countdown would have
    assert len(receiver.requests) == 4
    assert WebhookDelivery.objects.get(pk=delivery.pk).delivered_at == T0 + timedelta(seconds=210)


def test_far_retries_are_left_to_the_sweep_not_to_long_eta_messages(cast, institution, receiver, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    hook(cast.acme, institution, receiver.url)
    receiver.statuses = [500] * 6
    countdowns = []
    monkeypatch.setattr(deliver_webhook, "apply_async", countdown_recorder(countdowns, lambda args, eta: eta - T0))
    with time_machine.travel(T0, tick=False) as clock:
        [delivery] = emit(cast, institution, django_capture_on_commit_callbacks)
        for total in (30, 90, 210, 600, 1800):
            clock.move_to(T0 + timedelta(seconds=total))
            deliver_webhook(delivery.pk)

    # Tasks wait for the 30 s, 90 s, 210 s and 10 min totals; the 30 min and 2 h ones were more than 15 minutes
    # away when scheduled: the sweep sends them.
    assert countdowns == [timedelta(seconds=s) for s in (30, 90, 210, 600)]
    assert WebhookDelivery.objects.get(pk=delivery.pk).next_attempt_at == T0 + timedelta(hours=2)
