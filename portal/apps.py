from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    default = True  # this module also holds the admin's config below
    name = "portal"
    verbose_name = "Developer organizations"

    def ready(self) -> None:
        # In ready(), not at the top: these modules use models, which exist only once every app is loaded.
        from portal import api_keys, checks, emails  # noqa: F401  (registers the deployment checks, the email builders
        # and the receivers that forget a changed API key's cached state)
        from portal.support import support_group_ensure_after_migrate

        post_migrate.connect(support_group_ensure_after_migrate, sender=self)


class ChairsideAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site: it decides who may enter (staff, with two-factor when required)."""

    default = False
    default_site = "portal.admin_site.SupportAdminSite"
