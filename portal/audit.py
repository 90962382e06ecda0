import ipaddress

from django.conf import settings
from django.db import models
from django.http import HttpRequest

from portal.models import AuditEvent, Membership, Organization, User

SUPPORT_LABEL = "Chairside support"


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXIES)


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address, for rate limits and audit events: the peer (REMOTE_ADDR), unless the peer is one
    of settings.TRUSTED_PROXIES; then the nearest X-Forwarded-For hop that is not a trusted proxy. Hops further
    left were written by the client itself and are never believed."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR") or None
    if not address or not _trusted(address):
        return address
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:  # garbage in the chain: stop at the last address a trusted proxy vouched for
            return address
        address = hop
        if not _trusted(hop):
            return hop
    return address


def audit_record(
    *,
    verb: str,
    actor: User | None,
    organization: Organization | None,
    target: models.Model | None = None,
    target_label: str = "",
    ip: str | None = None,
    details: dict | None = None,
    actor_label: str = "",
) -> AuditEvent:
    if (not actor_label and actor is not None and actor.is_staff and organization is not None
            and not Membership.objects.filter(user=actor, organization=organization).exists()):
        actor_label = SUPPORT_LABEL  # the organization sees support's work as support's, not a staff member's name
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
        actor_label=actor_label,
        verb=verb,
        target_type=target._meta.label if target is not None else "",
        target_id=str(getattr(target, "public_id", None) or getattr(target, "pk", "") or ""),
        target_label=target_label or (str(target) if target is not None else ""),
        ip_address=ip,
        details=details or {},
    )
