from django.db import models
from django.http import HttpRequest

from portal.models import AuditEvent, Membership, Organization, User

SUPPORT_LABEL = "Chairside support"


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address. Behind a proxy, set it up to pass the client address as REMOTE_ADDR."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


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
