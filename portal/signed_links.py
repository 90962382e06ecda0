"""Signed single-use links: `<public id hex>.<HMAC of public id and nonce>`.

The link names its row by public id; the HMAC proves we wrote it. Changing the row's nonce (a resend, an
answer) replaces every earlier link. Each kind has its own salt, so a link of one kind never verifies as
another even for the same id and nonce. The salts are the ones the links were first signed with: changing
one would break every link already in someone's inbox.
"""

import uuid

from django.utils.crypto import constant_time_compare, salted_hmac

SALTS = {
    "invitation": "portal.invitation",
    "consent": "institutions.consent",
    "practice_invitation": "institutions.practice",
    "onboarding": "syncs.onboarding",
}


def link_token(kind: str, public_id: uuid.UUID | str, nonce: str) -> str:
    """A UUID is written as its hex; a short public id (an onboarding's) is written as it is."""
    digest = salted_hmac(SALTS[kind], f"{public_id}:{nonce}", algorithm="sha256").hexdigest()[:40]
    head = public_id.hex if isinstance(public_id, uuid.UUID) else public_id
    return f"{head}.{digest}"


def link_head(token: str) -> str:
    """The public id a link names when that id is not a UUID (not yet verified)."""
    return token.partition(".")[0]


def link_public_id(token: str) -> uuid.UUID | None:
    """The public id a link names (not yet verified), or None when the link is mangled."""
    head, _, _ = token.partition(".")
    try:
        return uuid.UUID(hex=head)
    except ValueError:
        return None


def link_matches(kind: str, token: str, *, public_id: uuid.UUID | str, nonce: str) -> bool:
    return constant_time_compare(link_token(kind, public_id, nonce), token)
