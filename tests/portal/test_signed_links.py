"""One scheme for the signed single-use links: team invitations, consent requests and practice invitations."""

import uuid
from datetime import timedelta
from itertools import permutations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import salted_hmac

from institutions.consent import ConsentInvalid, consent_for_token, consent_token
from institutions.models import ConsentRequest, Institution, PracticeInvitation
from institutions.practice import practice_invitation_for_token, practice_invitation_token
from portal.models import Invitation
from portal.services import InvitationInvalid, invitation_for_token
from portal.signed_links import SALTS, link_matches, link_public_id, link_token

PUBLIC_ID = uuid.UUID("6f1c2b0e-4a8d-4c35-9d62-0a7e5b1f3c44")
NONCE = "k3v9Qz"


@pytest.mark.parametrize("kind, salt", [("invitation", "portal.invitation"), ("consent", "institutions.consent"),
                                        ("practice_invitation", "institutions.practice")])
def test_links_already_sent_keep_verifying(kind, salt):
    # The exact scheme the three copies used before they shared this helper.
    sent = f"{PUBLIC_ID.hex}." + salted_hmac(salt, f"{PUBLIC_ID}:{NONCE}", algorithm="sha256").hexdigest()[:40]

    assert link_token(kind, PUBLIC_ID, NONCE) == sent
    assert link_matches(kind, sent, public_id=PUBLIC_ID, nonce=NONCE)


@pytest.mark.parametrize("signed_as, read_as", list(permutations(SALTS, 2)))
def test_a_link_of_one_kind_is_refused_as_another_kind(signed_as, read_as):
    token = link_token(signed_as, PUBLIC_ID, NONCE)

    assert not link_matches(read_as, token, public_id=PUBLIC_ID, nonce=NONCE)


def test_a_new_nonce_replaces_the_link():
    token = link_token("consent", PUBLIC_ID, NONCE)

    assert not link_matches("consent", token, public_id=PUBLIC_ID, nonce="another")


@pytest.mark.parametrize("token", ["garbage", "not-a-uuid.x", "", "."])
def test_a_mangled_link_names_no_row(token):
    assert link_public_id(token) is None


def test_a_link_names_its_row_by_public_id():
    assert link_public_id(link_token("invitation", PUBLIC_ID, NONCE)) == PUBLIC_ID


@pytest.mark.django_db
def test_each_page_refuses_a_link_signed_for_another_page(cast):
    """Three rows that share a public id and a nonce: each link opens only its own page."""
    institution = Institution.objects.create(name="Bright Smiles Dental", subdomain="bright-smiles")
    consent = ConsentRequest.objects.create(public_id=PUBLIC_ID, nonce=NONCE, institution=institution,
                                            organization=cast.acme, recipient="office@brightsmiles.example",
                                            expires_at=timezone.now() + timedelta(days=14))
    practice = PracticeInvitation.objects.create(public_id=PUBLIC_ID, nonce=NONCE, institution=institution,
                                                 email="office@brightsmiles.example")
    team = Invitation.objects.create(public_id=PUBLIC_ID, nonce=NONCE, organization=cast.acme,
                                     email="carol@acme.example")

    assert consent_for_token(consent_token(consent)) == consent
    assert practice_invitation_for_token(practice_invitation_token(practice)) == practice
    assert invitation_for_token(team.token) == team
    for token in (practice_invitation_token(practice), team.token):
        with pytest.raises(ConsentInvalid):
            consent_for_token(token)
    for token in (consent_token(consent), team.token):
        with pytest.raises(ValidationError):
            practice_invitation_for_token(token)
    for token in (consent_token(consent), practice_invitation_token(practice)):
        with pytest.raises(InvitationInvalid, match="only the link in the latest email works"):
            invitation_for_token(token)
