"""Support's work in the admin reaches our audit log, where the organization it touched sees it.

One place for every ModelAdmin (SupportAdminSite.register mixes this in): additions, changes, deletions and
every admin action write AuditEvents, one per organization the object belongs to, shown to that organization
as "Chairside support" (the staff member's own address stays in the event for us).
"""

from functools import wraps

from portal.audit import SUPPORT_LABEL, client_ip
from portal.models import AuditEvent, Organization


def organization_ids_of(obj) -> list[int]:
    """The organizations an object belongs to. Duck-typed so the portal app needs no import of the others."""
    if isinstance(obj, Organization):
        return [obj.pk]
    if getattr(obj, "organization_id", None):
        return [obj.organization_id]
    if getattr(obj, "endpoint_id", None):  # webhook subscriptions and deliveries
        return [obj.endpoint.organization_id]
    if hasattr(obj, "accesses") and hasattr(obj, "subdomain"):  # an institution: every organization reaching it
        return list(obj.accesses.filter(status=obj.accesses.model.Status.ACTIVE).values_list("organization_id", flat=True))
    for parent in ("institution", "sync"):  # locations, syncs, timeline events, engineer slots
        related = getattr(obj, parent, None) if getattr(obj, f"{parent}_id", None) else None
        if related is not None:
            return organization_ids_of(related)
    if hasattr(obj, "memberships") and hasattr(obj, "is_staff"):  # a user
        return list(obj.memberships.values_list("organization_id", flat=True))
    return []


def admin_audit(*, request, verb: str, obj, details: dict | None = None) -> list[AuditEvent]:
    target = {"target_type": obj._meta.label, "target_id": str(getattr(obj, "public_id", None) or obj.pk or ""),
              "target_label": str(obj)[:254]}
    user = request.user
    return [
        AuditEvent.objects.create(organization_id=org_id, actor=user, actor_email=user.email, actor_label=SUPPORT_LABEL,
                                  verb=verb, ip_address=client_ip(request), details=details or {}, **target)
        for org_id in (organization_ids_of(obj) or [None])
    ]


class AuditedAdminMixin:
    """log_addition/log_change/log_deletions and actions also write our AuditEvents."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        admin_audit(request=request, verb="admin.added", obj=obj, details={"change": message})
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        admin_audit(request=request, verb="admin.changed", obj=obj, details={"change": message})
        return entry

    def log_deletions(self, request, queryset):
        objects = list(queryset)  # called before the deletion
        entries = super().log_deletions(request, objects)
        for obj in objects:
            admin_audit(request=request, verb="admin.deleted", obj=obj)
        return entries

    def get_actions(self, request):
        actions = super().get_actions(request)
        return {key: (func if name == "delete_selected" else _audited_action(func, name), name, description)
                for key, (func, name, description) in actions.items()}  # delete_selected: by log_deletions


def _audited_action(func, name: str):
    @wraps(func)
    def run(modeladmin, request, queryset):
        objects = list(queryset)  # as selected, before the action changes them
        response = func(modeladmin, request, queryset)
        # An action that first shows a form (a reason to give) has done nothing yet; it is audited when applied.
        if not getattr(response, "asks_for_input", False):
            for obj in objects:
                admin_audit(request=request, verb=f"admin.action.{name}", obj=obj)
        return response

    return run
