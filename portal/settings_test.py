"""Test settings: the same as local, faster hashing, mail in memory, tasks eager unless a test says otherwise."""

import os

os.environ.setdefault("DJANGO_ENV", "test")

from portal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
SANDBOX_SAMPLE_DATA = False  # filled on demand by the API tests' `sandbox` fixture
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory, so a real Celery worker in another process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405

import tempfile  # noqa: E402

MEDIA_ROOT = tempfile.mkdtemp(prefix="chairside-media-")  # uploads in tests never land in the repository
