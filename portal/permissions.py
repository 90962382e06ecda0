"""Which organization role may do which action: written once, here.

Views declare their action with `@permission_required("<action>")`; services that take the acting membership
call `require(membership, "<action>")`; templates ask `{% if perms_org.<action_with_underscores> %}` through
the context processor. The README's permission table is this table in words.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from portal.models import Membership, Role

ADMIN, DEVELOPER, VIEWER = Role.ADMIN, Role.DEVELOPER, Role.VIEWER
EVERYONE = frozenset({ADMIN, DEVELOPER, VIEWER})
BUILDERS = frozenset({ADMIN, DEVELOPER})
ADMINS = frozenset({ADMIN})

PERMISSIONS: dict[str, frozenset[str]] = {
    # Reading pages: institutions, syncs (without secrets), sync status, users, the home page.
    "portal.view": EVERYONE,
    # A member's own view of the portal: sandbox or production data.
    "portal.switch_mode": EVERYONE,
    # Onboarding work.
    "institution.create": BUILDERS,
    "institution.upload": BUILDERS,
    "institution.request_access": BUILDERS,
    "sync.create": BUILDERS,
    "sync.see_secrets": BUILDERS,  # product key, extension token
    "sync.email_instructions": BUILDERS,
    "sync.submit_credentials": BUILDERS,
    "sync.book_install": BUILDERS,
    "sync.select_locations": BUILDERS,
    "sync.retry": BUILDERS,  # start again after a failed installation
    "sync.request_locations": BUILDERS,  # ask support to activate more locations of an active sync
    # Admin-only; each writes an audit event.
    "sync.change_downtime": ADMINS,
    "sync.request_reinstall": ADMINS,
    "locations.deactivate": ADMINS,
    "institution.delete": ADMINS,  # and only as institutions.services.institution_can_be_deleted allows
    "production.request": ADMINS,  # ask support to enable production
    "api_keys.manage": ADMINS,
    "members.invite": ADMINS,
    "members.change_role": ADMINS,
    "members.delete": ADMINS,
    "organization.require_mfa": ADMINS,
    "audit.view": ADMINS,
}

REFUSALS = {
    "portal.view": "You need a role in this organization to see this page.",
}


def can(membership: Membership | None, action: str) -> bool:
    """True when the membership's role may do `action`. An unknown action is a programming error."""
    allowed = PERMISSIONS[action]
    return bool(membership) and membership.role in allowed


def require(membership: Membership | None, action: str) -> None:
    if not can(membership, action):
        roles = " or ".join(sorted(Role(role).label.lower() + "s" for role in PERMISSIONS[action]))
        raise PermissionDenied(REFUSALS.get(action, f"Only {roles} of your organization can do this."))


def membership_required(view):
    """Signed-in developers with an organization; others see why they can't go on."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership:
            if hasattr(request.user, "practice_member"):  # practice staff manage their apps, not developer pages
                return redirect("practice_apps")
            return render(request, "portal/no_organization.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def permission_required(action: str):
    """The view decorator: a member of the current organization whose role may do `action`."""
    if action not in PERMISSIONS:
        raise KeyError(f"Unknown action {action!r}: add it to portal.permissions.PERMISSIONS")

    def decorator(view):
        @membership_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            require(request.membership, action)
            return view(request, *args, **kwargs)

        wrapper.permission_action = action
        return wrapper

    return decorator


def allowed_actions(membership: Membership | None) -> dict[str, bool]:
    """For templates: {"sync_see_secrets": True, ...} (dots are not usable in template lookups)."""
    return {action.replace(".", "_"): can(membership, action) for action in PERMISSIONS}
