import hashlib
import re
import uuid
import zlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, get_random_string

from portal.signed_links import link_matches, link_token


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address; developers and support staff alike."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class Organization(models.Model):
    """A developer company. Its first user creates it; support enables production."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    production_enabled_at = models.DateTimeField(null=True, blank=True)
    # Set by an organization admin: every member enrols two-factor authentication before anything else opens.
    require_mfa = models.BooleanField("require two-factor authentication", default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        # Support enables production through an admin action; this permission is what the Support group holds for it.
        permissions = [("enable_production", "Can enable production for an organization")]

    def __str__(self) -> str:
        return self.name

    @property
    def production_enabled(self) -> bool:
        return self.production_enabled_at is not None


class ProductionAccessRequest(models.Model):
    """An organization asks to go live. Support works the pending ones as a queue in the admin."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Production enabled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="production_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requester_email = models.EmailField(help_text="Kept when the requester's account is deleted.")
    company_name = models.CharField(max_length=200)
    company_website = models.URLField(blank=True)
    company_address = models.CharField(max_length=300, blank=True)
    expected_practices = models.PositiveIntegerField(help_text="Practices the developer expects to onboard in the first year.")
    use_case = models.TextField(max_length=2000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], condition=Q(status="pending"),
                                    name="production_request_one_pending"),
            models.CheckConstraint(condition=Q(status__in=["pending", "approved"]), name="production_request_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Production access for {self.organization}"


class Role(models.TextChoices):
    """What each role may do is written once, in portal/permissions.py."""

    ADMIN = "admin", "Admin"
    DEVELOPER = "developer", "Developer"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A user's place in one organization. A user may belong to several (consultants, agencies)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    # The portal shows sandbox data until the user switches test mode off (possible once production is enabled).
    test_mode = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_once_per_organization"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def in_test_mode(self) -> bool:
        return self.test_mode or not self.organization.production_enabled


def new_nonce() -> str:
    return get_random_string(32)


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(accepted_at__isnull=True, cancelled_at__isnull=True)


class Invitation(models.Model):
    """An email invitation to join an organization.

    The link carries `<public_id>.<hmac(nonce)>`: the database holds no usable token, resending
    rotates the nonce (the old link dies), and accepting or cancelling ends it for good.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    nonce = models.CharField(max_length=32, default=new_nonce, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now, help_text="Last time the link was (re)sent; it expires a week later.")
    send_count = models.PositiveIntegerField(default=1)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=Q(accepted_at__isnull=True, cancelled_at__isnull=True),
                name="invitation_one_pending_per_email",
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_valid"),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    @property
    def expires_at(self):
        return self.sent_at + settings.INVITATION_TTL

    def is_expired(self, now=None) -> bool:
        return (now or timezone.now()) >= self.expires_at

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.cancelled_at is None

    @property
    def token(self) -> str:
        return link_token("invitation", self.public_id, self.nonce)

    def token_matches(self, token: str) -> bool:
        return link_matches("invitation", token, public_id=self.public_id, nonce=self.nonce)


class AuditEvent(models.Model):
    """Who did what to what, from where, when. Written by services, read by admins and support."""

    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True, help_text="Kept when the actor's account is deleted.")
    actor_label = models.CharField(max_length=64, blank=True,
                                   help_text="How the organization sees the actor when it is not one of its people "
                                             "(\"Chairside support\").")
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="audit_org_time")]

    def __str__(self) -> str:
        return f"{self.actor_email or 'system'} {self.verb} {self.target_label}".strip()


class OutboundEmail(models.Model):
    """The outbox: a row per email to send, written in the same transaction as the change that causes it.

    A task delivers it right after commit; if the broker was down, the periodic relay finds it.
    `sent_at` (set under a row lock) makes delivery idempotent when a task is redelivered.
    """

    kind = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    version = models.CharField(max_length=64, default="", blank=True)
    recipient = models.EmailField(blank=True, help_text="Set when the address is chosen at queue time.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True, help_text="Nothing left to send (e.g. the invitation was cancelled).")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "object_id", "version"], name="outbound_email_once")]
        indexes = [models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True, skipped_at__isnull=True), name="outbound_email_pending")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class ApiKeyQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class ApiKeyMode(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox"
    PRODUCTION = "production", "Production"


class ApiKey(models.Model):
    """A developer API key. The database keeps a lookup prefix and a SHA-256 of the key, never the key.

    Format: `chs_test_` or `chs_live_`, 32 base62 characters (~190 random bits), then 6 base62
    characters of CRC32 checksum, so secret scanners can recognise a real key without a lookup:
    `chs_(test|live)_[0-9A-Za-z]{38}`. A fast hash is enough: the key itself has 190 bits of entropy.
    """

    Mode = ApiKeyMode

    PREFIXES = {Mode.SANDBOX: "chs_test_", Mode.PRODUCTION: "chs_live_"}
    RANDOM_LENGTH = 32
    CHECKSUM_LENGTH = 6
    LOOKUP_LENGTH = 8

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    mode = models.CharField(max_length=16, choices=Mode.choices)
    lookup = models.CharField(max_length=32, unique=True, help_text="The visible start of the key, used to find it.")
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Set when a rotation keeps the old key alive for a while.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "mode"],
                condition=Q(revoked_at__isnull=True, expires_at__isnull=True),
                name="api_key_one_current_per_mode",
            ),
            models.CheckConstraint(condition=Q(mode__in=ApiKeyMode.values), name="api_key_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.display_prefix} ({self.get_mode_display()}, {self.organization})"

    @property
    def display_prefix(self) -> str:
        return f"{self.lookup}…"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    @staticmethod
    def hash_secret(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def generate(cls, mode: str) -> tuple[str, str, str]:
        """A new raw key, its lookup prefix and its hash."""
        body = get_random_string(cls.RANDOM_LENGTH, BASE62)
        raw = f"{cls.PREFIXES[mode]}{body}{_checksum(body)}"
        return raw, cls.lookup_of(raw), cls.hash_secret(raw)

    @classmethod
    def lookup_of(cls, raw_key: str) -> str:
        prefix = raw_key[: len("chs_test_")]
        return raw_key[: len(prefix) + cls.LOOKUP_LENGTH]

    @classmethod
    def is_well_formed(cls, raw_key: str) -> bool:
        """Shape and checksum, checked before touching the database."""
        match = API_KEY_PATTERN.fullmatch(raw_key or "")
        return bool(match) and _checksum(match["body"]) == match["checksum"]

    def matches(self, raw_key: str) -> bool:
        return constant_time_compare(self.secret_hash, self.hash_secret(raw_key))


BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
API_KEY_PATTERN = re.compile(r"chs_(?:test|live)_(?P<body>[0-9A-Za-z]{32})(?P<checksum>[0-9A-Za-z]{6})")


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(ApiKey.CHECKSUM_LENGTH):
        value, digit = divmod(value, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))
