import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent, Organization
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def staff_client(db) -> Client:
    staff = UserFactory(email="support@chairside.example", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    return client


def test_the_admin_sign_in_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_developers_cannot_open_the_admin(alice_client):
    assert alice_client.get("/admin/login/").status_code == 403
    assert alice_client.get("/admin/").status_code == 302


def test_support_enables_production_for_an_organization(staff_client, cast):
    response = staff_client.post(
        reverse("admin:portal_organization_changelist"),
        {"action": "enable_production", "_selected_action": [cast.acme.pk]},
    )

    assert response.status_code == 302
    assert Organization.objects.get(pk=cast.acme.pk).production_enabled
    assert not Organization.objects.get(pk=cast.other.pk).production_enabled
    assert AuditEvent.objects.filter(verb="organization.production_enabled", organization=cast.acme).count() == 1


@pytest.mark.parametrize("model", ["organization", "membership", "invitation", "auditevent", "user"])
def test_support_lists_are_searchable(staff_client, cast, model):
    app = "portal"
    response = staff_client.get(reverse(f"admin:{app}_{model}_changelist"), {"q": "acme"})

    assert response.status_code == 200


def test_staff_without_two_factor_are_sent_to_enrol_when_required(staff_client, settings):
    settings.ADMIN_REQUIRES_MFA = True

    response = staff_client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0] == reverse("mfa_index")
    assert staff_client.get(reverse("admin:portal_organization_changelist")).status_code == 302


@pytest.mark.parametrize("path", ["/admin/", "/admin/portal/organization/", "/admin/portal/user/"])
def test_admin_2fa_cannot_be_skipped_with_a_script_name_prefix(staff_client, settings, path):
    settings.ADMIN_REQUIRES_MFA = True

    response = staff_client.get(path, SCRIPT_NAME="/x")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"] or response["Location"].endswith("/accounts/2fa/")
    assert b"Chairside support console" not in response.content


def test_staff_with_two_factor_reach_the_admin_when_required(staff_client, settings):
    from allauth.mfa.models import Authenticator
    from portal.models import User

    settings.ADMIN_REQUIRES_MFA = True
    staff = User.objects.get(email="support@chairside.example")
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})

    assert staff_client.get("/admin/").status_code == 200


def production_env(**overrides: str) -> dict[str, str]:
    # The browser tests allow the ORM inside Playwright's event loop; a deployment never does.
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **overrides}


def test_production_settings_pass_the_deploy_check():
    env = {
        **production_env(),
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "x9" * 30 + "-production-secret-key-for-the-check",
        "ALLOWED_HOSTS": "portal.example.com",
        "DATABASE_URL": "sqlite:///:memory:",
        "CREDENTIALS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ADMIN_REQUIRES_MFA" not in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env(DJANGO_ENV="production", DJANGO_SETTINGS_MODULE="portal.settings", SECRET_KEY="")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)

    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


# --- Support staff: least privilege, everything audited ----------------------------------------------------

from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402

from portal.models import Membership, User  # noqa: E402
from portal.support import SUPPORT_GROUP, SUPPORT_PERMISSIONS, support_group_ensure  # noqa: E402


@pytest.fixture
def support(db) -> User:
    user = UserFactory(email="helper@chairside.example", is_staff=True)
    user.groups.add(support_group_ensure())
    return user


@pytest.fixture
def support_client(support) -> Client:
    client = Client()
    client.force_login(support)
    return client


def test_the_support_group_holds_exactly_its_listed_permissions(db):
    group = Group.objects.get(name=SUPPORT_GROUP)  # made by migrate

    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    assert held == SUPPORT_PERMISSIONS
    assert not any(name.endswith("_user") and not name.endswith("view_user") for name in held)
    assert not any("group" in name or "permission" in name for name in held)


def test_support_enables_production_and_the_organization_sees_chairside_support(support_client, cast):
    support_client.post(reverse("admin:portal_organization_changelist"),
                        {"action": "enable_production", "_selected_action": [cast.acme.pk]})

    assert Organization.objects.get(pk=cast.acme.pk).production_enabled
    event = AuditEvent.objects.get(verb="admin.action.enable_production")
    assert (event.organization, event.actor_email, event.actor_label) == (cast.acme, "helper@chairside.example",
                                                                         "Chairside support")
    page = Client()
    page.force_login(cast.alice)
    log = page.get(reverse("audit_log")).content.decode()
    assert "Chairside support" in log and "helper@chairside.example" not in log


def test_support_cannot_edit_an_organization_or_delete_one(support_client, cast):
    url = reverse("admin:portal_organization_change", args=[cast.acme.pk])

    response = support_client.post(url, {"name": "Renamed", "require_mfa": "on"})

    assert response.status_code == 403
    assert Organization.objects.get(pk=cast.acme.pk).name == "Acme Dental Apps"
    assert support_client.post(reverse("admin:portal_organization_delete", args=[cast.acme.pk]),
                               {"post": "yes"}).status_code == 403


def test_support_cannot_make_itself_superuser(support_client, support):
    url = reverse("admin:portal_user_change", args=[support.pk])

    response = support_client.post(url, {"email": support.email, "is_active": "on", "is_staff": "on",
                                         "is_superuser": "on", "groups": [], "user_permissions": []})

    assert response.status_code == 403
    support.refresh_from_db()
    assert not support.is_superuser


def test_staff_with_change_user_still_cannot_escalate_or_take_over_accounts(support_client, support, cast):
    from django.contrib.auth.models import Permission

    support.user_permissions.add(Permission.objects.get(codename="change_user"))
    support = User.objects.get(pk=support.pk)  # fresh permission cache
    everything = Permission.objects.values_list("pk", flat=True)

    for user in (support, cast.alice):
        response = support_client.post(reverse("admin:portal_user_change", args=[user.pk]), {
            "email": "attacker@evil.example", "first_name": "Changed", "is_active": "on", "is_staff": "on",
            "is_superuser": "on", "groups": [Group.objects.get(name=SUPPORT_GROUP).pk],
            "user_permissions": list(everything)})
        assert response.status_code == 302, response.content.decode()[:500]
        user = User.objects.get(pk=user.pk)
        assert user.first_name == "Changed"  # what support may edit
        assert not user.is_superuser and user.email != "attacker@evil.example"
        assert user.user_permissions.count() <= 1
    assert not User.objects.get(pk=cast.alice.pk).is_staff
    password_url = reverse("admin:auth_user_password_change", args=[cast.alice.pk])
    assert support_client.get(password_url).status_code == 403
    assert support_client.post(password_url, {"password1": "owned-owned-1", "password2": "owned-owned-1"}).status_code == 403
    assert not User.objects.get(pk=cast.alice.pk).check_password("owned-owned-1")
    assert AuditEvent.objects.filter(verb="admin.changed", organization=cast.acme, actor_label="Chairside support").exists()


def test_support_cannot_change_groups_or_add_users(support_client):
    group = Group.objects.get(name=SUPPORT_GROUP)

    assert support_client.get(reverse("admin:auth_group_change", args=[group.pk])).status_code == 403
    assert support_client.get(reverse("admin:portal_user_add")).status_code == 403


def test_support_transitions_are_audited_once_applied(support_client, cast):
    from institutions.models import Institution, InstitutionAccess
    from syncs import services
    from syncs.models import Sync

    institution = Institution.objects.create(name="Bright Smiles", subdomain="bright-smiles")
    InstitutionAccess.objects.create(organization=cast.acme, institution=institution, via="created")
    sync = services.sync_create(institution=institution, option_key="opendental", actor=cast.alice, organization=cast.acme)
    changelist = reverse("admin:syncs_sync_changelist")

    asked = support_client.post(changelist, {"action": "mark_failed", "_selected_action": [sync.pk]})
    assert asked.status_code == 200 and not AuditEvent.objects.filter(verb__startswith="admin.action").exists()
    support_client.post(changelist, {"action": "mark_failed", "_selected_action": [sync.pk], "apply": "1",
                                     "reason": "The server is 32-bit"})

    assert Sync.objects.get(pk=sync.pk).status == "failed"
    event = AuditEvent.objects.get(verb="admin.action.mark_failed")
    assert (event.organization, event.actor_label, event.target_id) == (cast.acme, "Chairside support", str(sync.pk))


def test_admin_additions_changes_and_deletions_are_audited(staff_client, cast):
    from syncs.models import EngineerSlot

    staff_client.post(reverse("admin:portal_organization_change", args=[cast.other.pk]),
                      {"name": "Other Company", "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
                       "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
                       "memberships-0-id": Membership.objects.get(user=cast.olivia).pk,
                       "memberships-0-organization": cast.other.pk, "memberships-0-role": "admin"})
    slot = EngineerSlot.objects.create(engineer="Sam", starts_at="2030-01-07T15:00Z", ends_at="2030-01-07T16:00Z")
    staff_client.post(reverse("admin:syncs_engineerslot_delete", args=[slot.pk]), {"post": "yes"})

    changed = AuditEvent.objects.get(verb="admin.changed")
    assert changed.organization == cast.other and Organization.objects.get(pk=cast.other.pk).name == "Other Company"
    assert AuditEvent.objects.filter(verb="admin.deleted", target_type="syncs.EngineerSlot", organization=None).exists()


def test_every_admin_page_writes_to_our_audit_log():
    from django.contrib import admin

    from portal.admin_audit import AuditedAdminMixin

    assert admin.site.__class__.__name__ == "SupportAdminSite"
    assert all(isinstance(model_admin, AuditedAdminMixin) for model_admin in admin.site._registry.values())


def test_seed_demo_staff_creates_a_support_user_not_a_superuser(db):
    call_command("seed_demo", "--email", "support@chairside.local", "--password", "chairside-support-1", "--staff",
                 stdout=open(os.devnull, "w"))

    user = User.objects.get(email="support@chairside.local")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [SUPPORT_GROUP]
    assert user.emailaddress_set.get().verified
def test_the_support_home_lists_the_queues_with_counts(cast, client):
    from django.urls import reverse

    from portal.models import ProductionAccessRequest
    from tests.factories import UserFactory

    ProductionAccessRequest.objects.create(organization=cast.acme, requester_email="alice@acme.example", company_name="Acme",
                                           expected_practices=3, use_case="Booking")
    client.force_login(UserFactory(email="desk@chairside.example", is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:index")).content.decode()

    assert "Work queues" in page and "Chairside" in page
    assert 'productionaccessrequest/?status__exact=pending">Production requests</a> <span class="queue-count busy">1</span>' in page
    for label in ("Installs due today", "Credentials to verify", "Reinstall requests", "Activation requests",
                  "Consent requests waiting for the practice", "Red syncs"):
        assert label in page
    from syncs.support_console import support_queues

    for queue in support_queues():
        assert client.get(queue.url).status_code == 200, queue.url  # the admin redirects (?e=1) on a bad filter
