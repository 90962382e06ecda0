"""Roles: `member` becomes `developer` (existing rows too) and `viewer` is added; a user may join several
organizations (Membership.user one-to-one -> foreign key, unique per organization; rows are kept as they are)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def members_become_developers(apps, schema_editor):
    for model in ("Membership", "Invitation"):
        apps.get_model("portal", model).objects.filter(role="member").update(role="developer")


def developers_become_members(apps, schema_editor):
    # Going back, viewers become members too: the old schema has no read-only role.
    for model in ("Membership", "Invitation"):
        apps.get_model("portal", model).objects.filter(role__in=["developer", "viewer"]).update(role="member")


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0004_move_webhooks'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='organization',
            options={'ordering': ['name'], 'permissions': [('enable_production', 'Can enable production for an organization')]},
        ),
        migrations.RemoveConstraint(
            model_name='invitation',
            name='invitation_role_valid',
        ),
        migrations.RemoveConstraint(
            model_name='membership',
            name='membership_role_valid',
        ),
        migrations.AddField(
            model_name='auditevent',
            name='actor_label',
            field=models.CharField(blank=True, help_text='How the organization sees the actor when it is not one of its people ("Chairside support").', max_length=64),
        ),
        migrations.AddField(
            model_name='organization',
            name='require_mfa',
            field=models.BooleanField(default=False, verbose_name='require two-factor authentication'),
        ),
        migrations.AlterField(
            model_name='invitation',
            name='role',
            field=models.CharField(choices=[('admin', 'Admin'), ('developer', 'Developer'), ('viewer', 'Viewer')], default='developer', max_length=16),
        ),
        migrations.AlterField(
            model_name='membership',
            name='role',
            field=models.CharField(choices=[('admin', 'Admin'), ('developer', 'Developer'), ('viewer', 'Viewer')], default='developer', max_length=16),
        ),
        migrations.RunPython(members_become_developers, developers_become_members),
        migrations.AlterField(
            model_name='membership',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='invitation',
            constraint=models.CheckConstraint(condition=models.Q(('role__in', ['admin', 'developer', 'viewer'])), name='invitation_role_valid'),
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.UniqueConstraint(fields=('user', 'organization'), name='membership_once_per_organization'),
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.CheckConstraint(condition=models.Q(('role__in', ['admin', 'developer', 'viewer'])), name='membership_role_valid'),
        ),
    ]
