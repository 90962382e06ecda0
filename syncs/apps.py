from django.apps import AppConfig


class SyncsConfig(AppConfig):
    name = "syncs"

    def ready(self) -> None:
        from syncs import emails  # noqa: F401  (registers the email builders)
