"""API key lifecycle: create, rotate (with a grace window for the old key), revoke, authenticate."""

from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from portal.audit import audit_record
from portal.models import ApiKey, Membership, Organization, User
from portal.permissions import require

# How long the old key keeps working after a rotation: the admin's choice.
ROTATION_GRACE = {
    "now": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
ROTATION_GRACE_LABELS = {"now": "Now", "1h": "In 1 hour", "24h": "In 24 hours", "7d": "In 7 days"}


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw: str  # shown to the admin once, never stored


def _check_mode_allowed(organization: Organization, mode: str) -> None:
    if mode not in ApiKey.Mode.values:
        raise ValidationError("Choose sandbox or production.")
    if mode == ApiKey.Mode.PRODUCTION and not organization.production_enabled:
        raise PermissionDenied("Production keys are available once support enables production for your organization.")


def _issue(*, organization: Organization, mode: str, created_by: User | None) -> IssuedKey:
    raw, lookup, secret_hash = ApiKey.generate(mode)
    api_key = ApiKey.objects.create(
        organization=organization, mode=mode, lookup=lookup, secret_hash=secret_hash, created_by=created_by
    )
    return IssuedKey(api_key=api_key, raw=raw)


def current_key(organization: Organization, mode: str) -> ApiKey | None:
    return ApiKey.objects.filter(organization=organization, mode=mode, revoked_at__isnull=True, expires_at__isnull=True).first()


@transaction.atomic
def api_key_create(*, actor_membership: Membership, mode: str, ip: str | None = None) -> IssuedKey:
    require(actor_membership, "api_keys.manage")
    organization = actor_membership.organization
    _check_mode_allowed(organization, mode)
    if current_key(organization, mode):
        raise ValidationError("This organization already has a key for this mode. Rotate it to get a new one.")
    try:
        with transaction.atomic():
            issued = _issue(organization=organization, mode=mode, created_by=actor_membership.user)
    except IntegrityError:  # a concurrent create won
        raise ValidationError("This organization already has a key for this mode. Rotate it to get a new one.")
    audit_record(verb="api_key.created", actor=actor_membership.user, organization=organization,
                 target=issued.api_key, target_label=issued.api_key.display_prefix, ip=ip, details={"mode": mode})
    return issued


@transaction.atomic
def api_key_rotate(*, actor_membership: Membership, mode: str, grace: str, ip: str | None = None) -> IssuedKey:
    """A new key now; the old one stops working now or after the chosen grace window."""
    require(actor_membership, "api_keys.manage")
    if grace not in ROTATION_GRACE:
        raise ValidationError("Choose when the old key stops working.")
    organization = actor_membership.organization
    _check_mode_allowed(organization, mode)
    old = (
        ApiKey.objects.select_for_update()
        .filter(organization=organization, mode=mode, revoked_at__isnull=True, expires_at__isnull=True)
        .first()
    )
    if old is None:
        raise ValidationError("There is no key to rotate. Create one instead.")
    now = timezone.now()
    if ROTATION_GRACE[grace]:
        old.expires_at = now + ROTATION_GRACE[grace]
    else:
        old.revoked_at = now
    old.save(update_fields=["expires_at", "revoked_at"])
    issued = _issue(organization=organization, mode=mode, created_by=actor_membership.user)
    audit_record(verb="api_key.rotated", actor=actor_membership.user, organization=organization,
                 target=issued.api_key, target_label=issued.api_key.display_prefix, ip=ip,
                 details={"mode": mode, "old_key": old.display_prefix, "old_key_stops": grace})
    return issued


@transaction.atomic
def api_key_replace_for_demo(*, organization: Organization, created_by: User | None) -> IssuedKey:
    """seed_demo: revoke every sandbox key of the organization and issue a fresh one."""
    revoked = ApiKey.objects.filter(organization=organization, mode=ApiKey.Mode.SANDBOX, revoked_at__isnull=True)
    forgotten = list(revoked.values_list("public_id", flat=True))
    revoked.update(revoked_at=timezone.now())
    api_key_state_forget(*forgotten)
    issued = _issue(organization=organization, mode=ApiKey.Mode.SANDBOX, created_by=created_by)
    audit_record(verb="api_key.created", actor=created_by, organization=organization, target=issued.api_key,
                 target_label=issued.api_key.display_prefix, details={"mode": ApiKey.Mode.SANDBOX, "by": "seed_demo"})
    return issued


def api_key_authenticate(raw_key: str, now=None) -> ApiKey | None:
    """The usable key this string is, or None. Malformed strings never reach the database."""
    raw_key = (raw_key or "").strip()
    if not ApiKey.is_well_formed(raw_key):
        return None
    api_key = ApiKey.objects.select_related("organization").filter(lookup=ApiKey.lookup_of(raw_key)).first()
    if api_key is None or not api_key.matches(raw_key) or not api_key.is_usable(now):
        return None
    return api_key


def api_key_touch(api_key: ApiKey, now=None) -> None:
    """Record use, at most once a minute per key, so the hot path rarely writes."""
    now = now or timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
        # Cached again from the row as it is now, never from this copy: it may predate a revocation made meanwhile.
        cache.delete(_state_key(api_key.public_id))
        api_key_for_token(str(api_key.public_id))


# --- The key behind a bearer token, on every API request ------------------------------------------------------
# A bearer request needs the key's ids, mode and whether it is still usable: one cache read instead of a query.
# Every change to a key forgets its entry at once and again after the commit. The one race left: a request that
# read the row just before a revocation committed, and caches it just after, keeps the key working until the entry
# expires (KEY_STATE_SECONDS); the expiry also bounds what a path that changes keys without a save could leave.

KEY_STATE_SECONDS = 60


COLUMNS = [field.attname for field in ApiKey._meta.concrete_fields]


def _state_key(public_id) -> str:
    # The column count in the key: a deploy that changes the columns never reads a list cached by the old code.
    return f"api-key-state:{len(COLUMNS)}:{public_id}"


def _state_of(api_key: ApiKey) -> list:
    # Every column, so the key rebuilt from the cache is the row itself, not a partial copy.
    return [getattr(api_key, column) for column in COLUMNS]


def api_key_for_token(public_id: str) -> ApiKey | None:
    """The key a token names (usable or not), from the cache or else the database; its organization loads lazily."""
    state = cache.get(_state_key(public_id))
    if state is None:
        api_key = ApiKey.objects.filter(public_id=public_id).first()
        if api_key is not None:
            cache.set(_state_key(public_id), _state_of(api_key), KEY_STATE_SECONDS)
        return api_key
    return ApiKey.from_db("default", COLUMNS, state)


def api_key_state_forget(*public_ids) -> None:
    keys = [_state_key(public_id) for public_id in public_ids]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _forget_changed_key(sender, instance: ApiKey, **kwargs) -> None:
    api_key_state_forget(instance.public_id)
