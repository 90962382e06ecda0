from django.db import migrations, models
from django.db.models import F


def heartbeat_from_progress(apps, schema_editor):
    # Imports under way keep their place in the stall check, which now reads heartbeat_at.
    BulkUpload = apps.get_model("institutions", "BulkUpload")
    BulkUpload.objects.filter(heartbeat_at__isnull=True, progress_at__isnull=False).update(heartbeat_at=F("progress_at"))


class Migration(migrations.Migration):
    dependencies = [("institutions", "0009_ownership_data")]

    operations = [
        migrations.AddField(
            model_name="bulkupload",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True,
                                       help_text="The importing worker's last sign of life: a silent import resumes."),
        ),
        migrations.AlterField(
            model_name="bulkupload",
            name="progress_at",
            field=models.DateTimeField(blank=True, null=True, help_text="Last batch imported."),
        ),
        migrations.RunPython(heartbeat_from_progress, migrations.RunPython.noop),
    ]
