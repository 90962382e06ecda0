from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.crypto import get_random_string

from institutions.models import Institution, InstitutionAccess
from portal.audit import audit_record
from portal.models import Organization
from institutions.timeline import timeline_record


# Subdomains live in portal paths (/institutions/<subdomain>/): never one of the paths' own names.
RESERVED_SUBDOMAINS = frozenset({"new", "upload", "subdomain", "www", "api", "admin"})


SUBDOMAIN_SUFFIX_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def subdomain_for(name: str) -> str:
    """A unique, readable subdomain derived from the institution's name."""
    return subdomains_for([name])[0]


def subdomains_for(names: list[str]) -> list[str]:
    """A unique, readable subdomain for each name (the slug, or the slug and a random suffix when it is taken).

    One query of the taken ones for the whole list (the CSV import names 500 institutions at a time); the
    subdomains are distinct from each other too.
    """
    bases = [slugify(name)[:50].strip("-") or "practice" for name in names]
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
