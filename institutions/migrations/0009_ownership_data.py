"""Existing relationships under the ownership model.

- Each organization's created institutions get their identity key (the first one wins if two already collide).
- A location deactivated before this change was deactivated for every organization: each organization that had
  access gets its own deactivation row, so every API answer stays what it was.
"""

from django.db import migrations
from django.utils.text import slugify


def identity_key(name: str, zip_code: str) -> str:
    # Frozen copy of institutions.services.identity_key as of this migration.
    return f"{' '.join(slugify(name).split('-'))}|{(zip_code or '').strip()[:5]}"


def forwards(apps, schema_editor):
    InstitutionAccess = apps.get_model("institutions", "InstitutionAccess")
    Location = apps.get_model("institutions", "Location")
    LocationDeactivation = apps.get_model("institutions", "LocationDeactivation")
    seen = set()
    for access in (InstitutionAccess.objects.filter(via="created", institution__is_sandbox=False)
                   .select_related("institution").order_by("created_at", "pk")):
        key = (access.organization_id, identity_key(access.institution.name, access.institution.zip_code))
        if key in seen:
            continue
        seen.add(key)
        InstitutionAccess.objects.filter(pk=access.pk).update(identity=key[1])
    rows = []
    for location in Location.objects.filter(deactivated_at__isnull=False):
        for organization_id in InstitutionAccess.objects.filter(institution_id=location.institution_id).values_list(
                "organization_id", flat=True):
            rows.append(LocationDeactivation(organization_id=organization_id, location_id=location.pk,
                                             deactivated_at=location.deactivated_at))
    LocationDeactivation.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("institutions", "0008_ownership")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
