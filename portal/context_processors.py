from django.conf import settings
from django.utils.functional import SimpleLazyObject

from portal.permissions import allowed_actions


def organization(request) -> dict:
    membership = getattr(request, "membership", None)
    if not membership:
        return {"membership": None, "organization": None, "test_mode": False, "can": allowed_actions(None),
                "other_memberships": [], "support_email": settings.SUPPORT_EMAIL}
    return {
        "support_email": settings.SUPPORT_EMAIL,  # every "contact support" is a link
        "membership": membership,
        "organization": membership.organization,
        "test_mode": membership.in_test_mode,
        # What the member's role allows, for showing only the buttons that work: {% if can.sync_see_secrets %}.
        "can": allowed_actions(membership),
        # The organization switcher: the user's other organizations (one query, only when the frame renders).
        "other_memberships": SimpleLazyObject(lambda: list(
            membership.user.memberships.exclude(pk=membership.pk).select_related("organization")
            .order_by("organization__name"))),
    }
