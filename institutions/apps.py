from django.apps import AppConfig


class InstitutionsConfig(AppConfig):
    name = "institutions"

    def ready(self) -> None:
        # In ready(), not at the top: these modules use models, which exist only once every app is loaded.
        from institutions import board, consent, practice  # noqa: F401  (email builders, board receivers)
