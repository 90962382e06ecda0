import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.models import Organization, new_nonce


class PracticeTimeZone(models.TextChoices):
    """The zones a practice may be in: those of the US states and Puerto Rico (the states we serve).

    The one list the Create Institution form offers, the CSV upload derives from a practice's state and the
    model accepts.
    """

    EASTERN = "America/New_York", "Eastern (New York)"
    CENTRAL = "America/Chicago", "Central (Chicago)"
    MOUNTAIN = "America/Denver", "Mountain (Denver)"
    ARIZONA = "America/Phoenix", "Mountain, no DST (Phoenix)"
    PACIFIC = "America/Los_Angeles", "Pacific (Los Angeles)"
    ALASKA = "America/Anchorage", "Alaska (Anchorage)"
    HAWAII = "Pacific/Honolulu", "Hawaii (Honolulu)"
    ATLANTIC = "America/Puerto_Rico", "Atlantic, no DST (Puerto Rico)"

    @classmethod
    def of_state(cls, state: str) -> "PracticeTimeZone":
        """The zone most of the state uses (a CSV row gives a state, not a zone); Eastern when unknown."""
        return _STATE_ZONES.get(state, cls.EASTERN)

    @classmethod
    def by_state(cls) -> dict[str, str]:
        """Every state's zone, for the form's script that picks the zone when the state is chosen."""
        return {state: str(zone) for state, zone in _STATE_ZONES.items()}


_STATE_ZONES = {
    **dict.fromkeys("CT DE DC FL GA IN KY ME MD MA MI NH NJ NY NC OH PA RI SC VT VA WV".split(), PracticeTimeZone.EASTERN),
    **dict.fromkeys("AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI".split(), PracticeTimeZone.CENTRAL),
    **dict.fromkeys("CO ID MT NM UT WY".split(), PracticeTimeZone.MOUNTAIN),
    **dict.fromkeys("CA NV OR WA".split(), PracticeTimeZone.PACIFIC),
    "AZ": PracticeTimeZone.ARIZONA, "AK": PracticeTimeZone.ALASKA, "HI": PracticeTimeZone.HAWAII,
    "PR": PracticeTimeZone.ATLANTIC,
}


class InstitutionQuerySet(models.QuerySet):
    def reachable_by(self, organization: Organization | int):
        return self.filter(accesses__organization=organization, accesses__status=InstitutionAccess.Status.ACTIVE)

    def in_mode(self, *, sandbox: bool):
        return self.filter(is_sandbox=sandbox)


class Institution(models.Model):
    """A practice or practice group. Global: several developer organizations may reach the same one."""

    subdomain = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    street_address = models.CharField(max_length=200, blank=True)
    street_address_2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    zip_code = models.CharField(max_length=20, blank=True)
    phone_number = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    tz = models.CharField("time zone", max_length=64, choices=PracticeTimeZone.choices, default=PracticeTimeZone.EASTERN,
                          help_text="The practice's time zone: installation slots are shown in it.")
    is_parent_organization = models.BooleanField(default=False, help_text="A multi-location group (DSO/MSO).")
    is_sandbox = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # How many of its locations are live (Location.objects.live()), stored so the board's billed-locations figure
    # sums one number per institution instead of joining every location. Only institutions.board writes it.
    live_locations = models.PositiveIntegerField(default=0, editable=False)

    objects = InstitutionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # The board's page (name order, LIMIT 25) walks this index instead of sorting every institution reached.
        indexes = [models.Index(fields=["name", "id"], name="institution_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """The practice's time zone, to show and reason in. A value Python does not know (typed before the field
        had choices, or after a zone left the tz database) falls back to UTC, which every page names as such,
        rather than failing the page."""
        try:
            return ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class AccessVia(models.TextChoices):
    CREATED = "created", "Created by the organization"
    CONSENT = "consent", "Granted by the practice"


class AccessStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PENDING = "pending", "Pending consent"
    REVOKED = "revoked", "Revoked"


class BoardSection(models.TextChoices):
    """Where the institution shows on this organization's board (institutions.board decides; ALL shows every one)."""
    TODO = "todo", "TO DO"
    IN_PROGRESS = "in_progress", "IN PROGRESS"
    ALL_ONLY = "all_only", "ALL only"


class FiguresFollowUpdate(models.QuerySet):
    """QuerySet.update that keeps a stored board figure (institutions.board) following its rule: an UPDATE of one
    of `followed_fields` reads the rows' `refreshed_by` values first, then hands them to `refresh` (a second
    UPDATE: the rule reads the new values). The board's receivers watch the same fields on save."""

    followed_fields: frozenset[str] = frozenset()
    refreshed_by = "pk"

    def refresh(self, keys: set) -> None:
        raise NotImplementedError

    def update(self, **changes) -> int:
        if not self.followed_fields & changes.keys():
            return super().update(**changes)
        keys = set(self.values_list(self.refreshed_by, flat=True))
        updated = super().update(**changes)
        self.refresh(keys)
        return updated


class InstitutionAccessQuerySet(FiguresFollowUpdate):
    followed_fields = frozenset({"status", "deactivated_at"})  # what the board section reads of the row

    def refresh(self, keys: set) -> None:
        from institutions.board import board_sections_refresh  # board reads this module's models

        board_sections_refresh(InstitutionAccess.objects.filter(pk__in=keys))


class InstitutionAccess(models.Model):
    """One organization's relationship with a practice: how it got there, whether the practice allows it, and
    whether the organization ended it. Deactivation and billing belong to this row, never to the shared
    Institution, Location and Sync rows, so one organization can never end another's access."""

    Via = AccessVia
    Status = AccessStatus

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="institution_accesses")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="accesses")
    via = models.CharField(max_length=16, choices=Via.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # This organization ended its use of the whole institution (its API answers 403, its billing stops).
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # The normalized practice identity (name + ZIP) of institutions this organization created, so two requests or
    # imports at the same moment cannot create the same practice twice (see institutions.services.identity_key).
    identity = models.CharField(max_length=260, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # Derived from this row and the institution's syncs, stored so the board and home page count and page their
    # sections from an index at any size. Only institutions.board writes it (see board_sections_refresh).
    board_section = models.CharField(max_length=16, choices=BoardSection.choices, default=BoardSection.TODO,
                                     editable=False)

    objects = InstitutionAccessQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "institution accesses"
        indexes = [models.Index(fields=["organization", "board_section", "status"], name="access_board_section")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "institution"], name="institution_access_once"),
            models.UniqueConstraint(fields=["organization", "identity"], condition=~Q(identity=""),
                                    name="institution_access_identity_once"),
            models.CheckConstraint(condition=Q(via__in=AccessVia.values), name="institution_access_via_valid"),
            models.CheckConstraint(condition=Q(status__in=AccessStatus.values), name="institution_access_status_valid"),
            models.CheckConstraint(condition=Q(board_section__in=BoardSection.values),
                                   name="institution_access_board_section_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} → {self.institution} ({self.status})"


class LocationQuerySet(FiguresFollowUpdate):
    followed_fields = frozenset({"active", "deactivated_at"})  # what makes a location live (live() below)
    refreshed_by = "institution_id"

    def refresh(self, keys: set) -> None:
        from institutions.board import live_locations_refresh  # board reads this module's models

        live_locations_refresh(keys)  # Institution.live_locations

    def live(self):
        """Locations the Synchronizer serves for at least one organization: activated, not deactivated by all."""
        return self.filter(active=True, deactivated_at__isnull=True)

    def serving(self, organization: Organization | int):  # an organization or its id
        """The one rule for "this location serves this organization": live, the organization's access to the
        institution is active and not ended, and the organization has not deactivated this location."""
        return self.live().filter(
            institution__accesses__organization=organization,
            institution__accesses__status=InstitutionAccess.Status.ACTIVE,
            institution__accesses__deactivated_at__isnull=True,
        ).exclude(deactivations__organization=organization)

    def reachable_by(self, organization: Organization | int, *, sandbox: bool):
        """Locations the organization's API key (of that mode) may read and write."""
        return self.serving(organization).filter(institution__is_sandbox=sandbox)


class Location(models.Model):
    """A practice office. Reachable through the API once active (selected or activated) and not deactivated."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="locations")
    sync = models.ForeignKey("syncs.Sync", null=True, blank=True, on_delete=models.SET_NULL, related_name="locations")
    name = models.CharField(max_length=200)
    street_address = models.CharField(max_length=200, blank=True)
    street_address_2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    zip_code = models.CharField(max_length=20, blank=True)
    country_code = models.CharField(max_length=2, default="US")
    phone_number = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    tz = models.CharField("time zone", max_length=64, default="America/New_York")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    foreign_id = models.CharField(max_length=64, blank=True)
    foreign_id_type = models.CharField(max_length=64, blank=True)
    map_by_operatory = models.BooleanField(default=False)
    insert_appt_client = models.BooleanField(default=False)
    appt_types_map_by_operatory = models.BooleanField(default=False)
    set_availability_by_operatory = models.BooleanField(default=False)
    active = models.BooleanField(default=False, help_text="Selected or activated for API access.")
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LocationQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["institution", "active"], name="location_institution_active")]

    def __str__(self) -> str:
        return self.name

    @property
    def inactive(self) -> bool:
        """The API's `inactive` flag (output only; access decisions use LocationQuerySet.serving)."""
        return not self.active or self.deactivated_at is not None


class LocationDeactivation(models.Model):
    """One organization stopped using one location (API 403, no billing); other organizations keep theirs."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="location_deactivations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="deactivations")
    deactivated_at = models.DateTimeField(default=timezone.now)
    deactivated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "location"], name="location_deactivation_once")]

    def __str__(self) -> str:
        return f"{self.location} deactivated by {self.organization}"


class TimelineEvent(models.Model):
    """One line of an institution's history: who did what, when. Organization-scoped events stay private."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="timeline")
    sync = models.ForeignKey("syncs.Sync", null=True, blank=True, on_delete=models.CASCADE, related_name="timeline")
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                     help_text="Empty for events every organization with access may see.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=254, blank=True, help_text="'Chairside support', or the actor's email.")
    verb = models.CharField(max_length=64)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["institution", "-created_at"], name="timeline_institution_time")]

    def __str__(self) -> str:
        return self.message


class BulkUploadStatus(models.TextChoices):
    UPLOADED = "uploaded", "Checking"
    VALIDATED = "validated", "Checked, waiting for confirmation"
    IMPORTING = "importing", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Import stopped"


class BulkUpload(models.Model):
    """A CSV of practices to onboard at once: checked into rows by a Celery task, then imported by another.

    One per organization and file content (sha256): uploading the same file again leads back to it, so nothing is
    imported twice. Status moves uploaded (the file stored, its check queued or running) -> validated -> importing
    -> done (or failed, resumable) by conditional updates only.
    """

    Status = BulkUploadStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="bulk_uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    row_count = models.PositiveIntegerField(default=0)
    ready_count = models.PositiveIntegerField(default=0, help_text="Rows that will create a sync.")
    error_count = models.PositiveIntegerField(default=0)
    match_count = models.PositiveIntegerField(default=0, help_text="Rows skipped: the practice is already live.")
    processed_count = models.PositiveIntegerField(default=0, help_text="Ready rows the import has handled (progress).")
    created_institution_count = models.PositiveIntegerField(default=0)
    created_sync_count = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True, help_text="Why the import stopped.")
    created_at = models.DateTimeField(default=timezone.now)
    validated_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True, help_text="Last batch checked or imported.")
    heartbeat_at = models.DateTimeField(null=True, blank=True,
                                        help_text="The checking or importing worker's last sign of life: a silent "
                                                  "check or import resumes.")
    check_started_at = models.DateTimeField(null=True, blank=True,
                                            help_text="When the running check started: its claim, so a check taken "
                                                      "over by another worker stops writing.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "sha256"], name="bulk_upload_once_per_file"),
            models.CheckConstraint(condition=Q(status__in=BulkUploadStatus.values),
                                   name="bulk_upload_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"


class BulkUploadFile(models.Model):
    """An uploaded CSV's bytes, from the upload request until its check has stored the rows (then deleted).

    In the database rather than on a disk, so any worker can check it and nothing is lost between processes;
    a table of its own, so the progress polling never reads the file."""

    upload = models.OneToOneField(BulkUpload, primary_key=True, on_delete=models.CASCADE, related_name="file")
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"File of {self.upload_id}"


class BulkUploadRow(models.Model):
    """One CSV row (one sync): its cells as uploaded, what is wrong with them, live matches, and what the import did."""

    class State(models.TextChoices):
        READY = "ready", "Ready to import"
        ERROR = "error", "Has errors"
        MATCH = "match", "Already live: request access"

    class Result(models.TextChoices):
        PENDING = "", "Not imported"
        CREATED = "created", "Created"
        SKIPPED_ERROR = "skipped_error", "Skipped: fix the errors"
        SKIPPED_MATCH = "skipped_match", "Skipped: already live, request access"
        SKIPPED_EXISTS = "skipped_exists", "Skipped: already in your institutions"

    upload = models.ForeignKey(BulkUpload, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(help_text="The row's number in the spreadsheet (the header is row 1).")
    group = models.PositiveIntegerField(help_text="Number of the first row with the same institution columns.")
    data = models.JSONField(default=dict, help_text="The row's cells, by column.")
    errors = models.JSONField(default=dict, blank=True, help_text="Messages by column ('row' for the whole row).")
    match = models.JSONField(default=list, blank=True, help_text="Live institutions this practice may be, and why.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.READY)
    result = models.CharField(max_length=16, choices=Result.choices, blank=True, default=Result.PENDING)
    message = models.CharField(max_length=500, blank=True)
    institution = models.ForeignKey(Institution, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sync = models.ForeignKey("syncs.Sync", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["upload", "number"]
        constraints = [models.UniqueConstraint(fields=["upload", "number"], name="bulk_upload_row_once")]
        indexes = [models.Index(fields=["upload", "state", "group"], name="bulk_upload_row_state_group")]

    def __str__(self) -> str:
        return f"Row {self.number} of {self.upload}"


class ConsentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"


class ConsentRequest(models.Model):
    """An organization asks a practice that is live with the Synchronizer for access (signed, single-use link)."""

    Status = ConsentStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="consent_requests")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="consent_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipient = models.EmailField()
    nonce = models.CharField(max_length=32, default=new_nonce, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(status__in=ConsentStatus.values),
                                              name="consent_request_status_valid")]

    def __str__(self) -> str:
        return f"{self.organization} → {self.institution} ({self.status})"


class PracticeMember(models.Model):
    """Practice staff who decide which developers' apps reach their practice (the "Apps" page)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_member")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="practice_members")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} at {self.institution}"


class PracticeInvitation(models.Model):
    """A signed, single-use link for practice staff to create their account (sent with consent requests)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="practice_invitations")
    email = models.EmailField()
    nonce = models.CharField(max_length=32, default=new_nonce, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email} to {self.institution}"
