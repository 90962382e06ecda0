import io
import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from institutions.models import Institution, InstitutionAccess
from portal.models import AuditEvent, Membership, Organization, Role, User
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "organization_name": "Bright Smile Software",
    "email": "founder@brightsmile.example",
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
}


def confirm_email(client) -> None:
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    client.post(link.split("testserver")[-1])


def test_it_creates_organization_admin_and_sandbox_institution(client):
    response = client.post(reverse("account_signup"), SIGNUP)

    assert response.status_code == 302
    confirm_email(client)
    client.post(reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]})
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


def test_sign_up_with_an_existing_address_answers_like_a_new_one(client, cast):
    taken = client.post(reverse("account_signup"), {**SIGNUP, "email": "alice@acme.example"})
    fresh = Client().post(reverse("account_signup"), SIGNUP)

    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert Organization.objects.count() == 3  # only the new address made an organization
    assert User.objects.filter(email="alice@acme.example").count() == 1


def test_new_sign_ups_must_confirm_their_email_before_signing_in(client):
    client.post(reverse("account_signup"), SIGNUP)

    assert client.get(reverse("home")).status_code == 302  # not signed in yet
    assert "confirm" in mail.outbox[-1].body.lower()
    login = client.post(reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]})
    assert login["Location"] == reverse("account_email_verification_sent")

    confirm_email(client)
    client.post(reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]})
    assert client.get(reverse("home")).status_code == 200


def test_a_failed_sign_in_reads_the_same_for_unknown_and_known_addresses(client, cast):
    known = client.post(reverse("account_login"), {"login": "alice@acme.example", "password": "wrong-password"})
    unknown = Client().post(reverse("account_login"), {"login": "nobody@acme.example", "password": "wrong-password"})

    def errors(response) -> list[str]:
        return re.findall(r'class="[^"]*error[^"]*"[^>]*>(.*?)<', response.content.decode())

    assert known.status_code == unknown.status_code == 200
    assert errors(known) == errors(unknown) and errors(known)


def test_password_reset_answers_alike_for_unknown_addresses(client, cast):
    known = client.post(reverse("account_reset_password"), {"email": "alice@acme.example"})
    unknown = Client().post(reverse("account_reset_password"), {"email": "nobody@acme.example"})

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in mail.outbox] == [["alice@acme.example"]]  # nothing mailed to unknown addresses


def test_an_unverified_user_cannot_leave_test_mode(cast):
    from portal.services import membership_set_test_mode, organization_enable_production

    user = UserFactory(email="unverified@acme.example", verified=False)
    membership = MembershipFactory(user=user, organization=cast.acme)
    organization_enable_production(organization=cast.acme, actor=None)

    with pytest.raises(PermissionDenied, match="Confirm your email"):
        membership_set_test_mode(membership=membership, test_mode=False)
    assert Membership.objects.get(pk=membership.pk).test_mode


def test_seed_demo_marks_its_users_verified_so_demo_logins_work(client, db):
    call_command("seed_demo", "--email", "admin@demo.chairside.local", "--password", "chairside-demo-1",
                 stdout=io.StringIO())

    response = client.post(reverse("account_login"), {"login": "admin@demo.chairside.local", "password": "chairside-demo-1"})

    assert response["Location"] == reverse("home")


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
