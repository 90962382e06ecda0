"""The Support group: exactly the model permissions Chairside support needs, nothing that edits accounts.

Support staff are `is_staff` users in this group, never superusers (those are for operators, made with
`createsuperuser`). Kept in step after every `migrate` and by `seed_demo --staff`; idempotent.
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.db import transaction

SUPPORT_GROUP = "Support"

# "<app>.<codename>" for each duty.
SUPPORT_PERMISSIONS = frozenset({
    # Organizations: look up, enable production (an admin action gated on this permission).
    "portal.view_organization", "portal.enable_production", "portal.view_productionaccessrequest",
    "portal.view_membership", "portal.view_invitation",
    # Accounts: find a user; the User admin keeps passwords, flags, groups and permissions out of reach.
    "portal.view_user",
    # Syncs: queues, transitions (admin actions need change) and revealing credentials (audited).
    "syncs.view_sync", "syncs.change_sync",
    # Engineers' installation hours.
    "syncs.view_engineerslot", "syncs.add_engineerslot", "syncs.change_engineerslot", "syncs.delete_engineerslot",
    # Consent requests and location activation requests; reactivating deactivated locations.
    "institutions.view_consentrequest",
    "syncs.view_locationactivationrequest", "syncs.change_locationactivationrequest",
    "institutions.view_institution", "institutions.view_institutionaccess",
    "institutions.view_location", "institutions.change_location",
    # Our audit log (read-only for everyone).
    "portal.view_auditevent",
    # Why an email or a webhook did not arrive.
    "portal.view_outboundemail", "syncs.view_webhookendpoint", "syncs.change_webhookendpoint",
    "syncs.view_webhooksubscription", "syncs.view_webhookdelivery",
})


@transaction.atomic
def support_group_ensure(*, using: str = "default"):
    """Create or correct the Support group so it holds SUPPORT_PERMISSIONS exactly."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for label in {name.split(".")[0] for name in SUPPORT_PERMISSIONS}:
        # Permissions are created after each app's migrations; make sure they exist whatever the order.
        create_permissions(apps.get_app_config(label), verbosity=0, using=using, apps=apps)
    wanted = []
    for name in sorted(SUPPORT_PERMISSIONS):
        app_label, codename = name.split(".")
        wanted.append(Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename))
    group, _ = Group.objects.using(using).get_or_create(name=SUPPORT_GROUP)
    group.permissions.set(wanted)
    return group


def support_group_ensure_after_migrate(sender, using="default", **kwargs):
    """post_migrate (once portal's migrations ran): the group follows SUPPORT_PERMISSIONS on every deploy."""
    support_group_ensure(using=using)
