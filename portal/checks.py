"""Deployment checks (`manage.py check --deploy`): fail before the first request, not at the first encryption."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def credentials_encryption_keys_check(app_configs, **kwargs) -> list[Error]:
    if not settings.PRODUCTION:
        return []
    keys = list(settings.CREDENTIALS_ENCRYPTION_KEYS)
    if not keys:
        return [Error("CREDENTIALS_ENCRYPTION_KEYS is not set.",
                      hint="Set it to one or more comma-separated Fernet keys, newest first "
                           "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').",
                      id="chairside.E001")]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            errors.append(Error(f"CREDENTIALS_ENCRYPTION_KEYS: key {position} is not a Fernet key.",
                                hint="Generate keys with Fernet.generate_key().", id="chairside.E002"))
    return errors
