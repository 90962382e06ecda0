"""Sync health at the edges, expected downtime, the sweep and its alerts, diagnosis, Sync Status, reinstall."""

import csv
import io
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from institutions.models import TimelineEvent
from portal.models import AuditEvent
from portal.services import organization_enable_production
from syncs import services
from syncs.health import diagnose
from syncs.freshness import HOURS, hourly_states, strip_svg
from syncs.models import EXPECTED, GREEN, RED, WAITING, DowntimeSchedule, Sync, SyncHealthChange, SyncStatus
from syncs.monitoring import health_sweep
from tests.conftest import require_service
from tests.factories import InstitutionFactory, LocationFactory, SyncFactory

pytestmark = pytest.mark.django_db
# Wednesday 12:00 in Chicago (UTC-6 in winter).
WEDNESDAY_NOON = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)


def active_sync(cast, name="Monitor Dental", ehr="opendental", **fields) -> Sync:
    # Activated before the times these tests sweep at: due at once, as sync_move leaves a sync it activates.
    fields.setdefault("health_deadline_at", WEDNESDAY_NOON - timedelta(days=1))
    sync = SyncFactory(institution__name=name, institution__tz="America/Chicago", institution__created_by=cast.acme,
                       ehr=ehr, **fields)
    LocationFactory(sync=sync, name=f"{name} Main", foreign_id="1", active=True)
    return sync


@pytest.mark.parametrize("minutes_ago, expected", [(0, GREEN), (20, GREEN), (30, GREEN), (31, RED), (None, RED)])
def test_freshness_edges(cast, minutes_ago, expected):
    last = None if minutes_ago is None else WEDNESDAY_NOON - timedelta(minutes=minutes_ago)
    sync = active_sync(cast, last_read_at=last, last_write_at=last)

    health = sync.health_at(WEDNESDAY_NOON)

    assert (health.read, health.write) == (expected, expected)
    assert sync.health(WEDNESDAY_NOON)["read_status"] == expected


@pytest.mark.parametrize("schedule, when, expected", [
    (DowntimeSchedule.NONE, datetime(2026, 11, 19, 4, 0, tzinfo=UTC), RED),           # 22:00 Wed in Chicago
    (DowntimeSchedule.NIGHTS, datetime(2026, 11, 19, 4, 0, tzinfo=UTC), EXPECTED),
    (DowntimeSchedule.NIGHTS, WEDNESDAY_NOON, RED),
    (DowntimeSchedule.WEEKENDS, datetime(2026, 11, 21, 18, 0, tzinfo=UTC), EXPECTED),  # Saturday noon
    (DowntimeSchedule.WEEKENDS, datetime(2026, 11, 19, 4, 0, tzinfo=UTC), RED),
    (DowntimeSchedule.OFFICE_HOURS, datetime(2026, 11, 19, 12, 59, tzinfo=UTC), EXPECTED),  # 06:59 Thursday
    (DowntimeSchedule.OFFICE_HOURS, datetime(2026, 11, 19, 13, 0, tzinfo=UTC), RED),        # 07:00 Thursday
])
def test_expected_downtime_follows_the_practice_clock(cast, schedule, when, expected):
    sync = active_sync(cast, downtime_schedule=schedule, last_read_at=when - timedelta(hours=3))

    assert sync.health_at(when).read == expected
    assert sync.health(when)["read_status"] == (GREEN if expected == GREEN else RED)


def test_the_sweep_records_a_change_once_and_alerts_once(cast, django_capture_on_commit_callbacks):
    active_sync(cast, last_read_at=WEDNESDAY_NOON, last_write_at=WEDNESDAY_NOON)
    later = WEDNESDAY_NOON + timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert health_sweep(later) == 2
        assert health_sweep(later) == 0

    assert list(SyncHealthChange.objects.values_list("kind", "from_health", "to_health")) == [
        ("read", GREEN, RED), ("write", GREEN, RED)]
    alerts = [m for m in mail.outbox if "Sync down" in m.subject]
    assert len(alerts) == 2 and alerts[0].to == ["alice@acme.example"]


def test_expected_downtime_does_not_alert(cast, django_capture_on_commit_callbacks):
    active_sync(cast, downtime_schedule=DowntimeSchedule.NIGHTS, last_read_at=WEDNESDAY_NOON, last_write_at=WEDNESDAY_NOON)

    with django_capture_on_commit_callbacks(execute=True):
        health_sweep(datetime(2026, 11, 19, 4, 0, tzinfo=UTC))

    assert set(SyncHealthChange.objects.values_list("to_health", flat=True)) == {EXPECTED}
    assert mail.outbox == []


def test_reminders_while_down_and_one_recovery_email(cast, settings, django_capture_on_commit_callbacks):
    settings.SYNC_ALERT_REMINDER_HOURS = 4
    sync = active_sync(cast, last_read_at=WEDNESDAY_NOON, last_write_at=WEDNESDAY_NOON)
    with django_capture_on_commit_callbacks(execute=True):
        health_sweep(WEDNESDAY_NOON + timedelta(hours=1))
        health_sweep(WEDNESDAY_NOON + timedelta(hours=2))
        health_sweep(WEDNESDAY_NOON + timedelta(hours=5, minutes=1))
        # What a heartbeat writes for a red sync: fresh times, and due now.
        Sync.objects.filter(pk=sync.pk).update(last_read_at=WEDNESDAY_NOON + timedelta(hours=6),
                                               last_write_at=WEDNESDAY_NOON + timedelta(hours=6),
                                               health_deadline_at=WEDNESDAY_NOON + timedelta(hours=6))
        health_sweep(WEDNESDAY_NOON + timedelta(hours=6))

    subjects = [m.subject.split(":")[0] for m in mail.outbox]
    assert subjects.count("Sync down") == 2  # read and write went down
    assert subjects.count("Still down") == 1
    assert subjects.count("Sync recovered") == 2


def test_concurrent_sweeps_record_each_change_once(transactional_db, cast):
    require_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    active_sync(cast, last_read_at=WEDNESDAY_NOON, last_write_at=WEDNESDAY_NOON)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def sweep():
        try:
            barrier.wait()
            results.append(health_sweep(WEDNESDAY_NOON + timedelta(hours=1)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) in ([0, 2], [1, 1])
    assert SyncHealthChange.objects.count() == 2


def test_diagnosis_in_words(cast):
    silent = active_sync(cast, last_read_at=WEDNESDAY_NOON - timedelta(hours=2),
                         host_facts={"free_disk_mb": 900, "pending_reboot": True,
                                     "service_password_expires_at": "2026-11-01T00:00:00+00:00"})
    cloud = active_sync(cast, name="Cloud Dental", ehr="athena", last_read_at=WEDNESDAY_NOON - timedelta(hours=2))

    causes = " ".join(diagnose(silent, WEDNESDAY_NOON))
    assert "Antivirus" in causes and "reinstall" in causes
    assert "900 MB free" in causes and "password expired" in causes and "reboot pending" in causes
    assert "Only 1 workstation" in " ".join(diagnose(cloud, WEDNESDAY_NOON, coverage=1))


def test_the_sync_status_page_puts_red_first_and_exports_csv(alice_client, cast):
    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    with time_machine.travel(WEDNESDAY_NOON):
        active_sync(cast, name="Aaa Healthy Dental", last_read_at=WEDNESDAY_NOON, last_write_at=WEDNESDAY_NOON)
        active_sync(cast, name="=Zzz Down Dental", last_read_at=WEDNESDAY_NOON - timedelta(days=2))
        page = alice_client.get(reverse("sync_status")).content.decode()
        only_red = alice_client.get(reverse("sync_status"), {"health": "red"}).content.decode()
        exported = alice_client.get(reverse("sync_status"), {"format": "csv"})

    assert page.index("Zzz Down Dental") < page.index("Aaa Healthy Dental")
    assert 'role="img"' in page and "of hours fresh" in page
    assert "Aaa Healthy" not in only_red
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][0] == "institution" and rows[1][0] == "'=Zzz Down Dental"


@pytest.mark.parametrize("name", ["\t=cmd|' /C calc'!A0", "\r=cmd|' /C calc'!A0", "@SUM(1)", "+1 Dental"])
def test_the_sync_status_export_quotes_every_formula_prefix(alice_client, cast, name):
    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    active_sync(cast, name=name)

    exported = alice_client.get(reverse("sync_status"), {"format": "csv"})

    rows = list(csv.reader(io.StringIO(exported.content.decode(), newline="")))
    assert rows[1][0] == f"'{name}"


def test_the_sync_status_page_takes_a_constant_number_of_queries(alice_client, cast):
    from django.test.utils import CaptureQueriesContext

    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(reverse("sync_status")).status_code == 200
        return len(queries)

    active_sync(cast, name="One Dental")
    few = count()
    for n in range(10):
        sync = active_sync(cast, name=f"More Dental {n}")
        SyncHealthChange.objects.create(sync=sync, kind="read", from_health=GREEN, to_health=RED)
    assert count() == few


def test_a_member_sets_expected_downtime_and_it_is_on_the_timeline_and_audited(cast, alice_client):
    sync = active_sync(cast)

    alice_client.post(reverse("syncs:downtime", args=[sync.code]), {"downtime_schedule": DowntimeSchedule.NIGHTS})

    assert Sync.objects.get(pk=sync.pk).downtime_schedule == DowntimeSchedule.NIGHTS
    event = TimelineEvent.objects.get(sync=sync, verb="sync.downtime_changed")
    assert event.message == f"Expected downtime: {DowntimeSchedule.NIGHTS.label}"
    audit = AuditEvent.objects.get(verb="sync.downtime_changed")
    assert (audit.actor, audit.organization, audit.details) == (cast.alice, cast.acme, {"from": "none", "to": "nights"})
    # Consumers of the practice feel it too: the event is shared and names the organization, not Alice.
    assert (event.organization, event.actor_label) == (None, cast.acme.name)


def test_reinstall_keeps_the_ids_and_kills_the_old_agent(cast, alice_client):
    institution = InstitutionFactory(name="Reinstall Dental", created_by=cast.acme)
    sync = services.sync_create(institution=institution, option_key="opendental", actor=cast.alice, organization=cast.acme)
    activate = lambda key: Client().post("/synchronizer/v1/activate", json.dumps({"product_key": key}),  # noqa: E731
                                         content_type="application/json")
    old_token = activate(services.product_key_of(sync)).json()["data"]["agent_token"]
    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.ACTIVE)

    alice_client.post(reverse("syncs:reinstall", args=[sync.code]))
    assert Sync.objects.get(pk=sync.pk).reinstall_requested_at is not None
    new_key = services.sync_issue_reinstall_key(sync=Sync.objects.get(pk=sync.pk), actor=cast.alice)
    beat = Client().post("/synchronizer/v1/heartbeat", "{}", content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {old_token}")
    again = activate(new_key)

    assert beat.status_code == 401
    assert again.status_code == 201 and again.json()["data"]["sync_id"] == sync.code
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.ACTIVE
    assert activate(new_key).status_code == 409


def test_extension_heartbeats_count_coverage_and_refresh_the_sync(cast):
    institution = InstitutionFactory(name="Cloud Dental", created_by=cast.acme)
    sync = services.sync_create(institution=institution, option_key="athena", actor=cast.alice, organization=cast.acme)
    token = services.extension_token_of(sync)

    def beat(workstation: str):
        return Client().post("/synchronizer/v1/extension/heartbeat", json.dumps({"workstation_id": workstation}),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")

    beat("front-desk")
    response = beat("op-3")

    assert response.json()["data"] == {"workstations_last_hour": 2}
    assert Sync.objects.get(pk=sync.pk).last_read_at is not None
    assert Client().post("/synchronizer/v1/extension/heartbeat", "{}", content_type="application/json",
                         HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_health_changes_and_insertion_results_reach_subscribed_webhooks(cast):
    from syncs.models import WebhookDelivery, WebhookSubscription
    from syncs.webhooks.services import SUPPORTED_EVENTS, webhook_endpoint_create

    sync = active_sync(cast, last_read_at=WEDNESDAY_NOON, last_write_at=WEDNESDAY_NOON)
    endpoint = webhook_endpoint_create(organization=cast.acme, sandbox=False, target_url="https://hooks.example.com/chairside")
    WebhookSubscription.objects.create(endpoint=endpoint, institution=sync.institution, event="sync_status_read_change",
                                       resource_type=SUPPORTED_EVENTS["sync_status_read_change"])

    health_sweep(WEDNESDAY_NOON + timedelta(hours=1))

    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "sync_status_read_change"
    assert delivery.payload["data"]["sync_status"]["read_status"] == "red"
    assert delivery.payload["data"]["sync_status"]["institution_id"] == sync.institution_id


def test_the_institution_page_shows_its_syncs_health(alice_client, cast):
    sync = active_sync(cast, name="Page Dental", last_read_at=None, activated_at=datetime.now(UTC) - timedelta(hours=1))

    page = alice_client.get(reverse("institutions:detail", args=[sync.institution.subdomain])).content.decode()

    assert "Read Down" in page and "Write Down" in page


def test_a_sync_that_has_not_reported_yet_is_waiting_then_down_and_alerted(cast, django_capture_on_commit_callbacks):
    sync = active_sync(cast, activated_at=WEDNESDAY_NOON, status_changed_at=WEDNESDAY_NOON)

    waiting = sync.health_at(WEDNESDAY_NOON + timedelta(minutes=29))
    api = sync.health(WEDNESDAY_NOON + timedelta(minutes=29))
    with django_capture_on_commit_callbacks(execute=True):
        assert health_sweep(WEDNESDAY_NOON + timedelta(minutes=29)) == 0  # waiting is not a stored change
        assert health_sweep(WEDNESDAY_NOON + timedelta(minutes=31)) == 2

    assert (waiting.read, waiting.write, waiting.worst) == (WAITING, WAITING, WAITING)
    assert (api["read_status"], api["read_status_at"]) == (RED, WEDNESDAY_NOON)  # the reference's values
    assert sync.health_at(WEDNESDAY_NOON + timedelta(minutes=31)).read == RED
    assert [m for m in mail.outbox if "Sync down" in m.subject]


def test_the_first_heartbeat_ends_the_wait(cast):
    sync = active_sync(cast, activated_at=WEDNESDAY_NOON, last_read_at=WEDNESDAY_NOON + timedelta(minutes=2))

    assert sync.health_at(WEDNESDAY_NOON + timedelta(minutes=5)).read == GREEN
    assert sync.health_at(WEDNESDAY_NOON + timedelta(minutes=5)).write == WAITING


def test_support_completing_an_install_starts_the_wait(cast, alice_client):
    sync = active_sync(cast, status=SyncStatus.CREDENTIALS_SUBMITTED, ehr="dentrixascend", install_path="cloud")  # with a location

    services.sync_complete_install(sync=sync, actor=cast.alice)
    page = alice_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()

    sync.refresh_from_db()
    assert sync.activated_at is not None
    assert "Read waiting" in page and "Waiting for the first heartbeat" in page
    assert "Down" not in page and "Antivirus" not in page


def test_the_strip_is_blank_before_the_sync_went_live(cast):
    sync = active_sync(cast, activated_at=WEDNESDAY_NOON - timedelta(hours=3), last_read_at=WEDNESDAY_NOON)

    states = hourly_states(GREEN, [], WEDNESDAY_NOON, sync.monitored_since)

    assert states[:-3] == [None] * (HOURS - 3) and states[-3:] == [GREEN] * 3
    assert "since the sync went live" in strip_svg(states)
def test_the_sweep_reads_only_syncs_whose_deadline_passed(cast, settings, django_capture_on_commit_callbacks):
    settings.SYNC_ALERT_REMINDER_HOURS = 24
    later = WEDNESDAY_NOON + timedelta(hours=1)
    due = active_sync(cast, last_read_at=WEDNESDAY_NOON, last_write_at=WEDNESDAY_NOON)
    not_due = active_sync(cast, name="Later Dental", last_read_at=WEDNESDAY_NOON, last_write_at=WEDNESDAY_NOON,
                          health_deadline_at=later + timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        assert health_sweep(later) == 2

    assert set(SyncHealthChange.objects.values_list("sync_id", flat=True)) == {due.pk}
    due.refresh_from_db()
    assert due.health_deadline_at == later + timedelta(hours=24)  # nothing changes until data or the reminder
    assert Sync.objects.get(pk=not_due.pk).read_health == GREEN


def test_a_green_sync_is_next_due_when_its_older_side_goes_stale(cast):
    sync = active_sync(cast, last_read_at=WEDNESDAY_NOON, last_write_at=WEDNESDAY_NOON - timedelta(minutes=10))

    health_sweep(WEDNESDAY_NOON)

    sync.refresh_from_db()
    assert sync.health_deadline_at == WEDNESDAY_NOON + timedelta(minutes=20)


def test_a_stale_sync_with_a_schedule_is_due_at_the_next_local_hour(cast):
    sync = active_sync(cast, downtime_schedule=DowntimeSchedule.NIGHTS, last_read_at=WEDNESDAY_NOON,
                       last_write_at=WEDNESDAY_NOON)
    night = datetime(2026, 11, 19, 4, 10, tzinfo=UTC)  # 22:10 in Chicago

    health_sweep(night)

    sync.refresh_from_db()
    assert (sync.read_health, sync.health_deadline_at) == (EXPECTED, datetime(2026, 11, 19, 5, 0, tzinfo=UTC))
