from django.apps import AppConfig


class SyncsConfig(AppConfig):
    name = "syncs"

    def ready(self) -> None:
        from syncs import emails, scheduling  # noqa: F401  (register the email builders)
