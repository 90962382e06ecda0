from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Developer organizations"

    def ready(self) -> None:
        # In ready(), not at the top: these modules use models, which exist only once every app is loaded.
        from portal import emails  # noqa: F401  (registers the email builders)
