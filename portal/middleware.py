from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.functional import SimpleLazyObject

from portal.models import Membership

# The session remembers which of the user's organizations the portal shows; it is checked against the user's
# memberships on every request, so a stale or forged value never reaches another organization.
CURRENT_ORGANIZATION = "current_organization"


def _membership_for(request) -> Membership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("organization").filter(user=user)
    wanted = request.session.get(CURRENT_ORGANIZATION)
    if wanted:
        chosen = memberships.filter(organization__public_id=wanted).first()
        if chosen is not None:
            return chosen
    # None chosen yet, or the user left the chosen one: the oldest membership.
    return memberships.order_by("created_at", "id").first()


class OrganizationMiddleware:
    """Attach `request.membership` (lazily, one query): the signed-in user's place in the current organization."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _membership_for(request))
        return self.get_response(request)


# Pages a member who must enrol two-factor authentication can still open: enrolling itself (allauth's account
# and mfa pages, signing out) and switching to another organization.
MFA_EXEMPT_URL_NAMES = frozenset({"organization_switch"})


def _exempt_from_organization_mfa(request) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return True  # a 404 opens nothing
    return match.func.__module__.startswith("allauth.") or match.url_name in MFA_EXEMPT_URL_NAMES


class OrganizationMfaMiddleware:
    """An organization that requires two-factor authentication: its members enrol before anything else opens."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and request.membership and request.membership.organization.require_mfa:
            if not is_mfa_enabled(request.user) and not _exempt_from_organization_mfa(request):
                messages.warning(request, f"{request.membership.organization.name} requires two-factor authentication: "
                                          "set up an authenticator app to continue.")
                return redirect("mfa_activate_totp")
        return self.get_response(request)
