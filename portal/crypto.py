"""Encryption at rest for sync secrets (cloud credentials, product keys, extension tokens).

Keys come from CREDENTIALS_ENCRYPTION_KEYS: comma-separated Fernet keys, newest first. The newest
encrypts; all decrypt. To rotate: put a new key first, deploy, run `manage.py reencrypt_secrets`, then
drop the old key. Locally (no keys configured) a key derived from SECRET_KEY is used.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("CREDENTIALS_ENCRYPTION_KEYS must be Fernet keys (Fernet.generate_key())") from exc


def configured_keys() -> tuple[str, ...]:
    keys = tuple(settings.CREDENTIALS_ENCRYPTION_KEYS)
    if keys:
        return keys
    if settings.PRODUCTION:
        raise ImproperlyConfigured("CREDENTIALS_ENCRYPTION_KEYS is required in production")
    derived = hashlib.sha256(f"chairside-credentials:{settings.SECRET_KEY}".encode()).digest()
    return (base64.urlsafe_b64encode(derived).decode(),)


def encrypt(plaintext: str) -> str:
    return _fernet(configured_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(configured_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A secret could not be decrypted with any configured key") from exc


def reencrypt(token: str) -> str:
    """The same secret under the newest key (no-op in meaning; changes the ciphertext)."""
    return _fernet(configured_keys()).rotate(token.encode()).decode()


def fingerprint(secret: str) -> str:
    """SHA-256 used to find a sync by its product key or extension token without decrypting anything."""
    return hashlib.sha256(secret.encode()).hexdigest()
