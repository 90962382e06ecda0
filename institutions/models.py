from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.models import Organization


class InstitutionQuerySet(models.QuerySet):
    def reachable_by(self, organization: Organization):
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
    tz = models.CharField("time zone", max_length=64, default="America/New_York",
                          help_text="The practice's time zone: installation slots are shown in it.")
    is_parent_organization = models.BooleanField(default=False, help_text="A multi-location group (DSO/MSO).")
    is_sandbox = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = InstitutionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InstitutionAccess(models.Model):
    """Which organization reaches which institution, and how it got there."""

    class Via(models.TextChoices):
        CREATED = "created", "Created by the organization"
        CONSENT = "consent", "Granted by the practice"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending consent"
        REVOKED = "revoked", "Revoked"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="institution_accesses")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="accesses")
    via = models.CharField(max_length=16, choices=Via.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "institution accesses"
        constraints = [
            models.UniqueConstraint(fields=["organization", "institution"], name="institution_access_once"),
            models.CheckConstraint(condition=Q(via__in=["created", "consent"]), name="institution_access_via_valid"),
            models.CheckConstraint(condition=Q(status__in=["active", "pending", "revoked"]), name="institution_access_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} → {self.institution} ({self.status})"


class LocationQuerySet(models.QuerySet):
    def reachable_by(self, organization: Organization, *, sandbox: bool):
        """Locations the organization's API key (of that mode) may read and write."""
        return self.filter(
            institution__is_sandbox=sandbox,
            institution__accesses__organization=organization,
            institution__accesses__status=InstitutionAccess.Status.ACTIVE,
            active=True,
            deactivated_at__isnull=True,
        )


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
        return not self.active or self.deactivated_at is not None


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
