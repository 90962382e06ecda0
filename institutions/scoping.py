"""Which institution and location a request may reach, with the seeds' status codes:
400 missing or malformed, 403 subdomain (or location) this key cannot reach, 404 location not in the institution."""

from dataclasses import dataclass

from rest_framework import exceptions

from institutions.models import Institution, Location
from portal.api.auth import ApiClient


@dataclass(frozen=True)
class Scope:
    institution: Institution
    location: Location | None = None


def reachable_institutions(client: ApiClient):
    return Institution.objects.reachable_by(client.organization_id).in_mode(sandbox=client.sandbox)


def institution_for(client: ApiClient, subdomain: str) -> Institution:
    institution = reachable_institutions(client).filter(subdomain=subdomain).first()
    if institution is None:
        # Unknown, another organization's, or the other mode's: the same answer, so nothing leaks.
        error = exceptions.PermissionDenied(f"You do not have access to the institution '{subdomain}' with this API key.")
        error.scope = True  # 404 where the operation's reference has no 403 (portal.api.envelope)
        raise error
    return institution


def location_in(client: ApiClient, institution: Institution, location_id: int) -> Location:
    location = Location.objects.filter(institution=institution, pk=location_id).first()
    if location is None:
        error = exceptions.NotFound(f"Location {location_id} was not found in the institution '{institution.subdomain}'.")
        error.scope = True  # 403 where the operation's reference has no 404 (portal.api.envelope)
        raise error
    if not serving_locations(client, institution).filter(pk=location.pk).exists():
        error = exceptions.PermissionDenied(f"Location {location_id} is not active for your organization.")
        error.scope = True
        raise error
    return location


def scope_for(client: ApiClient, *, subdomain: str | None, location_id: int | None) -> Scope:
    if not subdomain:
        raise exceptions.ValidationError({"subdomain": "This parameter is required."})
    if location_id is not None:
        # Nearly every request names a location this key may use: one query finds both. Anything else takes the
        # path below, which tells the caller which of the seeds' answers applies.
        location = (serving_locations(client).select_related("institution")
                    .filter(pk=location_id, institution__subdomain=subdomain).first())
        if location is not None:
            return Scope(institution=location.institution, location=location)
    institution = institution_for(client, subdomain)
    location = location_in(client, institution, location_id) if location_id is not None else None
    return Scope(institution=institution, location=location)


def serving_locations(client: ApiClient, institution: Institution | None = None):
    """The locations this key may use: those serving its organization (LocationQuerySet.serving) in the key's own
    mode, optionally in one institution. The mode matters where no institution narrows the query (a detail by id
    alone): a sandbox key must never reach a production practice's records."""
    locations = Location.objects.reachable_by(client.organization_id, sandbox=client.sandbox)
    return locations.filter(institution=institution) if institution is not None else locations
