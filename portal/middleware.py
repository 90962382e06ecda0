from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.functional import SimpleLazyObject

from portal.models import Membership


def _membership_for(request) -> Membership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("organization").filter(user=user).first()


class OrganizationMiddleware:
    """Attach `request.membership` (lazily, one query) for the signed-in developer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _membership_for(request))
        return self.get_response(request)


class StaffMfaMiddleware:
    """With ADMIN_REQUIRES_MFA, staff must enrol two-factor authentication before the admin opens."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.ADMIN_REQUIRES_MFA
            and request.path.startswith("/admin/")
            and request.user.is_authenticated
            and request.user.is_staff
        ):
            if not is_mfa_enabled(request.user):
                messages.warning(request, "Set up two-factor authentication to use the support console.")
                return redirect("mfa_index")
        return self.get_response(request)
