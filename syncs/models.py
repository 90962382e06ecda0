import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.crypto import get_random_string

from institutions.models import FiguresFollowUpdate, Institution, Location
from portal import crypto
from portal.models import ApiKey, Organization
from syncs.catalog import CATALOG, EHR_CHOICES



def new_sync_code() -> str:
    return uuid.uuid4().hex


class SyncStatus(models.TextChoices):
    AWAITING_INSTALL = "awaiting_install", "Awaiting installation"
    HISTORICAL_READ = "historical_read", "Reading history"
    SELECT_LOCATIONS = "select_locations", "Select locations"
    AWAITING_SCHEDULE = "awaiting_schedule", "Schedule installation"
    INSTALL_SCHEDULED = "install_scheduled", "Installation scheduled"
    AWAITING_CREDENTIALS = "awaiting_credentials", "Provide credentials"
    CREDENTIALS_SUBMITTED = "credentials_submitted", "Credentials submitted"
    CREDENTIAL_ERROR = "credential_error", "Credentials rejected"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"
    DEACTIVATED = "deactivated", "Deactivated"


class DowntimeSchedule(models.TextChoices):
    NONE = "none", "None: always on"
    NIGHTS = "nights", "Server off at night (19:00–07:00)"
    WEEKENDS = "weekends", "Off on weekends"
    NIGHTS_AND_WEEKENDS = "nights_weekends", "Off nights and weekends"
    OFFICE_HOURS = "office_hours", "Only during office hours (Mon–Fri 07:00–19:00)"


class InstallPath(models.TextChoices):
    SELF_INSTALLER = "self_installer", "Self-installer"
    SCHEDULED = "scheduled", "Scheduled engineer install"
    CLOUD = "cloud", "Cloud credentials"


class StepKind(models.TextChoices):
    """Whose move a sync's next step is, most urgent first; the label is the next step's pill."""

    TODO = "todo", "Needs you"
    FAILED = "failed", "Failed"
    WAITING = "waiting", "In progress"
    ACTIVE = "active", "Active"
    DEACTIVATED = "deactivated", "Deactivated"


# Whose move each status is: the one source of the next step's kind and of the board's sections (derived from
# it, never stored; see institutions.selectors). A failed installation is in support's hands: waiting on others.
STEP_KIND = {
    SyncStatus.AWAITING_INSTALL: StepKind.TODO,
    SyncStatus.HISTORICAL_READ: StepKind.WAITING,
    SyncStatus.SELECT_LOCATIONS: StepKind.TODO,
    SyncStatus.AWAITING_SCHEDULE: StepKind.TODO,
    SyncStatus.INSTALL_SCHEDULED: StepKind.WAITING,
    SyncStatus.AWAITING_CREDENTIALS: StepKind.TODO,
    SyncStatus.CREDENTIALS_SUBMITTED: StepKind.WAITING,
    SyncStatus.CREDENTIAL_ERROR: StepKind.TODO,
    SyncStatus.ACTIVE: StepKind.ACTIVE,
    SyncStatus.FAILED: StepKind.FAILED,
    SyncStatus.DEACTIVATED: StepKind.DEACTIVATED,
}
WAITING_ON_DEVELOPER = [status for status, kind in STEP_KIND.items() if kind == StepKind.TODO]
WAITING_ON_OTHERS = [status for status, kind in STEP_KIND.items() if kind in (StepKind.WAITING, StepKind.FAILED)]


class HealthStatus(models.TextChoices):
    GREEN = "green", "Green"
    RED = "red", "Red"
    EXPECTED = "expected", "Expected downtime"


GREEN, RED, EXPECTED = HealthStatus.GREEN, HealthStatus.RED, HealthStatus.EXPECTED
# Derived, never stored: an active sync whose Synchronizer (or extension) has not reported yet, inside the same
# grace a normal gap gets. The sweep stores it as green, so a sync that never reports goes red and alerts after it.
WAITING = "waiting"
# A Synchronizer normally reads and writes every 0-20 minutes; past that and a grace window the data is stale.
HEALTHY_CADENCE = timedelta(minutes=20)
GRACE = timedelta(minutes=10)
OFFICE_OPENS, OFFICE_CLOSES = 7, 19


@dataclass(frozen=True)
class Health:
    read: str
    write: str
    read_at: datetime | None
    write_at: datetime | None

    @property
    def worst(self) -> str:
        for status in (RED, EXPECTED, WAITING):
            if status in (self.read, self.write):
                return status
        return GREEN

    def api_status(self, kind: str) -> str:
        """The API knows only green and red: expected downtime and waiting are still no fresh data."""
        return GREEN if getattr(self, kind) == GREEN else RED

    def stored(self, kind: str) -> str:
        """What the sweep records: waiting is not a health of its own (nothing is stale yet)."""
        status = getattr(self, kind)
        return GREEN if status == WAITING else status


class SyncQuerySet(FiguresFollowUpdate):
    followed_fields = frozenset({"status"})  # what the board section reads of an institution's syncs
    refreshed_by = "institution_id"

    def refresh(self, keys: set) -> None:
        from institutions.board import board_sections_refresh_for  # board reads this module's models

        board_sections_refresh_for(keys)  # every organization using these institutions


class Sync(models.Model):
    """One Synchronizer installation (one practice database); it may serve many locations.

    Secrets (product key, extension token, cloud credentials) are stored encrypted (portal.crypto) so the
    portal can show them again to the developer; the keys' SHA-256 lets the agent protocol find a sync.
    """

    Status = SyncStatus
    InstallPath = InstallPath

    code = models.CharField(max_length=32, unique=True, default=new_sync_code, editable=False)
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="syncs")
    ehr = models.CharField("health record system", max_length=32, choices=EHR_CHOICES)
    install_path = models.CharField(max_length=16, choices=InstallPath.choices, default=InstallPath.SELF_INSTALLER)
    status = models.CharField(max_length=32, choices=Status.choices)
    status_message = models.TextField(blank=True, help_text="Why credentials were rejected or the installation failed.")
    status_changed_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The organization that created the sync operates it: only it changes settings or sees secrets. Others with
    # the practice's consent consume it. Support may transfer operation (Sync admin) when the operator leaves.
    operator = models.ForeignKey(Organization, null=True, on_delete=models.PROTECT, related_name="operated_syncs")
    product_key_encrypted = models.TextField(blank=True, editable=False)
    product_key_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    extension_token_encrypted = models.TextField(blank=True, editable=False)
    extension_token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    credentials_submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                                 on_delete=models.SET_NULL, related_name="+")
    credentials_submitted_at = models.DateTimeField(null=True, blank=True)
    agent_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False,
                                        help_text="SHA-256 of the Synchronizer's credential (issued at activation).")
    activated_at = models.DateTimeField(null=True, blank=True)
    agent_version = models.CharField(max_length=32, blank=True)
    host_facts = models.JSONField(default=dict, blank=True)
    write_jobs_pending = models.PositiveIntegerField(default=0)
    downtime_schedule = models.CharField(max_length=24, choices=DowntimeSchedule.choices, default=DowntimeSchedule.NONE,
                                         help_text="When the practice's server or staff are expected to be away.")
    # Last health the monitoring sweep saw (green/red/expected); changes are recorded in SyncHealthChange.
    read_health = models.CharField(max_length=16, choices=HealthStatus.choices, default=HealthStatus.GREEN)
    write_health = models.CharField(max_length=16, choices=HealthStatus.choices, default=HealthStatus.GREEN)
    alerted_at = models.DateTimeField(null=True, blank=True, help_text="Last down alert or reminder sent.")
    reinstall_requested_at = models.DateTimeField(null=True, blank=True)
    reinstall_key_issued_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_write_at = models.DateTimeField(null=True, blank=True)
    # When the monitoring sweep must next look at this sync (health_due_at): a heartbeat monitor's deadline, so a
    # sweep reads only the syncs whose deadline passed. Written by every heartbeat, record write and state change.
    # A new sync is due at once: the first sweep after it becomes active computes its real deadline.
    health_deadline_at = models.DateTimeField(null=True, blank=True, editable=False, default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SyncQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SyncStatus.values), name="sync_status_valid"),
            models.CheckConstraint(condition=Q(ehr__in=list(CATALOG)), name="sync_ehr_valid"),
            models.CheckConstraint(condition=Q(install_path__in=InstallPath.values), name="sync_install_path_valid"),
            models.CheckConstraint(condition=Q(read_health__in=HealthStatus.values), name="sync_read_health_valid"),
            models.CheckConstraint(condition=Q(write_health__in=HealthStatus.values), name="sync_write_health_valid"),
        ]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="sync_status_queue"),
                   # The sweep's `WHERE status = 'active' AND health_deadline_at < now`: only active syncs are indexed.
                   models.Index(fields=["health_deadline_at"], name="sync_health_deadline",
                                condition=Q(status=SyncStatus.ACTIVE))]

    def __str__(self) -> str:
        return f"{self.get_ehr_display()} sync of {self.institution}"

    @property
    def catalog_entry(self):
        return CATALOG[self.ehr]

    @property
    def next_step(self) -> "NextStep":
        return sync_next_step(self)

    # Health is derived at read time, like a heartbeat monitor's status: green while reads and writes are
    # fresh, red when stale, "expected" when stale inside the practice's expected-downtime schedule.
    def in_expected_downtime(self, now: datetime) -> bool:
        return self.downtime_schedule in schedules_away(now.astimezone(self.institution.zone))

    @property
    def monitored_since(self) -> datetime:
        """When the sync went live: the Synchronizer's activation, or support's for scheduled and cloud installs
        (older rows: when the status last changed)."""
        return self.activated_at or self.status_changed_at

    def freshness(self, last: datetime | None, now: datetime) -> str:
        if last is not None and now - last <= HEALTHY_CADENCE + GRACE:
            return GREEN
        if last is None and timedelta(0) <= now - self.monitored_since <= HEALTHY_CADENCE + GRACE:
            return WAITING
        return EXPECTED if self.in_expected_downtime(now) else RED

    def health_due_at(self, now: datetime) -> datetime | None:
        """The earliest time this sync's health, or its reminder, can change without new data from the agent:
        a fresh side going stale, a stale side crossing an hour boundary of its downtime schedule (expected <->
        red), a red sync's next reminder. None when nothing can change until the agent sends data (which sets
        the deadline itself) or the sync is not monitored."""
        if self.status != SyncStatus.ACTIVE or self.institution.is_sandbox:
            return None
        due = []
        for last in (self.last_read_at, self.last_write_at):
            if last is not None and now - last <= HEALTHY_CADENCE + GRACE:
                due.append(last + HEALTHY_CADENCE + GRACE)
            elif last is None and now - self.monitored_since <= HEALTHY_CADENCE + GRACE:
                due.append(self.monitored_since + HEALTHY_CADENCE + GRACE)  # waiting for the first heartbeat
            elif self.downtime_schedule != DowntimeSchedule.NONE:
                local = now.astimezone(self.institution.zone)
                due.append((local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(now.tzinfo))
        if RED in (self.read_health, self.write_health) and self.alerted_at is not None:
            due.append(self.alerted_at + timedelta(hours=settings.SYNC_ALERT_REMINDER_HOURS))
        return min(due, default=None)

    def health_at(self, now: datetime) -> Health:
        if self.institution.is_sandbox:  # no agent behind the sandbox: it is always fresh
            return Health(GREEN, GREEN, now, now)
        return Health(self.freshness(self.last_read_at, now), self.freshness(self.last_write_at, now),
                      self.last_read_at, self.last_write_at)

    def health(self, now: datetime | None = None) -> dict:
        """read/write status as the API shapes it (green or red), derived at read time."""
        health = self.health_at(now or timezone.now())
        # Until the first report the times are the activation's: the reference declares them non-nullable.
        return {"read_status": health.api_status("read"), "read_status_at": health.read_at or self.monitored_since,
                "write_status": health.api_status("write"), "write_status_at": health.write_at or self.monitored_since}


def schedules_away(local: datetime) -> set[str]:
    """The downtime schedules that expect the practice away at this local time (the one rule; the Sync Status
    page turns it into SQL per time zone)."""
    night = not OFFICE_OPENS <= local.hour < OFFICE_CLOSES
    weekend = local.weekday() >= 5
    return {schedule.value for schedule, away in {
        DowntimeSchedule.NONE: False,
        DowntimeSchedule.NIGHTS: night,
        DowntimeSchedule.WEEKENDS: weekend,
        DowntimeSchedule.NIGHTS_AND_WEEKENDS: night or weekend,
        DowntimeSchedule.OFFICE_HOURS: night or weekend,
    }.items() if away}


def health_deadline_after_new_data(now: datetime) -> Case:
    """health_deadline_at for an UPDATE that records fresh data from the agent (records, write jobs, extension).
    A sync not all green is due now, so a recovery is noticed at the next sweep; an all-green one keeps its
    deadline: it is no later than the true one, and the sweep that reaches it computes the next."""
    return Case(When(read_health=GREEN, write_health=GREEN, health_deadline_at__isnull=False,
                     then=F("health_deadline_at")), default=Value(now))


@dataclass(frozen=True)
class NextStep:
    text: str
    kind: StepKind

    @property
    def pill(self) -> str:
        return {StepKind.TODO: "pill-blue", StepKind.WAITING: "pill-amber", StepKind.FAILED: "pill-red",
                StepKind.ACTIVE: "pill-green"}.get(self.kind, "pill-grey")

    @property
    def says_more(self) -> bool:
        """False when the words would only repeat the pill ("Active Active")."""
        return self.kind not in ("active", "deactivated")

    @property
    def label(self) -> str:
        return StepKind(self.kind).label


def sync_next_step(sync: "Sync") -> NextStep:
    """What happens next, in words, for the board, the institution page and the sync page."""
    status = sync.status
    kind = STEP_KIND[status]
    if status == SyncStatus.INSTALL_SCHEDULED:
        slot = getattr(sync, "install_slot", None)
        when = slot.starts_at.astimezone(sync.institution.zone).strftime("%a %-d %b, %H:%M") if slot else "soon"
        return NextStep(f"Installation scheduled for {when}", kind)
    if status == SyncStatus.FAILED:
        return NextStep(f"Installation failed: {sync.status_message}" if sync.status_message else "Installation failed", kind)
    return NextStep({
        SyncStatus.AWAITING_INSTALL: "Install the Synchronizer",
        SyncStatus.HISTORICAL_READ: "Reading the practice's history",
        SyncStatus.SELECT_LOCATIONS: "Select locations",
        SyncStatus.AWAITING_SCHEDULE: "Schedule installation",
        SyncStatus.AWAITING_CREDENTIALS: "Provide credentials",
        SyncStatus.CREDENTIALS_SUBMITTED: "Waiting for installation",
        SyncStatus.CREDENTIAL_ERROR: "Credentials rejected: update them",
        SyncStatus.ACTIVE: "Active",
        SyncStatus.DEACTIVATED: "Deactivated",
    }[status], kind)


def institution_next_step(syncs: list["Sync"]) -> tuple[NextStep, "Sync | None"]:
    """The most urgent sync's next step: the developer's to-dos first, then failures, then waits."""
    if not syncs:
        return NextStep("Create sync", StepKind.TODO), None
    steps = [(sync_next_step(sync), sync) for sync in syncs]
    for kind in StepKind:
        for step, sync in steps:
            if step.kind == kind:
                return step, sync
    return steps[0]


class PracticeRecord(models.Model):
    """Common shape of records synced from the health record system, scoped to a location."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    # The record's id in the health record system; empty (NULL) for records created through the API until
    # the Synchronizer writes them. Unique per location, so the agent's pushes upsert.
    foreign_id = models.CharField(max_length=64, null=True, blank=True)
    foreign_id_type = models.CharField(max_length=64, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["location", "foreign_id"], name="%(class)s_location_foreign_id")]

    def save(self, *args, **kwargs):
        self.updated_at = timezone.now()
        super().save(*args, **kwargs)


class Provider(PracticeRecord):
    first_name = models.CharField(max_length=100, blank=True)
    middle_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    npi = models.CharField(max_length=20, blank=True)
    tin = models.CharField(max_length=20, blank=True)
    state_license = models.CharField(max_length=40, blank=True)
    specialty_code = models.CharField(max_length=40, blank=True)
    bio = models.JSONField(default=dict, blank=True)
    inactive = models.BooleanField(default=False)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="provider_location_id")]

    @property
    def name(self) -> str:
        return " ".join(p for p in [self.first_name, self.last_name] if p)


class Operatory(PracticeRecord):
    name = models.CharField(max_length=100)
    display_name = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True)
    bookable_online = models.BooleanField(default=True)

    class Meta(PracticeRecord.Meta):
        verbose_name_plural = "operatories"
        indexes = [models.Index(fields=["location", "id"], name="operatory_location_id")]


class AppointmentType(PracticeRecord):
    name = models.CharField(max_length=100)
    minutes = models.PositiveIntegerField()
    bookable_online = models.BooleanField(default=True)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="appt_type_location_id")]


class Patient(PracticeRecord):
    first_name = models.CharField(max_length=100)
    middle_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    bio = models.JSONField(default=dict, blank=True)
    inactive = models.BooleanField(default=False)
    chart_id = models.CharField(max_length=40, blank=True)
    billing_type = models.CharField(max_length=60, blank=True)
    preferred_language = models.CharField(max_length=10, default="en")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    guarantor = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(PracticeRecord.Meta):
        indexes = [
            models.Index(fields=["location", "id"], name="patient_location_id"),
            models.Index(fields=["location", "last_name", "first_name"], name="patient_location_name"),
        ]

    @property
    def name(self) -> str:
        return " ".join(p for p in [self.first_name, self.last_name] if p)


class Appointment(PracticeRecord):
    class Source(models.TextChoices):
        SYNC = "sync", "Read from the health record system"
        API = "api", "Created through the API"

    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    operatory = models.ForeignKey(Operatory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    appointment_type = models.ForeignKey(AppointmentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    note = models.TextField(blank=True)
    confirmed = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    patient_missed = models.BooleanField(default=False)
    unavailable = models.BooleanField(default=False)
    cancelled = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    checkin_at = models.DateTimeField(null=True, blank=True)
    checked_out = models.BooleanField(default=False)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    sooner_if_possible = models.BooleanField(default=False)
    is_new_clients_patient = models.BooleanField(default=False)
    is_guardian = models.BooleanField(default=False, help_text="Booked by the patient's guardian.")
    referrer = models.CharField(max_length=200, blank=True)
    misc = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.SYNC)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "start_time"], name="appointment_location_start")]
        constraints = [
            *PracticeRecord.Meta.constraints,
            models.CheckConstraint(condition=Q(end_time__gte=models.F("start_time")), name="appointment_ends_after_start"),
        ]


# The names a working hour's `days` takes (the reference's order).
WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


class WorkingHour(PracticeRecord):
    """When a provider works at a location (optionally in one operatory), on weekdays or a specific date."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="working_hours")
    operatory = models.ForeignKey(Operatory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    begin_time = models.TimeField()
    end_time = models.TimeField()
    days = models.JSONField(default=list, blank=True, help_text='Weekday names, e.g. ["Monday", "Tuesday"].')
    specific_date = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    appointment_types = models.ManyToManyField(AppointmentType, blank=True, related_name="+")
    custom_recurrence = models.JSONField(null=True, blank=True, help_text='{"num": 2, "unit": "week", "ref": "2024-01-01"}')
    label = models.ForeignKey("WorkingHourLabel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Synced from the health record system, or created through the API (NexHealth's "manual").
    source = models.CharField(max_length=8, choices=[("synced", "Synced"), ("manual", "Manual")], default="synced")

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="working_hour_location_id")]


# --- The rest of the practice: descriptors, labels, the ledger, insurance, recalls, charts, staff ------------
# Field names follow the reference (NexHealth). Money is a decimal plus the record's currency; `deleted_at` keeps
# records the health record system voided (lists hide them unless `include_deleted`).

def money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, default=0, **kwargs)


def person(related_name: str = "+", **kwargs) -> models.ForeignKey:
    return models.ForeignKey(Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name=related_name, **kwargs)


def optional(model, related_name: str = "+") -> models.ForeignKey:
    return models.ForeignKey(model, null=True, blank=True, on_delete=models.SET_NULL, related_name=related_name)


class RecordSource(models.TextChoices):
    SYNC = "sync", "Read from the health record system"
    API = "api", "Created through the API"


class AppointmentDescriptor(PracticeRecord):
    """Procedure codes, categories and other labels the health record system attaches to appointments."""

    descriptor_type = models.CharField(max_length=60)
    code = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)
    appointment_types = models.ManyToManyField(AppointmentType, blank=True, related_name="descriptors")
    appointments = models.ManyToManyField(Appointment, blank=True, related_name="descriptors")

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="descriptor_location_id")]


class WorkingHourLabel(PracticeRecord):
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="wh_label_location_id")]


class Procedure(PracticeRecord):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        SCHEDULED = "scheduled", "Scheduled"
        COMPLETED = "completed", "Completed"
        INACTIVE = "inactive", "Inactive"
        REFERRED = "referred", "Referred"

    patient = person()
    provider = optional(Provider)
    appointment = optional(Appointment, related_name="procedures")
    code = models.CharField(max_length=20, blank=True)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    fee = money()
    currency = models.CharField(max_length=3, default="USD")
    body_site = models.JSONField(default=dict, blank=True, help_text='{"tooth": ["14"], "surface": "MO"}')

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="procedure_location_id"),
                   models.Index(fields=["location", "updated_at", "id"], name="procedure_location_updated")]


class TreatmentPlan(PracticeRecord):
    class Status(models.TextChoices):
        NOT_APPLICABLE = "not_applicable", "Not applicable"
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        COMPLETED = "completed", "Completed"

    patient = person()
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    procedures = models.ManyToManyField(Procedure, blank=True, related_name="treatment_plans")

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="treatment_plan_location_id")]


class FeeSchedule(PracticeRecord):
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="fee_schedule_location_id")]


class FeeScheduleProcedure(PracticeRecord):
    fee_schedule = models.ForeignKey(FeeSchedule, on_delete=models.CASCADE, related_name="procedure_fees")
    code = models.CharField(max_length=20)
    procedure_code_id = models.CharField(max_length=40, blank=True)
    fee = money()
    currency = models.CharField(max_length=3, default="USD")

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="fee_sched_proc_location_id")]


class InsurancePlan(PracticeRecord):
    name = models.CharField(max_length=200, blank=True)
    payer_id = models.CharField(max_length=40, blank=True)
    group_num = models.CharField(max_length=40, blank=True)
    employer_name = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=200, blank=True)
    address2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    zip_code = models.CharField(max_length=20, blank=True)
    country_code = models.CharField(max_length=2, default="US")
    fee_schedule = optional(FeeSchedule)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="insurance_plan_location_id")]


class InsuranceCoverage(PracticeRecord):
    class Relation(models.TextChoices):
        SELF = "self", "Self"
        SPOUSE = "spouse", "Spouse"
        CHILD = "child", "Child"
        EMPLOYEE = "employee", "Employee"
        HANDICAP_DEP = "handicap_dep", "Handicapped dependent"
        SIGNIF_OTHER = "signif_other", "Significant other"
        INJURED_PLAINTIFF = "injured_plaintiff", "Injured plaintiff"
        LIFE_PARTNER = "life_partner", "Life partner"
        DEPENDENT = "dependent", "Dependent"
        OTHER = "other", "Other"

    patient = person(related_name="insurance_coverages")
    plan = optional(InsurancePlan, related_name="coverages")
    subscriber = person()
    subscriber_num = models.CharField(max_length=40, blank=True)
    subscription_relation = models.CharField(max_length=20, choices=Relation.choices, default=Relation.SELF)
    priority = models.PositiveSmallIntegerField(default=1)
    effective_date = models.DateField(null=True, blank=True)
    expiration_date = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    insurance_type = models.CharField(max_length=10, choices=[("dental", "Dental"), ("medical", "Medical"),
                                                                ("vision", "Vision")], default="dental")

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="insurance_cov_location_id")]


class Charge(PracticeRecord):
    patient = person()
    provider = optional(Provider)
    guarantor = person()
    procedure = optional(Procedure)
    procedure_code = models.CharField(max_length=20, blank=True)
    description = models.CharField(max_length=300, blank=True)
    charged_at = models.DateField(null=True, blank=True)
    fee = money()
    currency = models.CharField(max_length=3, default="USD")
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="charge_location_id"),
                   models.Index(fields=["location", "updated_at", "id"], name="charge_location_updated")]


class Claim(PracticeRecord):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        RECEIVED = "received", "Received"
        CANCELED = "canceled", "Canceled"

    patient = person()
    provider = optional(Provider)
    guarantor = person()
    primary_insurance_plan = optional(InsurancePlan)
    secondary_insurance_plan = optional(InsurancePlan)
    date_of_service = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    deleted_at = models.DateTimeField(null=True, blank=True)
    charges = models.ManyToManyField(Charge, through="ClaimPayout", blank=True, related_name="claims")

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="claim_location_id"),
                   models.Index(fields=["location", "updated_at", "id"], name="claim_location_updated")]


class ClaimPayout(models.Model):
    """What a claim bills and pays for one charge."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="payouts")
    charge = models.ForeignKey(Charge, on_delete=models.CASCADE, related_name="payouts")
    amount_billed_to_insurance = money()
    allowed_amount = money()
    estimated_insurance_payment = money()
    insurance_payment = money()
    write_off = money()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["claim", "charge"], name="claim_payout_once")]


class AdjustmentType(PracticeRecord):
    name = models.CharField(max_length=100)
    action = models.CharField(max_length=8, choices=[("credit", "Credit"), ("debit", "Debit"), ("unknown", "Unknown")],
                              default="credit")
    active = models.BooleanField(default=True)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="adjustment_type_location_id")]


class Adjustment(PracticeRecord):
    patient = person()
    provider = optional(Provider)
    guarantor = person()
    claim = optional(Claim)
    charge = optional(Charge)
    adjustment_type = optional(AdjustmentType)
    adjusted_at = models.DateField(null=True, blank=True)
    amount = money()
    currency = models.CharField(max_length=3, default="USD")
    description = models.CharField(max_length=500, blank=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=RecordSource.choices, default=RecordSource.SYNC)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="adjustment_location_id"),
                   models.Index(fields=["location", "updated_at", "id"], name="adjustment_location_updated")]


class PaymentType(PracticeRecord):
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="payment_type_location_id")]


class PaymentPlan(PracticeRecord):
    patient = person()
    guarantor = person()
    active = models.BooleanField(default=True)
    created_date = models.DateField()
    first_payment_due_date = models.DateField()

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="payment_plan_location_id"),
                   models.Index(fields=["location", "updated_at", "id"], name="payment_plan_location_updated")]


class Payment(PracticeRecord):
    patient = person()
    provider = optional(Provider)
    guarantor = person()
    charge = optional(Charge)
    claim = optional(Claim)
    insurance_plan = optional(InsurancePlan)
    payment_plan = optional(PaymentPlan)
    payment_type = optional(PaymentType)
    paid_at = models.DateField(null=True, blank=True)
    amount = money()
    currency = models.CharField(max_length=3, default="USD")
    description = models.CharField(max_length=500, blank=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=RecordSource.choices, default=RecordSource.SYNC)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="payment_location_id"),
                   models.Index(fields=["location", "updated_at", "id"], name="payment_location_updated")]


class GuarantorBalance(PracticeRecord):
    guarantor = person()
    total_balance = money()
    total_balance_under_30 = money()
    total_balance_31_60 = money()
    total_balance_61_90 = money()
    total_balance_over_90 = money()
    guarantor_portion = money()
    insurance_estimate = money()
    write_off_estimate = money()
    currency = models.CharField(max_length=3, default="USD")

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="guarantor_bal_location_id")]


class InsuranceBalance(PracticeRecord):
    patient = person()
    guarantor = person()
    billed_amount_under_30 = money()
    billed_amount_31_60 = money()
    billed_amount_61_90 = money()
    billed_amount_over_90 = money()
    estimated_amount_under_30 = money()
    estimated_amount_31_60 = money()
    estimated_amount_61_90 = money()
    estimated_amount_over_90 = money()
    currency = models.CharField(max_length=3, default="USD")

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="insurance_bal_location_id")]


class RecallType(PracticeRecord):
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    interval_num = models.PositiveIntegerField(default=6)
    interval_unit = models.CharField(max_length=10, default="month")

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="recall_type_location_id")]


class PatientRecall(PracticeRecord):
    patient = person()
    recall_type = optional(RecallType)
    appointment = optional(Appointment)
    date_due = models.DateField(null=True, blank=True)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="patient_recall_location_id")]


class ClinicalNote(PracticeRecord):
    patient = person()
    procedure = optional(Procedure)
    content = models.TextField()
    entered_at = models.DateTimeField(null=True, blank=True)
    completed = models.BooleanField(default=False)
    signed = models.BooleanField(default=False)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="clinical_note_location_id")]


class DocumentType(PracticeRecord):
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="document_type_location_id")]


class PatientDocument(PracticeRecord):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="documents")
    document_type = optional(DocumentType)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    file = models.FileField(upload_to="patient_documents/%Y/%m/", blank=True)
    source = models.CharField(max_length=8, choices=RecordSource.choices, default=RecordSource.SYNC)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["patient", "id"], name="patient_document_patient_id")]


class PatientAlert(PracticeRecord):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    note = models.TextField()
    disabled_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=RecordSource.choices, default=RecordSource.SYNC)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["patient", "id"], name="patient_alert_patient_id")]


class StaffMember(PracticeRecord):
    """The practice's staff users (the reference's `nex_staff`)."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    inactive = models.BooleanField(default=False)
    patientable = models.BooleanField(default=False)
    unsubscribe_emails = models.BooleanField(default=False)
    unsubscribe_sms = models.BooleanField(default=False)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="staff_member_location_id")]


def new_onboarding_id() -> str:
    return get_random_string(16, "abcdefghijkmnpqrstuvwxyz23456789")


class Onboarding(models.Model):
    """A practice a developer onboards through the API (POST /onboardings): its institution and sync, plus the
    setup link the practice's contact uses for the practice-side steps. Owned by the organization that made it."""

    public_id = models.CharField(max_length=16, unique=True, default=new_onboarding_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="onboardings")
    sync = models.OneToOneField(Sync, on_delete=models.CASCADE, related_name="onboarding")
    emr_name = models.CharField(max_length=32)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="Whoever created the API key that onboarded it.")
    link_nonce = models.CharField(max_length=32, default=new_sync_code, editable=False)
    link_expires_at = models.DateTimeField()
    link_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "created_at"], name="onboarding_owner_created")]

    def __str__(self) -> str:
        return f"Onboarding {self.public_id}"

    @property
    def status(self) -> str:
        """The reference's three states, from the sync's."""
        if self.sync.status == SyncStatus.ACTIVE:
            return "complete"
        if self.sync.status in (SyncStatus.FAILED, SyncStatus.DEACTIVATED):
            return "failed"
        return "in_progress"


class EngineerSlot(models.Model):
    """An hour a Chairside engineer can install a Synchronizer; support staff publish them in the admin."""

    engineer = models.CharField(max_length=100)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    sync = models.OneToOneField(Sync, null=True, blank=True, on_delete=models.SET_NULL, related_name="install_slot",
                                help_text="The sync whose installation is booked in this slot.")
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    booked_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="engineer_slot_ends_after_start"),
            models.UniqueConstraint(fields=["engineer", "starts_at"], name="engineer_slot_once"),
        ]

    def __str__(self) -> str:
        return f"{self.engineer} {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def is_open(self) -> bool:
        return self.sync_id is None


class WriteJobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"


class WriteJob(models.Model):
    """A write the developer API accepted, waiting for the Synchronizer to apply it to the health record system."""

    class Kind(models.TextChoices):
        APPOINTMENT_INSERTION = "appointment_insertion", "Appointment insertion"
        PAYMENT_INSERTION = "payment_insertion", "Payment insertion"
        ADJUSTMENT_INSERTION = "adjustment_insertion", "Adjustment insertion"
        PATIENT_DOCUMENT_INSERTION = "patient_document_insertion", "Patient document insertion"
        PATIENT_ALERT_INSERTION = "patient_alert_insertion", "Patient alert insertion"
        PATIENT_ALERT_UPDATE = "patient_alert_update", "Patient alert update"
        WORKING_HOUR_INSERTION = "working_hour_insertion", "Working hour insertion"
        WORKING_HOUR_UPDATE = "working_hour_update", "Working hour update"
        WORKING_HOUR_DELETION = "working_hour_deletion", "Working hour deletion"

    Status = WriteJobStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="write_jobs")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey("Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Any other kind: the record the job writes ("payments", 42); its foreign id arrives with the result.
    record_type = models.CharField(max_length=40, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.APPOINTMENT_INSERTION)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    payload = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["sync", "status"], name="write_job_sync_status")]
        constraints = [models.CheckConstraint(condition=Q(status__in=WriteJobStatus.values),
                                              name="write_job_status_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.location} ({self.status})"


class SyncHealthChange(models.Model):
    """A change of a sync's read or write health seen by the monitoring sweep (drives alerts and the strip)."""

    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="health_changes")
    kind = models.CharField(max_length=8, choices=[("read", "Read"), ("write", "Write")])
    from_health = models.CharField(max_length=16, choices=HealthStatus.choices)
    to_health = models.CharField(max_length=16, choices=HealthStatus.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["sync", "created_at"], name="health_change_sync_time")]


class ExtensionWorkstation(models.Model):
    """A browser profile running the extension of a cloud sync; coverage = those seen in the last hour."""

    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="workstations")
    workstation_id = models.CharField(max_length=64)
    extension_version = models.CharField(max_length=32, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sync", "workstation_id"], name="extension_workstation_once")]
        indexes = [models.Index(fields=["sync", "last_seen_at"], name="workstation_seen")]


class ActivationRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    FULFILLED = "fulfilled", "Fulfilled"
    DECLINED = "declined", "Declined"


class LocationActivationRequest(models.Model):
    """A developer asks for more of a sync's reported locations; support fulfils it in the admin."""

    Status = ActivationRequestStatus

    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="activation_requests")
    organization = models.ForeignKey("portal.Organization", on_delete=models.CASCADE, related_name="+")
    locations = models.ManyToManyField(Location, related_name="activation_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(status__in=ActivationRequestStatus.values),
                                              name="activation_request_status_valid")]

    def __str__(self) -> str:
        return f"Activate locations of {self.sync} ({self.status})"


class WebhookEndpoint(models.Model):
    """A developer's URL that receives signed event messages. It belongs to one mode: the mode of the key that
    created it, so sandbox events never reach a production endpoint and the other way round.

    The signing secret is shown in API responses (the receiver needs it to verify signatures) and stored
    encrypted (portal.crypto, Fernet), never in plain text.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    mode = models.CharField(max_length=16, choices=ApiKey.Mode.choices)
    target_url = models.URLField(max_length=2000)
    secret_key_encrypted = models.TextField(editable=False)
    active = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="Start of the current run of failed deliveries.")
    deactivated_reason = models.CharField(max_length=300, blank=True, help_text="Why deliveries stopped on their own.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "portal_webhookendpoint"  # moved from the portal app; the table kept its name
        ordering = ["id"]
        indexes = [models.Index(fields=["organization", "mode"], name="webhook_endpoint_owner")]
        constraints = [models.CheckConstraint(condition=Q(mode__in=ApiKey.Mode.values), name="webhook_endpoint_mode_valid")]

    def __str__(self) -> str:
        return f"{self.target_url} ({self.get_mode_display()})"

    @property
    def secret_key(self) -> str:
        return crypto.decrypt(self.secret_key_encrypted)

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        self.secret_key_encrypted = crypto.encrypt(value)


class WebhookSubscription(models.Model):
    """One event of one institution, sent to an endpoint (NexHealth's resource_type + event pair)."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="subscriptions")
    institution = models.ForeignKey(Institution, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    resource_type = models.CharField(max_length=64)
    event = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "portal_webhooksubscription"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "institution", "resource_type", "event"],
                                               name="webhook_subscription_once")]
        indexes = [models.Index(fields=["institution", "event"], name="webhook_subscription_event")]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.event} → {self.endpoint_id}"


class WebhookDelivery(models.Model):
    """One event message for one endpoint, with its attempts. Pending while `next_attempt_at` is set and
    `delivered_at` is not; given up when both are empty. Claimed per attempt by a conditional update."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(WebhookSubscription, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="deliveries")
    event = models.CharField(max_length=64, help_text="The delivered event name, e.g. appointment_insertion.complete.")
    payload = models.JSONField(help_text="The whole message body, so every attempt sends the same bytes.")
    attempts = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Retries are timed from it.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "portal_webhookdelivery"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(delivered_at__isnull=True), name="webhook_delivery_due"),
            models.Index(fields=["created_at"], name="webhook_delivery_created"),  # pruning old rows
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} (#{self.pk})"
