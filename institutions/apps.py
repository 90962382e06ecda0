from django.apps import AppConfig


class InstitutionsConfig(AppConfig):
    name = "institutions"

    def ready(self) -> None:
        from institutions import consent  # noqa: F401  (registers the consent email builder)
