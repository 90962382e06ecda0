import pytest
from django.core import mail
from django.urls import reverse

from institutions.models import Institution, InstitutionAccess
from portal.models import AuditEvent, Membership, Organization, Role, User

pytestmark = pytest.mark.django_db

SIGNUP = {
    "organization_name": "Bright Smile Software",
    "email": "founder@brightsmile.example",
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
}


def test_it_creates_organization_admin_and_sandbox_institution(client):
    response = client.post(reverse("account_signup"), SIGNUP)

    assert response.status_code == 302
    user = User.objects.get(email="founder@brightsmile.example")
    membership = Membership.objects.get(user=user)
    assert membership.organization.name == "Bright Smile Software"
    assert membership.role == Role.ADMIN
    sandbox = Institution.objects.get(accesses__organization=membership.organization)
    assert sandbox.name == "Bright Smile Software Demo Practice"
    assert sandbox.is_sandbox
    assert InstitutionAccess.objects.get(institution=sandbox).via == InstitutionAccess.Via.CREATED
    assert set(AuditEvent.objects.values_list("verb", flat=True)) >= {"organization.created", "institution.sandbox_created"}
    home = client.get(reverse("home"))
    assert "Test mode: you are looking at sandbox data" in home.content.decode()


def test_it_requires_a_company_name_and_creates_nothing_without_it(client):
    response = client.post(reverse("account_signup"), {**SIGNUP, "organization_name": ""})

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not User.objects.exists()
    assert not Organization.objects.exists()


def test_it_rejects_an_email_that_already_has_an_account(client, cast):
    response = client.post(reverse("account_signup"), {**SIGNUP, "email": "alice@acme.example"})

    assert response.status_code == 200
    assert Organization.objects.count() == 2


def test_it_signs_in_with_email_and_password(client, cast):
    response = client.post(reverse("account_login"), {"login": "alice@acme.example", "password": "correct-horse-battery"})

    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_it_rate_limits_failed_logins(client, cast):
    attempts = [
        client.post(reverse("account_login"), {"login": "alice@acme.example", "password": "wrong"}).content.decode()
        for _ in range(6)
    ]

    assert "Too many failed login attempts" not in attempts[0]
    assert "Too many failed login attempts" in attempts[-1]
    # Even the right password is refused while the limit holds.
    locked = client.post(reverse("account_login"), {"login": "alice@acme.example", "password": "correct-horse-battery"})
    assert locked.status_code == 200
    assert "Too many failed login attempts" in locked.content.decode()


def test_it_sends_a_password_reset_email(client, cast):
    response = client.post(reverse("account_reset_password"), {"email": "alice@acme.example"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_account_emails_name_chairside_and_the_portal_never_the_request_host(client, cast, settings):
    settings.PORTAL_BASE_URL = "https://portal.chairside.example"

    client.post(reverse("account_reset_password"), {"email": "alice@acme.example"})

    message = mail.outbox[0]
    assert message.subject.startswith("Chairside: ")
    assert message.body.startswith("Hello from Chairside,") and "https://portal.chairside.example" in message.body
    assert "testserver" not in message.body.split("/accounts/password/reset/key/")[0]


def test_it_offers_totp_two_factor_setup(client, cast):
    client.post(reverse("account_login"), {"login": "alice@acme.example", "password": "correct-horse-battery"})
    assert client.get(reverse("mfa_activate_totp"))["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": "correct-horse-battery"})

    response = client.get(reverse("mfa_activate_totp"))

    assert response.status_code == 200
    assert "Activate Authenticator App" in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("users"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_sandbox_comes_with_sample_data(client, settings):
    settings.SANDBOX_SAMPLE_DATA = True

    client.post(reverse("account_signup"), SIGNUP)

    sandbox = Institution.objects.get(is_sandbox=True)
    assert sandbox.locations.filter(active=True).count() == 2
    assert sandbox.syncs.get().status == "active"
