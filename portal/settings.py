"""Chairside settings: one module, driven by the environment, with defaults that run locally.

Local defaults: SQLite in var/, Celery tasks run eagerly, emails go to the console and var/mail/.
Set DJANGO_ENV=production for production settings (see .env.example and README.md).
"""

from datetime import timedelta
from pathlib import Path
import ipaddress
import os
import secrets

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DJANGO_ENV = env("DJANGO_ENV", "local")
if DJANGO_ENV not in {"local", "test", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be local, test or production")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)


def local_secret_key(path: Path) -> str:
    """Outside production without SECRET_KEY: a random key made on first run and kept in var/ (never committed),
    so a careless deployment never signs tokens with a key published in the repository. Every local process
    (web, worker, tests) reads the same file. Written aside, then linked into place: a racing process either
    finds the complete file or loses the link and reads the winner's."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required when DJANGO_ENV=production")
    SECRET_KEY = local_secret_key(VAR_DIR / "secret_key")



def trusted_proxies(values: list[str]) -> list:
    try:
        return [ipaddress.ip_network(value, strict=False) for value in values]
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from None


# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed; see portal.audit.client_ip.
TRUSTED_PROXIES = trusted_proxies(env_list("TRUSTED_PROXIES"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PORTAL_BASE_URL = env("PORTAL_BASE_URL", f"http://127.0.0.1:{env('PORT', '8000')}").rstrip("/")
SUPPORT_EMAIL = env("SUPPORT_EMAIL", "support@chairside.local")  # production requests and other queues reach support here
# Where staff install the browser extension from (the store listing); the sync page and its steps link here.
EXTENSION_STORE_URL = env("EXTENSION_STORE_URL", "https://chromewebstore.google.com/search/Chairside")

INSTALLED_APPS = [
    "portal.apps.ChairsideAdminConfig",  # django.contrib.admin with the support console's gate
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal",
    "institutions",
    "syncs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.outage.OutageMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.OrganizationMiddleware",
    "portal.middleware.OrganizationMfaMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.organization",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite only for local runs: wait for a busy writer instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploads (patients' documents): private, never served as static files; the API streams them to a key that may
# reach the patient (GET /api/patients/{id}/documents/{document_id}/file).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production, whitenoise serves straight from the apps' static folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Cache, Celery -------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Fails open (rate limits only) and stops calling a dead or frozen Redis for a while: portal/cache.py.
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            # A frozen Redis must not hang a web request: short socket timeouts (the cache holds counters only).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
    "visibility_timeout": 3600,
}
# Publishing from a web request tries once more at most; the outbox relay catches up afterwards.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_BEAT_SCHEDULE = {
    "relay-outbound-emails": {"task": "portal.tasks.relay_outbound_emails", "schedule": timedelta(minutes=1)},
    "send-install-reminders": {"task": "syncs.tasks.send_install_reminders", "schedule": timedelta(minutes=15)},
    "sync-health-sweep": {"task": "syncs.tasks.sync_health_sweep", "schedule": timedelta(minutes=1)},
    # A safety net only: each attempt has its own countdown task (syncs/webhooks/services.py).
    "retry-webhooks": {"task": "syncs.tasks.retry_webhooks", "schedule": timedelta(seconds=30)},
    "consent-housekeeping": {"task": "syncs.tasks.consent_housekeeping", "schedule": timedelta(hours=1)},
    "resume-stalled-bulk-uploads": {"task": "institutions.tasks.resume_stalled_bulk_uploads", "schedule": timedelta(seconds=15)},
    "repair-board-figures": {"task": "institutions.tasks.repair_board_figures", "schedule": timedelta(minutes=10)},
}

# --- Email --------------------------------------------------------------------------------------
def email_settings(url: str) -> dict:
    """EMAIL_URL, read by dj-email-url: submission://user:pass@host:587 (STARTTLS), smtp://user:pass@host:465?ssl=true
    (TLS), console://, memory://, file:////absolute/folder (one file per email), or empty for the local default
    (console + var/mail/). See .env.example."""
    if not url:
        return {"EMAIL_BACKEND": "portal.mail.ConsoleAndFileBackend", "EMAIL_FILE_PATH": VAR_DIR / "mail"}
    config = dj_email_url.parse(url)
    if "EMAIL_BACKEND" not in config:
        raise ImproperlyConfigured(f"EMAIL_URL scheme must be one of {sorted(dj_email_url.SCHEMES)}")
    # Unset parts keep Django's defaults; a mail server that stops answering must not hang a worker.
    return {**{name: value for name, value in config.items() if value not in (None, "")},
            "EMAIL_TIMEOUT": config["EMAIL_TIMEOUT"] or 10}


globals().update(email_settings(env("EMAIL_URL")))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Chairside <no-reply@chairside.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Accounts (django-allauth) ---------------------------------------------------------------------
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "portal.forms.SignupForm"
ACCOUNT_ADAPTER = "portal.adapters.AccountAdapter"
# New sign-ups confirm their address before they can sign in (an accepted invitation proves it already).
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
# Sign-up, sign-in and password reset answer alike whether or not an address has an account.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Chairside"
# Support staff reach the admin only with two-factor authentication enrolled (portal/admin_site.py).
ADMIN_REQUIRES_MFA = env_bool("ADMIN_REQUIRES_MFA", default=PRODUCTION)

INVITATION_TTL = timedelta(days=7)
# Consent requests ("Request access") an organization may send per day.
ACCESS_REQUESTS_PER_DAY = int(env("ACCESS_REQUESTS_PER_DAY", "5"))
# Rows per CSV import batch (one transaction each; 2,000 measured faster than 500 or 1,000 on PostgreSQL, each
# batch costing a constant number of queries); tests make it small to stop an import half-way.
BULK_IMPORT_BATCH_ROWS = int(env("BULK_IMPORT_BATCH_ROWS", "2000"))
SYNC_ALERT_REMINDER_HOURS = int(env("SYNC_ALERT_REMINDER_HOURS", "24"))
# Fernet keys, newest first, for sync credentials, product keys and extension tokens (see portal/crypto.py).
CREDENTIALS_ENCRYPTION_KEYS = env_list("CREDENTIALS_ENCRYPTION_KEYS")
# New organizations' sandbox institutions get generated sample data (tests switch this off and fill on demand).
SANDBOX_SAMPLE_DATA = env_bool("SANDBOX_SAMPLE_DATA", default=True)

# Bearer tokens are HS256 JWTs; by default the signing key is derived from SECRET_KEY.
API_TOKEN_SIGNING_KEY = env("API_TOKEN_SIGNING_KEY")

# --- REST framework -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["portal.api.renderers.FastJSONRenderer", "portal.api.renderers.NexHealthJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.FormParser"],
    "EXCEPTION_HANDLER": "portal.api.envelope.api_exception_handler",
    # No OPTIONS metadata: the reference has no OPTIONS, so it is the envelope's 404 like any unserved method.
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "portal.api.renderers.JsonForAnyAccept",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Chairside API",
    "DESCRIPTION": "Practice data sync API (wire-compatible with the NexHealth API v20240412).",
    "VERSION": "v20240412",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "portal.api.schema.nexhealth_parameters", "portal.api.schema.nexhealth_error_responses"],
    "ENUM_NAME_OVERRIDES": {
        "SyncHealthEnum": ["green", "red"],
        "ProcedureStatusEnum": "syncs.models.Procedure.Status",
        "ClaimStatusEnum": "syncs.models.Claim.Status",
        "TreatmentPlanStatusEnum": "syncs.models.TreatmentPlan.Status",
    },
}
API_RATE_LIMITS = {"records": int(env("API_RATE_LIMIT_RECORDS", "1000")), "default": int(env("API_RATE_LIMIT_DEFAULT", "2000"))}
API_FAILED_KEY_LIMIT = int(env("API_FAILED_KEY_LIMIT", "20"))  # bad keys per minute per client address

# --- Security ---------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Health checks answer over plain HTTP too: load balancers probe the process directly.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Content Security Policy (django-csp) on every response. Scripts only from our own static files: no inline
# script or event handler anywhere (tests/portal/test_security_headers.py scans the templates). Styles allow
# inline because Swagger UI and the admin set style attributes; styles cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_secrets": {"()": "portal.logging.RedactSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Replaces Django's default handlers (a console one without our redaction, active with DEBUG on, which
        # printed CSRF failures with their /invitations/<token>/ path): every line goes through redact_secrets.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
