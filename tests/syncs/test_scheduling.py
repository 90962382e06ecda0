import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.urls import reverse

from institutions.models import Institution, TimelineEvent
from portal.models import AuditEvent, OutboundEmail
from portal.tasks import relay_outbound_emails
from syncs import services, scheduling
from syncs.models import EngineerSlot, Sync, SyncStatus
from syncs.tasks import send_install_reminders
from tests.conftest import require_service
from tests.factories import InstitutionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)  # a Monday; Los Angeles is on PDT (UTC-7)
WED_10_PDT = datetime(2025, 6, 4, 17, 0, tzinfo=UTC)
TAKEN = "That slot was just booked by someone else. Pick another one."


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def practice(cast) -> Institution:
    return InstitutionFactory(name="Orchard Orthodontics, Inc.", subdomain="orchard", tz="America/Los_Angeles",
                              contact_email="it@orchard.example", created_by=cast.acme)


@pytest.fixture
def sync(cast, practice) -> Sync:
    return services.sync_create(institution=practice, option_key="dolphin", actor=cast.alice, organization=cast.acme)


@pytest.fixture
def rival(cast) -> Sync:
    """Another organization's scheduled sync, competing for the same engineers."""
    practice = InstitutionFactory(name="Rival Dental", subdomain="rival", tz="America/Los_Angeles",
                                  contact_email="it@rival.example", created_by=cast.other)
    return services.sync_create(institution=practice, option_key="practiceworks", actor=cast.olivia,
                                  organization=cast.other)


def slot_at(starts_at: datetime, engineer: str = "Sam Rivera") -> EngineerSlot:
    return EngineerSlot.objects.create(engineer=engineer, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))


def book(client, sync: Sync, slot_id):
    return client.post(reverse("syncs:schedule", args=[sync.code]), {"slot_id": slot_id})


def ics_of(message) -> dict[str, str]:
    """Parse the attached invitation strictly enough to trust a calendar client with it."""
    (name, content, mimetype), = message.attachments
    assert name == "install.ics" and mimetype.startswith("text/calendar; method=")
    physical = content.split("\r\n")
    assert physical[-1] == "" and all("\n" not in line and "\r" not in line for line in physical)  # CRLF only
    assert all(len(line.encode()) <= 75 for line in physical)
    lines = content.replace("\r\n ", "").split("\r\n")[:-1]  # unfold
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"] and lines[-1] == "END:VCALENDAR"
    assert lines.index("BEGIN:VEVENT") < lines.index("END:VEVENT")
    properties = dict(line.split(":", 1) for line in lines)
    assert mimetype.endswith(properties["METHOD"])
    return {key.split(";")[0]: value for key, value in properties.items()}


# --- The slot picker --------------------------------------------------------------------------------

def test_the_picker_lists_only_open_future_slots_by_day_in_the_practice_time_zone(alice_client, cast, sync, rival):
    wed_morning = slot_at(WED_10_PDT)
    wed_late = slot_at(datetime(2025, 6, 5, 6, 30, tzinfo=UTC))  # Thursday in UTC, still Wednesday in Los Angeles
    thursday = slot_at(datetime(2025, 6, 5, 17, 0, tzinfo=UTC))
    hidden = [slot_at(NOW - timedelta(hours=3)), slot_at(NOW + timedelta(hours=5)), slot_at(WED_10_PDT, "Kim Lee")]
    scheduling.slot_book(sync=rival, slot_id=hidden[2].pk, actor=cast.olivia, organization=cast.other)

    response = alice_client.get(reverse("syncs:schedule", args=[sync.code]))

    assert response.status_code == 200
    assert [[s.pk for s in day.slots] for day in response.context["days"]] == [[wed_morning.pk, wed_late.pk], [thursday.pk]]
    page = response.content.decode()
    assert "Wednesday 4 June 2025" in page and "Thursday 5 June 2025" in page
    assert "10:00–11:00 PDT" in page and "23:30–00:30 PDT" in page and "17:00–18:00 UTC" in page
    assert "America/Los_Angeles" in page
    assert all(f'value="{slot.pk}"' not in page for slot in hidden)
    assert f'href="{reverse("institutions:detail", args=["orchard"])}"' in page


def test_the_picker_says_when_there_is_no_slot(alice_client, sync):
    response = alice_client.get(reverse("syncs:schedule", args=[sync.code]))

    assert "No open installation slots right now. Chairside support adds new ones every week" in response.content.decode()


# --- Booking ----------------------------------------------------------------------------------------

def test_any_member_books_a_slot_and_gets_a_calendar_invitation(bob_client, cast, sync):
    slot = slot_at(WED_10_PDT)

    response = book(bob_client, sync, slot.pk)

    assert response.status_code == 302 and response["Location"] == reverse("syncs:detail", args=[sync.code])
    sync.refresh_from_db()
    slot.refresh_from_db()
    assert sync.status == SyncStatus.INSTALL_SCHEDULED
    assert (slot.sync, slot.booked_by, slot.reminder_sent_at) == (sync, cast.bob, None)
    event = TimelineEvent.objects.get(verb="sync.install_scheduled")
    assert (event.organization, event.actor) == (cast.acme, cast.bob)
    assert "Wednesday 4 June 2025, 10:00–11:00 PDT (America/Los_Angeles)" in event.message
    assert AuditEvent.objects.filter(verb="sync.install_scheduled", actor=cast.bob, organization=cast.acme).exists()

    (message,) = mail.outbox
    assert message.to == ["bob@acme.example"]
    assert "Wednesday 4 June 2025, 10:00–11:00 PDT (America/Los_Angeles)" in message.subject
    assert "Wednesday 4 June 2025, 17:00–18:00 UTC" in message.body
    assert "Windows Administrator" in message.body and "not rebooted" in message.body and "about one hour" in message.body
    assert "Orchard Orthodontics, Inc." in message.alternatives[0][0]
    ics = ics_of(message)
    assert ics["METHOD"] == "REQUEST" and ics["STATUS"] == "CONFIRMED"
    assert (ics["DTSTART"], ics["DTEND"]) == ("20250604T170000Z", "20250604T180000Z")
    assert ics["UID"].startswith(f"install-{sync.code}@") and ics["DTSTAMP"].endswith("Z")
    assert ics["SUMMARY"] == "Chairside Synchronizer installation: Orchard Orthodontics\\, Inc."
    assert ics["ORGANIZER"].startswith("mailto:") and "Administrator" in ics["DESCRIPTION"]

    page = bob_client.get(response["Location"]).content.decode()
    assert "Installation booked for Wednesday 4 June 2025" in page
    assert "Reschedule" in page and reverse("syncs:schedule_cancel", args=[sync.code]) in page and "<dialog" in page


def test_the_sync_page_offers_to_schedule_while_awaiting(alice_client, sync):
    page = alice_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()

    assert f'href="{reverse("syncs:schedule", args=[sync.code])}"' in page and "Schedule installation" in page
    assert "Cancel installation" not in page


def test_a_slot_cannot_be_booked_twice(alice_client, olivia_client, cast, sync, rival):
    slot = slot_at(WED_10_PDT)
    other = slot_at(WED_10_PDT + timedelta(hours=1))
    book(alice_client, sync, slot.pk)

    response = book(olivia_client, rival, slot.pk)

    assert response.status_code == 409
    assert TAKEN in response.content.decode()
    assert f'value="{other.pk}"' in response.content.decode()  # re-rendered with what is still open
    rival.refresh_from_db()
    slot.refresh_from_db()
    assert rival.status == SyncStatus.AWAITING_SCHEDULE and slot.sync == sync
    assert [m.to for m in mail.outbox] == [["alice@acme.example"]]
    with pytest.raises(scheduling.SlotTaken):
        scheduling.slot_book(sync=rival, slot_id=slot.pk, actor=cast.olivia, organization=cast.other)


def test_rescheduling_moves_the_booking_and_frees_the_old_slot(alice_client, cast, sync):
    first, second = slot_at(WED_10_PDT), slot_at(WED_10_PDT + timedelta(days=1))
    book(alice_client, sync, first.pk)
    EngineerSlot.objects.filter(pk=first.pk).update(reminder_sent_at=NOW)

    response = book(alice_client, sync, second.pk)

    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.sync, first.booked_by, first.booked_at, first.reminder_sent_at) == (None, None, None, None)
    assert (second.sync, second.booked_by) == (sync, cast.alice)
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.INSTALL_SCHEDULED
    assert "Moved the installation to Thursday 5 June 2025" in TimelineEvent.objects.get(verb="sync.install_rescheduled").message
    old, new = ics_of(mail.outbox[0]), ics_of(mail.outbox[1])
    assert new["UID"] == old["UID"] and int(new["SEQUENCE"]) > int(old["SEQUENCE"])  # updates the same calendar event
    assert new["DTSTART"] == "20250605T170000Z"
    picker = alice_client.get(reverse("syncs:schedule", args=[sync.code]))
    assert [s.pk for day in picker.context["days"] for s in day.slots] == [first.pk]
    assert "Reschedule installation" in picker.content.decode()


def test_cancelling_frees_the_slot_and_asks_for_a_new_time(alice_client, bob_client, cast, sync):
    slot = slot_at(WED_10_PDT)
    book(alice_client, sync, slot.pk)

    response = bob_client.post(reverse("syncs:schedule_cancel", args=[sync.code]))

    assert response.status_code == 302
    slot.refresh_from_db()
    assert slot.sync is None and slot.booked_by is None
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.AWAITING_SCHEDULE
    event = TimelineEvent.objects.get(verb="sync.install_cancelled")
    assert event.organization == cast.acme and "Wednesday 4 June 2025" in event.message
    cancelled = mail.outbox[-1]
    assert cancelled.to == ["bob@acme.example"] and cancelled.subject.startswith("Cancelled:")
    ics = ics_of(cancelled)
    assert (ics["METHOD"], ics["STATUS"]) == ("CANCEL", "CANCELLED")
    assert ics["UID"] == ics_of(mail.outbox[0])["UID"]
    assert "The installation was cancelled" in bob_client.get(response["Location"]).content.decode()


def test_an_email_for_a_booking_that_moved_before_delivery_is_not_sent(alice_client, sync, monkeypatch):
    from portal import tasks

    first, second = slot_at(WED_10_PDT), slot_at(WED_10_PDT + timedelta(days=1))
    monkeypatch.setattr(tasks.deliver_outbound_email, "apply_async", lambda *a, **k: None)  # broker lost them
    book(alice_client, sync, first.pk)
    book(alice_client, sync, second.pk)
    monkeypatch.undo()

    with time_machine.travel(NOW + timedelta(minutes=2)):
        assert relay_outbound_emails() == 2

    assert [ics_of(m)["DTSTART"] for m in mail.outbox] == ["20250605T170000Z"]
    assert OutboundEmail.objects.filter(kind="install_scheduled", skipped_at__isnull=False).count() == 1


# --- Who and when -----------------------------------------------------------------------------------

def test_other_organizations_get_404(olivia_client, alice_client, sync):
    slot = slot_at(WED_10_PDT)

    assert olivia_client.get(reverse("syncs:schedule", args=[sync.code])).status_code == 404
    assert book(olivia_client, sync, slot.pk).status_code == 404
    book(alice_client, sync, slot.pk)
    assert olivia_client.post(reverse("syncs:schedule_cancel", args=[sync.code])).status_code == 404
    assert EngineerSlot.objects.get(pk=slot.pk).sync_id == sync.pk


@pytest.mark.parametrize("slot_id", ["", "abc", "-1", "999999", "99999999999999999999", "past", "too-soon"])
def test_a_slot_that_is_not_offered_is_404(alice_client, sync, slot_id):
    ids = {"past": slot_at(NOW - timedelta(days=1)).pk, "too-soon": slot_at(NOW + timedelta(hours=23)).pk}

    assert book(alice_client, sync, ids.get(slot_id, slot_id)).status_code == 404
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.AWAITING_SCHEDULE


def test_only_scheduled_installs_waiting_or_booked_can_be_booked_or_cancelled(alice_client, cast, practice, sync):
    slot = slot_at(WED_10_PDT)
    self_installed = services.sync_create(institution=practice, option_key="dentrix", actor=cast.alice,
                                            organization=cast.acme)

    response = alice_client.get(reverse("syncs:schedule", args=[self_installed.code]), follow=True)
    assert "it has no engineer installation to schedule" in response.content.decode()

    nothing = alice_client.post(reverse("syncs:schedule_cancel", args=[sync.code]), follow=True)
    assert "nothing to cancel" in nothing.content.decode()

    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.FAILED)
    refused = book(alice_client, sync, slot.pk)
    assert refused.status_code == 302
    assert "can no longer be scheduled" in alice_client.get(refused["Location"]).content.decode()
    assert EngineerSlot.objects.get(pk=slot.pk).sync is None and mail.outbox == []


# --- Reminders --------------------------------------------------------------------------------------

def test_a_reminder_goes_out_once_a_day_ahead(alice_client, sync):
    slot = slot_at(WED_10_PDT)
    book(alice_client, sync, slot.pk)
    mail.outbox.clear()

    with time_machine.travel(WED_10_PDT - timedelta(hours=25)):
        assert send_install_reminders() == 0
    with time_machine.travel(WED_10_PDT - timedelta(hours=23, minutes=50)):
        assert send_install_reminders() == 1
        assert send_install_reminders() == 0
    with time_machine.travel(WED_10_PDT - timedelta(hours=2)):
        assert send_install_reminders() == 0

    assert sorted(m.to[0] for m in mail.outbox) == ["alice@acme.example", "it@orchard.example"]
    assert all(m.subject.startswith("Reminder:") and "10:00–11:00 PDT" in m.subject for m in mail.outbox)
    assert "Windows Administrator" in mail.outbox[0].body
    assert EngineerSlot.objects.get(pk=slot.pk).reminder_sent_at is not None


# --- Support console --------------------------------------------------------------------------------

def test_support_copies_a_week_of_slots_to_the_next(client):
    staff = UserFactory(email="support@chairside.example", is_staff=True, is_superuser=True)
    client.force_login(staff)
    monday = [slot_at(WED_10_PDT + timedelta(hours=h)) for h in range(3)]
    slot_at(WED_10_PDT + timedelta(days=7))  # already published
    url = reverse("admin:syncs_engineerslot_changelist")

    assert client.get(url, {"sync__isempty": "1"}).status_code == 200
    response = client.post(url, {"action": "copy_to_next_week", "_selected_action": [s.pk for s in monday]}, follow=True)

    assert "Added 2 slots a week later (1 already existed)" in response.content.decode()
    assert EngineerSlot.objects.filter(starts_at__gte=WED_10_PDT + timedelta(days=7)).count() == 3


# --- Concurrency (PostgreSQL) -----------------------------------------------------------------------

@pytest.mark.services
def test_two_developers_racing_for_one_slot_exactly_one_wins(cast, sync, rival, monkeypatch):
    require_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    slot = slot_at(WED_10_PDT)
    barrier = threading.Barrier(2, timeout=10)
    claim = scheduling._claim

    def claim_together(**kwargs) -> bool:
        barrier.wait()  # both transactions issue the conditional UPDATE at the same moment
        return claim(**kwargs)

    monkeypatch.setattr(scheduling, "_claim", claim_together)
    outcomes: dict[str, str] = {}

    def attempt(target: Sync, actor, organization) -> None:
        try:
            scheduling.slot_book(sync=target, slot_id=slot.pk, actor=actor, organization=organization)
            outcomes[actor.email] = "won"
        except scheduling.SlotTaken:
            outcomes[actor.email] = "taken"
        except Exception as error:  # surfaced by the assertion below
            outcomes[actor.email] = repr(error)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=attempt, args=(sync, cast.alice, cast.acme)),
               threading.Thread(target=attempt, args=(rival, cast.olivia, cast.other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes.values()) == ["taken", "won"], outcomes
    winner = sync if outcomes["alice@acme.example"] == "won" else rival
    loser = rival if winner == sync else sync
    slot.refresh_from_db()
    assert slot.sync_id == winner.pk
    assert Sync.objects.get(pk=winner.pk).status == SyncStatus.INSTALL_SCHEDULED
    assert Sync.objects.get(pk=loser.pk).status == SyncStatus.AWAITING_SCHEDULE
    assert len(mail.outbox) == 1
