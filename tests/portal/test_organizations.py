"""One user, several organizations: the switcher, invitations into a second organization, leaving one;
and an organization that requires two-factor authentication of every member."""


import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.urls import reverse

from portal.middleware import CURRENT_ORGANIZATION
from portal.models import AuditEvent, Invitation, Membership, Organization, Role, User
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultant(cast) -> User:
    """Bob works for Acme (developer) and, as a consultant, for Other Co (viewer)."""
    MembershipFactory(user=cast.bob, organization=cast.other, role=Role.VIEWER)
    return cast.bob


def test_a_user_in_two_organizations_switches_between_them(consultant, cast):
    client = client_for(consultant)
    page = client.get(reverse("users")).content.decode()
    assert "alice@acme.example" in page and "olivia@other.example" not in page
    assert 'name="organization"' in page and "Other Co" in page  # the switcher in the frame

    response = client.post(reverse("organization_switch"), {"organization": str(cast.other.public_id)})

    assert response["Location"] == reverse("home")
    page = client.get(reverse("users")).content.decode()
    assert "olivia@other.example" in page and "alice@acme.example" not in page
    assert "Invite user" not in page  # a viewer there
    assert client.get(reverse("institutions:create")).status_code == 403


def test_the_switcher_refuses_an_organization_the_user_does_not_belong_to(bob_client, cast):
    for value in (str(cast.other.public_id), "not-a-uuid", ""):
        assert bob_client.post(reverse("organization_switch"), {"organization": value}).status_code == 404

    assert "alice@acme.example" in bob_client.get(reverse("users")).content.decode()
    assert bob_client.get(reverse("organization_switch")).status_code == 405


def test_a_session_pointing_at_another_organization_is_not_trusted(bob_client, cast):
    session = bob_client.session
    session[CURRENT_ORGANIZATION] = str(cast.other.public_id)  # say, left over from a membership since removed
    session.save()

    page = bob_client.get(reverse("users")).content.decode()

    assert "alice@acme.example" in page and "olivia@other.example" not in page


def test_accepting_an_invite_into_a_second_organization_adds_a_membership(olivia_client, cast):
    olivia_client.post(reverse("invite"), {"email": "bob@acme.example", "role": "developer"})
    invitation = Invitation.objects.get(email="bob@acme.example")
    bob = client_for(cast.bob)

    response = bob.post(reverse("invitation_accept", args=[invitation.token]))

    assert response["Location"] == reverse("home")
    assert set(Membership.objects.filter(user=cast.bob).values_list("organization__name", "role")) == {
        ("Acme Dental Apps", "developer"), ("Other Co", "developer")}
    assert "olivia@other.example" in bob.get(reverse("users")).content.decode()  # now working in Other Co
    again = Invitation.objects.create(organization=cast.other, email="bob@acme.example", role="admin")
    refused = bob.post(reverse("invitation_accept", args=[again.token]))
    assert refused.status_code == 409 and "already a member" in refused.content.decode()


def test_accepting_an_invite_verifies_the_address(olivia_client, cast):
    carol = UserFactory(email="carol@example.com", verified=False)
    olivia_client.post(reverse("invite"), {"email": "carol@example.com", "role": "developer"})
    invitation = Invitation.objects.get(email="carol@example.com")

    client_for(carol).post(reverse("invitation_accept", args=[invitation.token]))

    assert EmailAddress.objects.get(user=carol).verified


def test_removing_a_user_from_one_organization_keeps_their_account_for_the_other(consultant, olivia_client, cast):
    membership = Membership.objects.get(user=consultant, organization=cast.other)

    olivia_client.post(reverse("member_delete", args=[membership.public_id]))

    assert User.objects.filter(pk=consultant.pk).exists()
    assert list(Membership.objects.filter(user=consultant).values_list("organization", flat=True)) == [cast.acme.pk]
    assert AuditEvent.objects.filter(verb="membership.deleted", organization=cast.other).exists()


def test_an_admin_requires_two_factor_for_every_member_and_it_is_audited(alice_client, bob_client, cast):
    assert bob_client.post(reverse("organization_security"), {"require_mfa": "on"}).status_code == 403
    assert not Organization.objects.get(pk=cast.acme.pk).require_mfa

    alice_client.post(reverse("organization_security"), {"require_mfa": "on"})

    assert Organization.objects.get(pk=cast.acme.pk).require_mfa
    event = AuditEvent.objects.get(verb="organization.mfa_required")
    assert (event.actor, event.organization) == (cast.alice, cast.acme)


def test_members_without_two_factor_are_sent_to_enrol_before_anything_else(bob_client, cast):
    Organization.objects.filter(pk=cast.acme.pk).update(require_mfa=True)

    for url in (reverse("home"), reverse("institutions:list"), reverse("users"), "/x/institutions/"):
        response = bob_client.get(url) if not url.startswith("/x") else bob_client.get("/institutions/", SCRIPT_NAME="/x")
        assert response.status_code == 302, url
        assert response["Location"].endswith(reverse("mfa_activate_totp")), url
    assert bob_client.get(reverse("mfa_index")).status_code == 200  # the enrolment pages stay open
    assert bob_client.post(reverse("account_logout")).status_code == 302


def test_members_with_two_factor_go_on_and_other_organizations_are_unaffected(bob_client, olivia_client, cast):
    Organization.objects.filter(pk=cast.acme.pk).update(require_mfa=True)
    Authenticator.objects.create(user=cast.bob, type=Authenticator.Type.TOTP, data={"secret": "x"})

    assert bob_client.get(reverse("home")).status_code == 200
    assert olivia_client.get(reverse("home")).status_code == 200
