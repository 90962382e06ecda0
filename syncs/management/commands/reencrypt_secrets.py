from django.core.management.base import BaseCommand
from django.db import transaction

from portal.crypto import reencrypt
from syncs.models import Sync, WebhookEndpoint

ENCRYPTED_FIELDS = ["product_key_encrypted", "extension_token_encrypted", "credentials_encrypted"]


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (syncs, webhook endpoints) under the newest CREDENTIALS_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            for sync in Sync.objects.select_for_update().only("pk", *ENCRYPTED_FIELDS).iterator(chunk_size=500):
                for field in ENCRYPTED_FIELDS:
                    if getattr(sync, field):
                        setattr(sync, field, reencrypt(getattr(sync, field)))
                sync.save(update_fields=ENCRYPTED_FIELDS)
                count += 1
            endpoints = 0
            for endpoint in WebhookEndpoint.objects.select_for_update().only("pk", "secret_key_encrypted").iterator(chunk_size=500):
                endpoint.secret_key_encrypted = reencrypt(endpoint.secret_key_encrypted)
                endpoint.save(update_fields=["secret_key_encrypted"])
                endpoints += 1
        self.stdout.write(f"Re-encrypted the secrets of {count} syncs and {endpoints} webhook endpoints.")
