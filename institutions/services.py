from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.crypto import get_random_string

from institutions.models import Institution, InstitutionAccess
from portal.audit import audit_record
from portal.models import Organization
from syncs.models import EngineerSlot
from syncs.onboarding import timeline_record


# Subdomains live in portal paths (/institutions/<subdomain>/): never one of the paths' own names.
RESERVED_SUBDOMAINS = frozenset({"new", "upload", "subdomain", "www", "api", "admin"})


def subdomain_for(name: str) -> str:
    """A unique, readable subdomain derived from the institution's name."""
    base = slugify(name)[:50].strip("-") or "practice"
    candidate = base
    while candidate in RESERVED_SUBDOMAINS or Institution.objects.filter(subdomain=candidate).exists():
        candidate = f"{base}-{get_random_string(5, 'abcdefghijkmnpqrstuvwxyz23456789')}"
    return candidate


def institution_name_key(name: str) -> str:
    return " ".join(slugify(name).split("-"))


@transaction.atomic
def institution_create(*, organization: Organization, actor, data: dict, ip: str | None = None) -> Institution:
    """A practice this organization onboards; it starts in TO DO with "Create sync"."""
    if organization.production_enabled_at is None:
        raise ValidationError("Production is not enabled for your organization yet: onboard practices once support upgrades you.")
    duplicates = Institution.objects.reachable_by(organization).filter(is_sandbox=False, zip_code=data["zip_code"])
    if any(institution_name_key(other.name) == institution_name_key(data["name"]) for other in duplicates):
        raise ValidationError({"name": f"You already have an institution called {data['name']} at ZIP {data['zip_code']}."})
    institution = Institution.objects.create(subdomain=subdomain_for(data["name"]), is_sandbox=False, **data)
    InstitutionAccess.objects.create(organization=organization, institution=institution, via=InstitutionAccess.Via.CREATED)
    timeline_record(institution=institution, actor=actor, organization=organization, verb="institution.created",
                    message=f"Created the institution (subdomain {institution.subdomain})")
    audit_record(verb="institution.created", actor=actor, organization=organization, target=institution, ip=ip)
    return institution


@transaction.atomic
def institution_create_sandbox(*, organization: Organization) -> Institution:
    """Every organization gets its own '<Org> Demo Practice' to try the API against."""
    name = f"{organization.name} Demo Practice"
    institution = Institution.objects.create(
        name=name,
        subdomain=subdomain_for(f"{organization.name}-demo"),
        is_sandbox=True,
        street_address="100 Sample Street",
        city="Austin",
        state="TX",
        zip_code="78701",
        phone_number="5125550100",
        contact_name="Demo Practice Manager",
    )
    InstitutionAccess.objects.create(organization=organization, institution=institution, via=InstitutionAccess.Via.CREATED)
    if settings.SANDBOX_SAMPLE_DATA:
        # In the same transaction (about half a second of bulk inserts): a sandbox is never half-filled.
        from syncs.sandbox import sandbox_populate

        sandbox_populate(institution=institution)
    return institution


def institution_can_be_deleted(*, institution: Institution, membership) -> bool:
    """The one place that decides who may delete an institution (the ownership rules will refine it).

    Today: an admin of the organization that created it, while no sync of it was ever activated
    (after that, practices and API clients rely on it: deactivate instead).
    """
    if membership is None or not membership.is_admin or institution.is_sandbox:
        return False
    created_here = InstitutionAccess.objects.filter(institution=institution, organization=membership.organization,
                                                    via=InstitutionAccess.Via.CREATED).exists()
    return created_here and not institution.syncs.filter(activated_at__isnull=False).exists()


@transaction.atomic
def institution_delete(*, institution: Institution, actor_membership, ip: str | None = None) -> None:
    """Remove an institution created by mistake, with its syncs, locations and timeline."""
    institution = Institution.objects.select_for_update().get(pk=institution.pk)
    if not institution_can_be_deleted(institution=institution, membership=actor_membership):
        raise PermissionDenied(f"{institution.name} can't be deleted: only an admin of the organization that created it "
                               "can, before any of its syncs is active. Deactivate it instead.")
    audit_record(verb="institution.deleted", actor=actor_membership.user, organization=actor_membership.organization,
                 target=institution, target_label=f"{institution.name} ({institution.subdomain})", ip=ip,
                 details={"subdomain": institution.subdomain, "syncs": institution.syncs.count()})
    # A booked installation slot opens again for others.
    EngineerSlot.objects.filter(sync__institution=institution).update(sync=None, booked_by=None, booked_at=None,
                                                                       reminder_sent_at=None)
    institution.delete()
