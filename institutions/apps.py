from django.apps import AppConfig


class InstitutionsConfig(AppConfig):
    name = "institutions"

    def ready(self) -> None:
        from institutions import consent, practice  # noqa: F401  (register the email builders)
