from django.apps import AppConfig


class SyncsConfig(AppConfig):
    name = "syncs"

    def ready(self) -> None:
        # In ready(), not at the top: these modules use models, which exist only once every app is loaded.
        from portal.signals import organization_created
        from syncs import emails, scheduling  # noqa: F401  (register the email builders)
        from syncs.sandbox import sandbox_create_for_new_organization

        organization_created.connect(sandbox_create_for_new_organization, dispatch_uid="syncs.sandbox")
