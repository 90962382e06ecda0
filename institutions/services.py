from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.crypto import get_random_string

from institutions.models import Institution, InstitutionAccess
from portal.audit import audit_record
from portal.models import Organization
from portal.permissions import can
from institutions.timeline import timeline_record
from syncs.models import EngineerSlot


# Subdomains live in portal paths (/institutions/<subdomain>/): never one of the paths' own names.
RESERVED_SUBDOMAINS = frozenset({"new", "upload", "subdomain", "www", "api", "admin"})


def subdomain_base(name: str) -> str:
    """The readable part of a subdomain, from the name alone (no database: the preview shows only this)."""
    return slugify(name)[:50].strip("-") or "practice"


SUBDOMAIN_SUFFIX_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def subdomain_for(name: str) -> str:
    """A unique, readable subdomain derived from the institution's name."""
    base = subdomain_base(name)
    candidate = base
    while candidate in RESERVED_SUBDOMAINS or Institution.objects.filter(subdomain=candidate).exists():
        candidate = f"{base}-{get_random_string(5, 'abcdefghijkmnpqrstuvwxyz23456789')}"
    return candidate


    return subdomains_for([name])[0]


def subdomains_for(names: list[str]) -> list[str]:
    """A unique, readable subdomain for each name (the slug, or the slug and a random suffix when it is taken).

    One query of the taken ones for the whole list (the CSV import names 500 institutions at a time); the
    subdomains are distinct from each other too.
    """
    bases = [subdomain_base(name) for name in names]
    alternatives = [_with_suffix(base) for base in bases]
    taken = set(Institution.objects.filter(subdomain__in=[*bases, *alternatives])
                .values_list("subdomain", flat=True)) | RESERVED_SUBDOMAINS
    chosen = []
    for base, alternative in zip(bases, alternatives):
        candidate = base if base not in taken else alternative
        while candidate in taken:  # a random suffix taken too (earlier in this list, or very rarely in the database)
            candidate = _with_suffix(base)
        taken.add(candidate)
        chosen.append(candidate)
    return chosen


def _with_suffix(base: str) -> str:
    return f"{base}-{get_random_string(5, SUBDOMAIN_SUFFIX_ALPHABET)}"


def institution_name_key(name: str) -> str:
    return " ".join(slugify(name).split("-"))


def identity_key(name: str, zip_code: str) -> str:
    """The one normalization of "the same practice" within an organization: its name's words and the ZIP's first
    five characters. Create Institution, the CSV upload and the database constraint all use it."""
    return f"{institution_name_key(name)}|{(zip_code or '').strip()[:5]}"


@transaction.atomic
def institution_create(*, organization: Organization, actor, data: dict, ip: str | None = None) -> Institution:
    """A practice this organization onboards; it starts in TO DO with "Create sync"."""
    if organization.production_enabled_at is None:
        raise ValidationError("Production is not enabled for your organization yet: onboard practices once support upgrades you.")
    identity = identity_key(data["name"], data["zip_code"])
    duplicate = ValidationError({"name": f"You already have an institution called {data['name']} at ZIP {data['zip_code']}."})
    if InstitutionAccess.objects.filter(organization=organization, identity=identity).exists():
        raise duplicate
    institution = _institution_insert(data)
    try:
        with transaction.atomic():  # the constraint decides when two requests race past the check above
            InstitutionAccess.objects.create(organization=organization, institution=institution,
                                             via=InstitutionAccess.Via.CREATED, identity=identity)
    except IntegrityError:
        raise duplicate from None
    timeline_record(institution=institution, actor=actor, organization=organization, verb="institution.created",
                    message=f"Created the institution (subdomain {institution.subdomain})")
    audit_record(verb="institution.created", actor=actor, organization=organization, target=institution, ip=ip)
    return institution


def _institution_insert(data: dict) -> Institution:
    """Two practices named alike created at the same moment: the subdomain's unique index decides, and the one
    that lost takes a suffixed subdomain instead of failing."""
    subdomain = subdomain_for(data["name"])
    for _ in range(3):
        try:
            with transaction.atomic():
                return Institution.objects.create(subdomain=subdomain, is_sandbox=False, **data)
        except IntegrityError:
            subdomain = _with_suffix(subdomain_base(data["name"]))
    raise ValidationError("Creating the institution collided with another at the same moment: submit the form again.")


def institution_can_be_deleted(*, institution: Institution, membership) -> bool:
    """The one place that decides who may delete an institution: an admin of the organization that created it,
    while no sync of it was ever activated (after that, practices and API clients rely on it: deactivate
    instead) and no other organization uses it (their relationship is not ours to end)."""
    if membership is None or not can(membership, "institution.delete") or institution.is_sandbox:
        return False
    created_here = InstitutionAccess.objects.filter(institution=institution, organization=membership.organization,
                                                    via=InstitutionAccess.Via.CREATED).exists()
    others = InstitutionAccess.objects.filter(institution=institution).exclude(organization=membership.organization)
    return (created_here and not others.exists()
            and not institution.syncs.filter(activated_at__isnull=False).exists())


@transaction.atomic
def institution_delete(*, institution: Institution, actor_membership, ip: str | None = None) -> None:
    """Remove an institution created by mistake, with its syncs, locations and timeline."""
    institution = Institution.objects.select_for_update().get(pk=institution.pk)
    if not institution_can_be_deleted(institution=institution, membership=actor_membership):
        raise PermissionDenied(f"{institution.name} can't be deleted: only an admin of the organization that created it "
                               "can, before any of its syncs is active and while no other organization uses it. "
                               "Deactivate it instead.")
    audit_record(verb="institution.deleted", actor=actor_membership.user, organization=actor_membership.organization,
                 target=institution, target_label=f"{institution.name} ({institution.subdomain})", ip=ip,
                 details={"subdomain": institution.subdomain, "syncs": institution.syncs.count()})
    # A booked installation slot opens again for others.
    EngineerSlot.objects.filter(sync__institution=institution).update(sync=None, booked_by=None, booked_at=None,
                                                                       reminder_sent_at=None)
    institution.delete()
