"""The support console's gate: who may enter the admin is decided here, on the user, never on the URL.

`has_permission` runs for every admin view whatever prefix or mount point the request came through
(SCRIPT_NAME, a proxy path), so the two-factor requirement for staff cannot be skipped by changing the path.
"""

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect


def staff_mfa_missing(user) -> bool:
    """ADMIN_REQUIRES_MFA is on and this staff user has not enrolled two-factor authentication yet."""
    if not settings.ADMIN_REQUIRES_MFA:
        return False
    from allauth.mfa.utils import is_mfa_enabled

    return not is_mfa_enabled(user)


class SupportAdminSite(admin.AdminSite):
    site_header = "Chairside support console"
    site_title = "Chairside support"
    index_title = "Queues"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin, ours and third-party, writes support's changes and actions to our audit log."""
        from portal.admin_audit import AuditedAdminMixin

        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedAdminMixin):
            admin_class = type(admin_class.__name__, (AuditedAdminMixin, admin_class), {})
        return super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and not staff_mfa_missing(request.user)

    def login(self, request, extra_context=None):
        # Staff sign in through allauth (its rate limits and two-factor step), not the admin's own form.
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and staff_mfa_missing(user):
            messages.warning(request, "Set up two-factor authentication to use the support console.")
            return redirect("mfa_index")
        return secure_admin_login(super().login)(request, extra_context)
