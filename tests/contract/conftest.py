from tests.api.conftest import api, locations, sandbox, sandbox_key  # noqa: F401  (shared API fixtures)
