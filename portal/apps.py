from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Developer organizations"

    def ready(self) -> None:
        from portal import checks, emails  # noqa: F401  (registers the deployment checks and the email builders)
