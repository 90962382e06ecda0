"""Signals the base app sends so the apps built on it can react without the base importing them."""

from django.dispatch import Signal

# Sent inside organization_create's transaction with organization=, actor=, ip=; a receiver that raises
# rolls the whole sign-up back (the sandbox is created this way, in syncs).
organization_created = Signal()
