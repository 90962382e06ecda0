import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from institutions.models import Institution, Location
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


# Board sections are derived from these, never stored (see institutions.selectors).
WAITING_ON_DEVELOPER = [SyncStatus.AWAITING_INSTALL, SyncStatus.SELECT_LOCATIONS, SyncStatus.AWAITING_SCHEDULE,
                        SyncStatus.AWAITING_CREDENTIALS, SyncStatus.CREDENTIAL_ERROR]
WAITING_ON_OTHERS = [SyncStatus.HISTORICAL_READ, SyncStatus.INSTALL_SCHEDULED, SyncStatus.CREDENTIALS_SUBMITTED,
                     SyncStatus.FAILED]


class Sync(models.Model):
    """One Synchronizer installation (one practice database); it may serve many locations.

    Secrets (product key, extension token, cloud credentials) are stored encrypted (syncs.crypto) so the
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
    read_health = models.CharField(max_length=16, default="green")
    write_health = models.CharField(max_length=16, default="green")
    alerted_at = models.DateTimeField(null=True, blank=True, help_text="Last down alert or reminder sent.")
    reinstall_requested_at = models.DateTimeField(null=True, blank=True)
    reinstall_key_issued_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_write_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SyncStatus.values), name="sync_status_valid"),
            models.CheckConstraint(condition=Q(ehr__in=list(CATALOG)), name="sync_ehr_valid"),
            models.CheckConstraint(condition=Q(install_path__in=InstallPath.values), name="sync_install_path_valid"),
        ]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="sync_status_queue")]

    def __str__(self) -> str:
        return f"{self.get_ehr_display()} sync of {self.institution}"

    @property
    def catalog_entry(self):
        return CATALOG[self.ehr]

    @property
    def next_step(self) -> "NextStep":
        return sync_next_step(self)

    def health(self, now: datetime | None = None) -> dict:
        """read/write status as the API shapes it (green or red), derived at read time."""
        from syncs.health import sync_health

        now = now or timezone.now()
        health = sync_health(self, now)
        return {"read_status": health.api_status("read"), "read_status_at": health.read_at,
                "write_status": health.api_status("write"), "write_status_at": health.write_at}


@dataclass(frozen=True)
class NextStep:
    text: str
    kind: str  # "todo" (needs the developer), "waiting", "failed", "active", "deactivated"

    @property
    def pill(self) -> str:
        return {"todo": "pill-blue", "waiting": "pill-amber", "failed": "pill-red", "active": "pill-green"}.get(
            self.kind, "pill-grey")

    @property
    def says_more(self) -> bool:
        """False when the words would only repeat the pill ("Active Active")."""
        return self.kind not in ("active", "deactivated")

    @property
    def label(self) -> str:
        return {"todo": "Needs you", "waiting": "In progress", "failed": "Failed", "active": "Active"}.get(
            self.kind, "Deactivated")


def sync_next_step(sync: "Sync") -> NextStep:
    """What happens next, in words, for the board, the institution page and the sync page."""
    status = sync.status
    if status == SyncStatus.INSTALL_SCHEDULED:
        slot = getattr(sync, "install_slot", None)
        when = slot.starts_at.astimezone(ZoneInfo(sync.institution.tz)).strftime("%a %-d %b, %H:%M") if slot else "soon"
        return NextStep(f"Installation scheduled for {when}", "waiting")
    if status == SyncStatus.FAILED:
        return NextStep(f"Installation failed: {sync.status_message}" if sync.status_message else "Installation failed", "failed")
    return NextStep(*{
        SyncStatus.AWAITING_INSTALL: ("Install the Synchronizer", "todo"),
        SyncStatus.HISTORICAL_READ: ("Reading the practice's history", "waiting"),
        SyncStatus.SELECT_LOCATIONS: ("Select locations", "todo"),
        SyncStatus.AWAITING_SCHEDULE: ("Schedule installation", "todo"),
        SyncStatus.AWAITING_CREDENTIALS: ("Provide credentials", "todo"),
        SyncStatus.CREDENTIALS_SUBMITTED: ("Waiting for installation", "waiting"),
        SyncStatus.CREDENTIAL_ERROR: ("Credentials rejected: update them", "todo"),
        SyncStatus.ACTIVE: ("Active", "active"),
        SyncStatus.DEACTIVATED: ("Deactivated", "deactivated"),
    }[status])


def institution_next_step(syncs: list["Sync"]) -> tuple[NextStep, "Sync | None"]:
    """The most urgent sync's next step: the developer's to-dos first, then failures, then waits."""
    if not syncs:
        return NextStep("Create sync", "todo"), None
    steps = [(sync_next_step(sync), sync) for sync in syncs]
    for kind in ("todo", "failed", "waiting", "active", "deactivated"):
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
    referrer = models.CharField(max_length=200, blank=True)
    misc = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.SYNC)

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "start_time"], name="appointment_location_start")]
        constraints = [
            *PracticeRecord.Meta.constraints,
            models.CheckConstraint(condition=Q(end_time__gte=models.F("start_time")), name="appointment_ends_after_start"),
        ]


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

    class Meta(PracticeRecord.Meta):
        indexes = [models.Index(fields=["location", "id"], name="working_hour_location_id")]


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


class WriteJob(models.Model):
    """A write the developer API accepted, waiting for the Synchronizer to apply it to the health record system."""

    class Kind(models.TextChoices):
        APPOINTMENT_INSERTION = "appointment_insertion", "Appointment insertion"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="write_jobs")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey("Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.APPOINTMENT_INSERTION)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    payload = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["sync", "status"], name="write_job_sync_status")]
        constraints = [models.CheckConstraint(condition=Q(status__in=["pending", "complete", "failed"]),
                                              name="write_job_status_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.location} ({self.status})"


class SyncHealthChange(models.Model):
    """A change of a sync's read or write health seen by the monitoring sweep (drives alerts and the strip)."""

    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="health_changes")
    kind = models.CharField(max_length=8, choices=[("read", "Read"), ("write", "Write")])
    from_health = models.CharField(max_length=16)
    to_health = models.CharField(max_length=16)
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


class LocationActivationRequest(models.Model):
    """A developer asks for more of a sync's reported locations; support fulfils it in the admin."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        FULFILLED = "fulfilled", "Fulfilled"
        DECLINED = "declined", "Declined"

    sync = models.ForeignKey(Sync, on_delete=models.CASCADE, related_name="activation_requests")
    organization = models.ForeignKey("portal.Organization", on_delete=models.CASCADE, related_name="+")
    locations = models.ManyToManyField(Location, related_name="activation_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(status__in=["pending", "fulfilled", "declined"]),
                                              name="activation_request_status_valid")]

    def __str__(self) -> str:
        return f"Activate locations of {self.sync} ({self.status})"
