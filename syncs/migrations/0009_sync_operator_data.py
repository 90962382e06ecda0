"""Who operates each existing sync: the organization whose access to the institution came from creating it;
if there is none, the earliest access. A sync whose institution nobody reaches keeps no operator (its settings
stay frozen until support assigns one)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Sync = apps.get_model("syncs", "Sync")
    InstitutionAccess = apps.get_model("institutions", "InstitutionAccess")
    for sync in Sync.objects.filter(operator__isnull=True).only("pk", "institution_id"):
        accesses = InstitutionAccess.objects.filter(institution_id=sync.institution_id)
        access = (accesses.filter(via="created").order_by("created_at", "pk").first()
                  or accesses.order_by("created_at", "pk").first())
        if access is not None:
            Sync.objects.filter(pk=sync.pk).update(operator_id=access.organization_id)


class Migration(migrations.Migration):
    dependencies = [("syncs", "0008_ownership"), ("institutions", "0009_ownership_data")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
