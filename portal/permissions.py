from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render


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


def admin_required(view):
    @membership_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_admin:
            raise PermissionDenied("Only admins of your organization can do this.")
        return view(request, *args, **kwargs)

    return wrapper
