"""Matching at Create Institution, the practice's consent by email, and what approval changes."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from institutions.consent import match_disclosure_token, consent_reminders_send, pending_consent_expire
from institutions.models import ConsentRequest, Institution, InstitutionAccess
from portal.api_keys import api_key_create
from portal.models import AuditEvent
from portal.services import organization_enable_production
from syncs.models import Sync, SyncStatus
from tests.conftest import client_for
from tests.factories import InstitutionFactory, LocationFactory, SyncFactory

pytestmark = pytest.mark.django_db(transaction=True)

FORM = {"name": "Bright Smiles Dental", "street_address": "12 Main St", "city": "Austin", "state": "TX",
        "zip_code": "78701", "tz": "America/Chicago", "phone_number": "(512) 555-0142", "email": "",
        "website": "", "contact_name": "Dana", "contact_email": "dana@brightsmiles.example"}


def request_access(client, organization, subdomain: str):
    """Request access as the match dialog does: with the signed proof that matching showed this practice."""
    token = match_disclosure_token(organization=organization, subdomain=subdomain)
    return client.post(reverse("institutions:request_access", args=[subdomain]), {"disclosure": token})


@pytest.fixture
def live_practice(cast, alice_client):
    """Bright Smiles is live for Other Co; Acme is about to onboard it again."""
    institution = InstitutionFactory(name="Bright Smiles Dental, P.C.", subdomain="bright-smiles", zip_code="78701",
                                     phone_number="5125550142", contact_email="office@brightsmiles.example",
                                     created_by=cast.other)
    LocationFactory(sync=SyncFactory(institution=institution), name="Bright Smiles North", foreign_id="1", active=True)
    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    return institution


def consent_link() -> str:
    body = [m for m in mail.outbox if "asks to use" in m.subject][-1].body
    return re.search(r"/consent/\S+/", body).group(0)


def test_create_institution_offers_request_access_for_a_live_practice(alice_client, live_practice):
    response = alice_client.post(reverse("institutions:create"), FORM)

    page = response.content.decode()
    assert "may already be live with the Synchronizer" in page and "Same phone number" in page
    assert not Institution.objects.filter(name="Bright Smiles Dental").exists()
    anyway = alice_client.post(reverse("institutions:create"), {**FORM, "create_anyway": "1"})
    assert anyway.status_code == 302 and Institution.objects.filter(name="Bright Smiles Dental").exists()


def test_the_browser_check_returns_the_match_dialog_and_creates_nothing(alice_client, live_practice):
    response = alice_client.post(reverse("institutions:create"), FORM, HTTP_X_MATCH_CHECK="1")

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<dialog id="match-dialog"')
    assert not Institution.objects.filter(name="Bright Smiles Dental").exists()


def test_the_browser_check_answers_no_content_when_there_is_no_match(alice_client, live_practice):
    response = alice_client.post(reverse("institutions:create"), {**FORM, "phone_number": "(737) 555-0199",
                                                                  "name": "Quite Different Dental", "zip_code": "73301"},
                                 HTTP_X_MATCH_CHECK="1")

    assert response.status_code == 204
    assert not Institution.objects.filter(name="Quite Different Dental").exists()


def test_without_javascript_the_match_is_a_page_of_its_own_that_keeps_the_details(alice_client, live_practice):
    page = alice_client.post(reverse("institutions:create"), FORM).content.decode()

    assert "<dialog" not in page and 'name="create_anyway"' in page
    assert 'type="hidden" name="contact_email" value="dana@brightsmiles.example"' in page
    edit = alice_client.post(reverse("institutions:create"), {**FORM, "edit": "1"}).content.decode()
    assert 'value="Bright Smiles Dental"' in edit and "may already be live" not in edit


def test_the_practice_approves_by_email_and_the_api_opens(alice_client, cast, live_practice):
    request_access(alice_client, cast.acme, "bright-smiles")
    board = alice_client.get(reverse("institutions:list"), {"section": "in_progress"}).content.decode()
    assert "Waiting for the practice&#x27;s consent" in board
    assert [m.to for m in mail.outbox if "asks to use" in m.subject] == [["office@brightsmiles.example"]]

    practice = Client()
    page = practice.get(consent_link()).content.decode()
    assert "Acme Dental Apps" in page and "Bright Smiles North" in page
    practice.post(consent_link(), {"decision": "approve"})

    assert InstitutionAccess.objects.get(organization=cast.acme, institution=live_practice).status == "active"
    assert "Bright Smiles" in alice_client.get(reverse("institutions:list"), {"section": "all"}).content.decode()
    raw = api_key_create(actor_membership=cast.alice_membership, mode="production").raw
    token = Client().post("/api/authenticates", HTTP_AUTHORIZATION=raw).json()["data"]["token"]
    location = live_practice.locations.get()
    response = Client().get("/api/patients", {"subdomain": "bright-smiles", "location_id": location.pk},
                            HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_NEX_API_VERSION="v20240412")
    assert response.status_code == 200
    assert AuditEvent.objects.filter(verb="consent.approved").exists()
    assert practice.get(consent_link()).status_code == 410  # single use


def test_a_declined_request_keeps_the_api_closed(alice_client, cast, live_practice):
    request_access(alice_client, cast.acme, "bright-smiles")

    Client().post(consent_link(), {"decision": "decline"})

    assert InstitutionAccess.objects.get(organization=cast.acme, institution=live_practice).status == "revoked"
    assert not Institution.objects.reachable_by(cast.acme).filter(pk=live_practice.pk).exists()


def test_requests_are_reminded_once_and_expire_after_14_days(alice_client, cast, live_practice):
    request_access(alice_client, cast.acme, "bright-smiles")
    link = consent_link()

    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert consent_reminders_send() == 1
        assert consent_reminders_send() == 0
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        assert Client().get(link).status_code == 410
        assert pending_consent_expire() == 1

    assert ConsentRequest.objects.get().status == "expired"
    assert not InstitutionAccess.objects.filter(organization=cast.acme, institution=live_practice).exists()
    assert len([m for m in mail.outbox if m.subject.startswith("Reminder:")]) == 1


@pytest.mark.parametrize("token", ["nope", "0" * 32 + ".x"])
def test_a_mangled_consent_link_is_a_clear_page(db, token):
    response = Client().get(f"/consent/{token}/")

    assert response.status_code == 410 and "find this request" in response.content.decode()


def practice_link() -> str:
    body = [m for m in mail.outbox if "Manage which apps" in m.subject][-1].body
    return re.search(r"/practice/join/\S+/", body).group(0)


def test_practice_staff_grant_and_later_revoke_from_the_apps_page(alice_client, cast, live_practice):
    request_access(alice_client, cast.acme, "bright-smiles")
    staff = Client()
    join = staff.post(practice_link(), {"password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase"})
    assert join["Location"] == reverse("practice_apps")
    apps = staff.get(reverse("practice_apps")).content.decode()
    assert "Acme Dental Apps" in apps and "Asks for access" in apps
    assert "Other Co" in apps and "Set up your Synchronizer" in apps

    staff.post(reverse("practice_decide", args=[cast.acme.pk]), {"decision": "grant"})
    assert Institution.objects.reachable_by(cast.acme).filter(pk=live_practice.pk).exists()
    assert ConsentRequest.objects.get().status == "approved"

    staff.post(reverse("practice_decide", args=[cast.acme.pk]), {"decision": "revoke"})
    assert not Institution.objects.reachable_by(cast.acme).filter(pk=live_practice.pk).exists()
    assert AuditEvent.objects.filter(verb="consent.revoked").exists()
    staff.post(reverse("practice_decide", args=[cast.other.pk]), {"decision": "revoke"})
    assert Institution.objects.reachable_by(cast.other).filter(pk=live_practice.pk).exists()  # the installer stays
    assert staff.get(reverse("home"))["Location"] == reverse("practice_apps")


def test_the_apps_page_is_only_for_practice_staff(alice_client, olivia_client):
    assert alice_client.get(reverse("practice_apps")).status_code == 403
    assert alice_client.post(reverse("practice_decide", args=[1]), {"decision": "grant"}).status_code == 403


# --- Request access, safely ------------------------------------------------------------------------------

def _request(client, subdomain: str, organization=None):
    data = {"disclosure": match_disclosure_token(organization=organization, subdomain=subdomain)} if organization else {}
    return client.post(reverse("institutions:request_access", args=[subdomain]), data, follow=True)


def _answer(response) -> tuple:
    """The answer to the request: its redirect and the message shown after it."""
    return response.status_code, response.redirect_chain, re.findall(r'<p class="flash[^"]*">(.*?)</p>',
                                                                      response.content.decode(), re.S)


def test_request_access_answer_is_identical_for_existing_and_unknown_subdomains(alice_client, cast, live_practice):
    existing = _answer(_request(alice_client, "bright-smiles", cast.acme))
    unknown = _answer(_request(alice_client, "no-such-practice", cast.acme))

    assert existing == unknown
    assert existing[2] and "Bright Smiles" not in " ".join(existing[2])
    assert ConsentRequest.objects.count() == 1


def test_a_practice_that_is_not_live_is_not_asked(alice_client, cast, live_practice):
    Sync.objects.filter(institution=live_practice).update(status=SyncStatus.AWAITING_INSTALL)

    _request(alice_client, "bright-smiles", cast.acme)

    assert not ConsentRequest.objects.exists() and [m for m in mail.outbox if "asks to use" in m.subject] == []


def test_a_test_mode_organization_cannot_request_access(cast, live_practice):
    # Other Co signed up a minute ago: production not enabled.
    response = _request(client_for(cast.olivia), "bright-smiles")

    assert "enables production" in response.content.decode()
    assert not ConsentRequest.objects.exists()


def test_an_unverified_user_cannot_request_access(cast, live_practice):
    from tests.factories import MembershipFactory, UserFactory

    dave = UserFactory(email="dave@acme.example", verified=False)
    MembershipFactory(user=dave, organization=cast.acme)

    response = _request(client_for(dave), "bright-smiles")

    assert "Confirm your email" in response.content.decode()
    assert not ConsentRequest.objects.exists() and not AuditEvent.objects.filter(verb="access.requested").exists()


def test_a_viewer_cannot_request_access(cast, live_practice):
    from portal.models import Role
    from tests.factories import MembershipFactory, UserFactory

    vera = UserFactory(email="vera@acme.example")
    MembershipFactory(user=vera, organization=cast.acme, role=Role.VIEWER)

    assert client_for(vera).post(reverse("institutions:request_access", args=["bright-smiles"])).status_code == 403
    assert not ConsentRequest.objects.exists()


def test_a_repeated_request_for_the_same_practice_is_not_sent_twice(alice_client, cast, live_practice):
    _request(alice_client, "bright-smiles", cast.acme)
    _request(alice_client, "bright-smiles", cast.acme)

    assert ConsentRequest.objects.count() == 1
    assert len([m for m in mail.outbox if "asks to use" in m.subject]) == 1


def test_requests_per_organization_and_day_are_limited(alice_client, cast, live_practice, settings):
    settings.ACCESS_REQUESTS_PER_DAY = 2
    _request(alice_client, "guess-1")
    _request(alice_client, "guess-2")

    refused = _request(alice_client, "bright-smiles", cast.acme)

    assert "at most 2 practices" in refused.content.decode()
    assert not ConsentRequest.objects.exists()
    AuditEvent.objects.filter(verb="access.requested").update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    _request(alice_client, "bright-smiles", cast.acme)  # a day later
    assert ConsentRequest.objects.count() == 1


def test_the_email_names_the_organization_says_what_access_means_and_never_asks_for_a_password(alice_client, cast, live_practice):
    _request(alice_client, "bright-smiles", cast.acme)

    message = [m for m in mail.outbox if "asks to use" in m.subject][-1]
    body = message.body
    assert "Acme Dental Apps" in message.subject and "Acme Dental Apps" in body
    assert "What access means" in body and "read patients, appointments" in body
    assert "decline" in body and "revoke the access at any time" in body and "/practice/apps/" in body
    assert "never asks for your password" in body
    assert not re.search(r"(enter|send|reply with|confirm) (your|the) password", body, re.I)


def test_the_subdomain_preview_reveals_nothing_about_other_organizations_practices(alice_client, live_practice):
    taken = alice_client.get(reverse("institutions:subdomain_preview"), {"name": "Bright Smiles"}).content.decode()
    free = alice_client.get(reverse("institutions:subdomain_preview"), {"name": "Bright Smilez"}).content.decode()

    assert "<code>bright-smiles</code>" in taken
    assert taken.replace("bright-smiles", "X") == free.replace("bright-smilez", "X")


def test_a_typed_subdomain_asks_nobody_and_adds_nothing_to_the_board(alice_client, cast, live_practice):
    """Only a practice matching showed to this organization is asked: guessing a subdomain reveals nothing."""
    guessed = _answer(_request(alice_client, "bright-smiles"))
    shown = _answer(_request(alice_client, "no-such-practice", cast.acme))

    assert guessed == shown
    assert not ConsentRequest.objects.exists()
    assert not InstitutionAccess.objects.filter(organization=cast.acme, institution=live_practice).exists()
    board = alice_client.get(reverse("institutions:list"), {"section": "in_progress"}).content.decode()
    assert "Bright Smiles" not in board


def test_a_disclosure_shown_to_another_organization_asks_nobody(alice_client, cast, live_practice):
    token = match_disclosure_token(organization=cast.other, subdomain="bright-smiles")

    alice_client.post(reverse("institutions:request_access", args=["bright-smiles"]), {"disclosure": token})

    assert not ConsentRequest.objects.exists()


def test_the_match_dialog_carries_the_proof_that_it_showed_the_practice(alice_client, cast, live_practice):
    page = alice_client.post(reverse("institutions:create"), FORM).content.decode()

    token = re.search(r'name="disclosure" value="([^"]+)"', page).group(1)
    alice_client.post(reverse("institutions:request_access", args=["bright-smiles"]), {"disclosure": token})
    assert ConsentRequest.objects.filter(organization=cast.acme, institution=live_practice).count() == 1


def test_a_signed_in_visitor_joins_the_practice_only_after_confirming(alice_client, cast, live_practice):
    from institutions.models import PracticeInvitation, PracticeMember
    from portal.models import User

    request_access(alice_client, cast.acme, "bright-smiles")
    invited = User.objects.create_user(email=PracticeInvitation.objects.get().email, password="a-long-unusual-passphrase")
    staff = Client()
    staff.force_login(invited)

    page = staff.get(practice_link())
    assert page.status_code == 200 and "Join Bright Smiles" in page.content.decode()
    assert not PracticeMember.objects.filter(user=invited).exists()  # opening the link changed nothing

    assert staff.post(practice_link())["Location"] == reverse("practice_apps")
    assert PracticeMember.objects.filter(user=invited, institution=live_practice).exists()
