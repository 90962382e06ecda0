from django.db import migrations, models
from django.db.models import F


def first_attempt_from_creation(apps, schema_editor):
    # Deliveries already retrying keep their schedule: their first attempt ran as they were created.
    WebhookDelivery = apps.get_model("syncs", "WebhookDelivery")
    WebhookDelivery.objects.filter(attempts__gt=0, first_attempt_at__isnull=True).update(first_attempt_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("syncs", "0009_sync_operator_data")]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="first_attempt_at",
            field=models.DateTimeField(blank=True, help_text="Retries are timed from it.", null=True),
        ),
        migrations.RunPython(first_attempt_from_creation, migrations.RunPython.noop),
    ]
