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
