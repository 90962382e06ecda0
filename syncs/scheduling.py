"""Scheduled installs: developers book an hour of a Chairside engineer's time for a sync.

    awaiting_schedule --book--> install_scheduled --reschedule--> install_scheduled
                      <--cancel--

A slot belongs to at most one sync (the OneToOne) and is claimed with one conditional UPDATE, so two
developers clicking the same hour cannot both get it. Every change writes a timeline event, an audit
event and queues an email with an iCalendar invitation; a periodic task sends a reminder a day ahead.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress

from institutions.models import Institution, TimelineEvent
from portal.audit import audit_record
from portal.emails import absolute_url, render_email
from portal.models import Organization, OutboundEmail, User
from portal.outbox import email_builder, outbound_email_queue
from syncs.models import EngineerSlot, InstallPath, Sync, SyncStatus
from institutions.timeline import timeline_record
from syncs.services import TransitionRefused, sync_move

# Engineers prepare each install and the practice's IT needs notice: nothing sooner than a day ahead is offered.
BOOKING_LEAD = timedelta(hours=24)
REMINDER_AHEAD = timedelta(hours=24)
MAX_LISTED = 150  # about three weeks of slots; the picker is not a calendar archive
SCHEDULABLE = (SyncStatus.AWAITING_SCHEDULE, SyncStatus.INSTALL_SCHEDULED)
SLOT_TAKEN = "That slot was just booked by someone else. Pick another one."

# From the installation guide: what the practice prepares before the engineer calls.
PREPARATION = (
    "Someone can sign in to the server where the health record system's database lives, with a Windows "
    "Administrator account.",
    "The practice's IT contact is available for the whole call.",
    "The health record system's database credentials (or its admin user) are at hand.",
    "A remote access tool: the engineer emails a link to join before the call starts.",
    "The server stays on and is not rebooted during the installation.",
    "The installation takes about one hour.",
)

SCHEDULING_VERBS = ("sync.install_scheduled", "sync.install_rescheduled", "sync.install_cancelled")


class SlotTaken(ValidationError):
    """Another sync claimed the slot between the page load and the click."""


@dataclass(frozen=True)
class SlotDay:
    day: date  # in the practice's time zone
    slots: list[EngineerSlot]


def slot_when(slot: EngineerSlot, tz: ZoneInfo) -> str:
    """'Tuesday 3 June 2025, 10:00–11:00 EDT' in the given time zone."""
    start, end = slot.starts_at.astimezone(tz), slot.ends_at.astimezone(tz)
    return f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}–{end:%H:%M} {start:%Z}"


def slot_when_practice(slot: EngineerSlot, institution: Institution) -> str:
    tz = institution.zone
    return f"{slot_when(slot, tz)} ({tz.key})"


def bookable_after(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + BOOKING_LEAD


def open_slots(now: datetime | None = None) -> QuerySet[EngineerSlot]:
    return EngineerSlot.objects.filter(sync__isnull=True, starts_at__gt=bookable_after(now)).order_by("starts_at", "id")


def slots_by_day(slots: list[EngineerSlot], tz: ZoneInfo) -> list[SlotDay]:
    """Group slots (ordered by start) by their day in the practice's time zone, not UTC's."""
    days: dict[date, list[EngineerSlot]] = {}
    for slot in slots:
        days.setdefault(slot.starts_at.astimezone(tz).date(), []).append(slot)
    return [SlotDay(day, day_slots) for day, day_slots in days.items()]


def schedule_refusal(sync: Sync) -> str:
    """Why this sync's installation cannot be booked or cancelled now; empty when it can."""
    if sync.install_path != InstallPath.SCHEDULED:
        return f"This sync is set up by {sync.get_install_path_display().lower()}: it has no engineer installation to schedule."
    if sync.status not in SCHEDULABLE:
        return f"This sync is {SyncStatus(sync.status).label.lower()}: its installation can no longer be scheduled or cancelled."
    return ""


def _lock(sync: Sync) -> None:
    """Serialize book/reschedule/cancel of one sync (two tabs, two teammates) and refresh its state."""
    sync.status, sync.install_path = (Sync.objects.select_for_update().filter(pk=sync.pk)
                                      .values_list("status", "install_path").get())
    refusal = schedule_refusal(sync)
    if refusal:
        raise TransitionRefused(refusal)


def _claim(*, slot_id: int, sync: Sync, actor: User, now: datetime) -> bool:
    """One conditional UPDATE: of two developers booking the same slot, exactly one changes the row."""
    return EngineerSlot.objects.filter(pk=slot_id, sync__isnull=True, starts_at__gt=bookable_after(now)).update(
        sync=sync, booked_by=actor, booked_at=now, reminder_sent_at=None) == 1


def _release(slot: EngineerSlot) -> None:
    EngineerSlot.objects.filter(pk=slot.pk).update(sync=None, booked_by=None, booked_at=None, reminder_sent_at=None)


@transaction.atomic
def slot_book(*, sync: Sync, slot_id: int, actor: User, organization: Organization,
              ip: str | None = None) -> EngineerSlot:
    """Book `slot_id` for the sync; when it already holds a slot this is a reschedule (the old one is freed)."""
    _lock(sync)
    held = EngineerSlot.objects.filter(sync=sync).first()
    if held is not None and held.pk == slot_id and sync.status == SyncStatus.INSTALL_SCHEDULED:
        return held  # a double-submitted form: already booked, nothing to change or email
    # Free the old slot first (the OneToOne allows one slot per sync); if the claim fails, the rollback keeps it.
    if held is not None:
        _release(held)
    now = timezone.now()
    if not _claim(slot_id=slot_id, sync=sync, actor=actor, now=now):
        raise SlotTaken(SLOT_TAKEN)
    slot = EngineerSlot.objects.get(pk=slot_id)
    when = slot_when_practice(slot, sync.institution)
    # A failed install that was started again may still hold its old slot: that is a new booking, not a move.
    rescheduled = sync.status == SyncStatus.INSTALL_SCHEDULED
    if not rescheduled:
        sync_move(sync, from_statuses=[SyncStatus.AWAITING_SCHEDULE], to=SyncStatus.INSTALL_SCHEDULED)
    verb = "sync.install_rescheduled" if rescheduled else "sync.install_scheduled"
    message = f"Moved the installation to {when}" if rescheduled else f"Booked the installation for {when}"
    timeline_record(institution=sync.institution, sync=sync, actor=actor, organization=organization, verb=verb,
                    message=message)
    audit_record(verb=verb, actor=actor, organization=organization, target=sync, target_label=sync.institution.name,
                 ip=ip, details={"slot_id": slot.pk, "starts_at": slot.starts_at.isoformat(), "engineer": slot.engineer,
                                 "previous_slot_id": held.pk if held else None})
    outbound_email_queue(kind="install_scheduled", object_id=str(slot.pk), version=uuid.uuid4().hex,
                         recipient=actor.email)
    return slot


@transaction.atomic
def slot_cancel(*, sync: Sync, actor: User, organization: Organization, ip: str | None = None) -> EngineerSlot | None:
    """Free the sync's slot and go back to awaiting_schedule. Returns the freed slot (None if support removed it)."""
    _lock(sync)
    if sync.status != SyncStatus.INSTALL_SCHEDULED:
        raise TransitionRefused("No installation is booked for this sync, so there is nothing to cancel.")
    held = EngineerSlot.objects.filter(sync=sync).first()
    sync_move(sync, from_statuses=[SyncStatus.INSTALL_SCHEDULED], to=SyncStatus.AWAITING_SCHEDULE)
    if held is not None:
        _release(held)
    when = slot_when_practice(held, sync.institution) if held else "a time to be confirmed"
    timeline_record(institution=sync.institution, sync=sync, actor=actor, organization=organization,
                    verb="sync.install_cancelled", message=f"Cancelled the installation booked for {when}")
    audit_record(verb="sync.install_cancelled", actor=actor, organization=organization, target=sync,
                 target_label=sync.institution.name, ip=ip, details={"slot_id": held.pk if held else None})
    if held is not None:
        # The freed slot no longer names the sync: the sync is the object, the slot rides in the version.
        outbound_email_queue(kind="install_cancelled", object_id=sync.code, version=f"{held.pk}.{uuid.uuid4().hex}",
                             recipient=actor.email)
    return held


def install_reminders_send(now: datetime | None = None) -> int:
    """Queue a reminder for each booked install starting within a day; each slot is claimed, so only once."""
    now = now or timezone.now()
    due = (EngineerSlot.objects.filter(sync__status=SyncStatus.INSTALL_SCHEDULED, reminder_sent_at__isnull=True,
                                       starts_at__gt=now, starts_at__lte=now + REMINDER_AHEAD)
           .values_list("pk", flat=True)[:500])
    sent = 0
    for slot_id in list(due):
        with transaction.atomic():
            # Claim first: an overlapping run (or a second beat) finds reminder_sent_at set and moves on.
            if not EngineerSlot.objects.filter(pk=slot_id, sync__isnull=False, reminder_sent_at__isnull=True).update(
                    reminder_sent_at=now):
                continue
            slot = EngineerSlot.objects.select_related("sync__institution", "booked_by").get(pk=slot_id)
            recipients = {slot.booked_by.email.lower() if slot.booked_by else "",
                          slot.sync.institution.contact_email.lower()} - {""}
            for recipient in sorted(recipients):
                outbound_email_queue(kind="install_reminder", object_id=str(slot.pk), version=uuid.uuid4().hex,
                                     recipient=recipient)
            sent += 1
    return sent


# --- Emails, built at delivery time from ids ------------------------------------------------------

def _uid(sync: Sync) -> str:
    # One event per sync: a reschedule or cancel updates the invitation already in the calendar.
    return f"install-{sync.code}@{urlsplit(settings.PORTAL_BASE_URL).hostname or 'chairside'}"


def _sequence(sync: Sync, outbound: OutboundEmail) -> int:
    """iCalendar SEQUENCE grows with every change of one event: count the sync's bookings and cancellations
    up to this email (each writes its timeline event just before queueing its email)."""
    return TimelineEvent.objects.filter(sync=sync, verb__in=SCHEDULING_VERBS, created_at__lte=outbound.created_at).count()


def install_ics(*, sync: Sync, slot: EngineerSlot, attendee: str, method: str, sequence: int,
                description: str) -> str:
    """An iCalendar invitation (METHOD:REQUEST) or its withdrawal (METHOD:CANCEL), in UTC. The icalendar package
    escapes the text and folds the lines (RFC 5545)."""
    organizer = vCalAddress(f"mailto:{parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or 'no-reply@chairside.local'}")
    organizer.params["CN"] = "Chairside support"
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params.update({"ROLE": "REQ-PARTICIPANT", "RSVP": "FALSE"})
    event = Event()
    event.add("uid", _uid(sync))
    event.add("sequence", sequence)
    event.add("dtstamp", timezone.now().astimezone(UTC))
    event.add("dtstart", slot.starts_at.astimezone(UTC))
    event.add("dtend", slot.ends_at.astimezone(UTC))
    event.add("summary", f"Chairside Synchronizer installation: {sync.institution.name}")
    event.add("description", description)
    event.add("location", "Remote session (the engineer emails a link)")
    event.add("organizer", organizer)
    event.add("attendee", guest)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", "-//Chairside//Installation scheduling//EN")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(event)
    return calendar.to_ical().decode()


def _context(slot: EngineerSlot, sync: Sync) -> dict:
    tz = sync.institution.zone
    return {
        "sync": sync, "institution": sync.institution, "slot": slot, "tz_name": tz.key,
        "when_local": f"{slot_when(slot, tz)} ({tz.key})", "when_utc": slot_when(slot, ZoneInfo("UTC")),
        "preparation": PREPARATION, "url": absolute_url(reverse("syncs:detail", args=[sync.code])),
    }


def _booking_of(outbound: OutboundEmail) -> EngineerSlot | None:
    """The slot if it still holds the booking this email was queued for (same transaction, so booked_at <= created_at)."""
    slot = EngineerSlot.objects.select_related("sync__institution").filter(pk=outbound.object_id).first()
    if slot is None or slot.sync is None or slot.booked_at is None or not outbound.recipient:
        return None
    if slot.booked_at > outbound.created_at or slot.sync.status != SyncStatus.INSTALL_SCHEDULED:
        return None  # moved, cancelled or rebooked since: a later email says so
    return slot


def _description(context: dict) -> str:
    steps = "\n".join(f"- {step}" for step in PREPARATION)
    return (f"A Chairside engineer installs the Synchronizer for {context['institution'].name} "
            f"({context['sync'].get_ehr_display()}).\n{context['when_local']}\n{context['when_utc']}\n\n"
            f"Before the call:\n{steps}\n\n{context['url']}")


@email_builder("install_scheduled")
def install_scheduled_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    slot = _booking_of(outbound)
    if slot is None:
        return None
    context = _context(slot, slot.sync)
    message = render_email(template="install_scheduled", to=outbound.recipient, context=context)
    message.attach("install.ics", install_ics(sync=slot.sync, slot=slot, attendee=outbound.recipient, method="REQUEST",
                                              sequence=_sequence(slot.sync, outbound), description=_description(context)),
                   "text/calendar; method=REQUEST")
    return message


@email_builder("install_cancelled")
def install_cancelled_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    sync = Sync.objects.select_related("institution").filter(code=outbound.object_id).first()
    slot = EngineerSlot.objects.filter(pk=outbound.version.partition(".")[0]).first()
    # Booked again since: that booking's invitation (same UID, later SEQUENCE) already replaces the event.
    if sync is None or slot is None or sync.status != SyncStatus.AWAITING_SCHEDULE or not outbound.recipient:
        return None
    context = {**_context(slot, sync), "cancelled": True}
    message = render_email(template="install_scheduled", to=outbound.recipient, context=context)
    message.attach("install.ics", install_ics(sync=sync, slot=slot, attendee=outbound.recipient, method="CANCEL",
                                              sequence=_sequence(sync, outbound), description=_description(context)),
                   "text/calendar; method=CANCEL")
    return message


@email_builder("install_reminder")
def install_reminder_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    slot = _booking_of(outbound)
    if slot is None or slot.starts_at <= timezone.now():  # a relay running late must not remind of the past
        return None
    return render_email(template="install_reminder", to=outbound.recipient, context=_context(slot, slot.sync))
