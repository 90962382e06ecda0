import os
import subprocess
import sys
from pathlib import Path

import pytest
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

    response = staff_client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")


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
    from portal.support_console import support_queues

    for queue in support_queues():
        assert client.get(queue.url).status_code == 200, queue.url  # the admin redirects (?e=1) on a bad filter
