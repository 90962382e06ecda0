import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.logging import RedactSecretsFilter
from portal.models import AuditEvent, Invitation, Membership, Role, User
from tests.factories import InvitationFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def set_role(client, membership, role):
    return client.post(reverse("member_set_role", args=[membership.public_id]), {"role": role})


def test_it_lists_members_and_pending_invitations(alice_client, cast):
    InvitationFactory(organization=cast.acme, email="pending@example.com")
    InvitationFactory(organization=cast.other, email="not-ours@example.com")

    page = alice_client.get(reverse("users")).content.decode()

    assert "alice@acme.example" in page and "bob@acme.example" in page
    assert "pending@example.com" in page
    assert "olivia@other.example" not in page
    assert "not-ours@example.com" not in page
    assert "Invite user" in page


def test_the_users_tab_takes_a_constant_number_of_queries(alice_client, cast):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(reverse("users")).status_code == 200
        return len(queries)

    few = count_queries()
    for _ in range(10):
        MembershipFactory(organization=cast.acme)
        InvitationFactory(organization=cast.acme, invited_by=cast.alice)
    many = count_queries()

    assert many == few
    assert few <= 8


def test_an_admin_makes_a_member_admin_and_back(alice_client, cast):
    bob = cast.bob_membership

    assert set_role(alice_client, bob, "admin").status_code == 302
    bob.refresh_from_db()
    assert bob.role == Role.ADMIN
    set_role(alice_client, bob, "developer")
    bob.refresh_from_db()
    assert bob.role == Role.DEVELOPER
    events = AuditEvent.objects.filter(verb="membership.role_changed").order_by("created_at", "id")
    assert [(e.details["from"], e.details["to"], e.target_label) for e in events] == [
        ("developer", "admin", "bob@acme.example"), ("admin", "developer", "bob@acme.example")]


def test_the_last_admin_cannot_be_demoted(alice_client, cast):
    response = set_role(alice_client, cast.alice_membership, "developer")

    assert response.status_code == 302
    assert Membership.objects.get(user=cast.alice).role == Role.ADMIN
    page = alice_client.get(reverse("users")).content.decode()
    assert "needs at least one admin" in page


def test_the_last_admin_cannot_be_deleted(alice_client, cast):
    alice_client.post(reverse("member_delete", args=[cast.alice_membership.public_id]))

    assert User.objects.filter(email="alice@acme.example").exists()


def test_an_admin_can_step_down_once_there_is_another_admin(alice_client, cast):
    set_role(alice_client, cast.bob_membership, "admin")

    set_role(alice_client, cast.alice_membership, "developer")

    assert Membership.objects.get(user=cast.alice).role == Role.DEVELOPER


def test_an_admin_deletes_a_user(alice_client, cast):
    response = alice_client.post(reverse("member_delete", args=[cast.bob_membership.public_id]))

    assert response.status_code == 302
    assert not User.objects.filter(email="bob@acme.example").exists()
    event = AuditEvent.objects.get(verb="membership.deleted")
    assert (event.actor, event.target_label, event.organization) == (cast.alice, "bob@acme.example", cast.acme)


def test_members_see_the_list_but_change_nothing(bob_client, cast):
    page = bob_client.get(reverse("users")).content.decode()
    assert "alice@acme.example" in page
    assert "Invite user" not in page
    assert "Make admin" not in page and "Delete user" not in page

    alice = cast.alice_membership
    assert bob_client.get(reverse("invite")).status_code == 403
    assert set_role(bob_client, cast.bob_membership, "admin").status_code == 403
    assert bob_client.post(reverse("member_delete", args=[alice.public_id])).status_code == 403
    assert bob_client.get(reverse("audit_log")).status_code == 403
    assert Membership.objects.get(user=cast.bob).role == Role.DEVELOPER
    assert User.objects.filter(email="alice@acme.example").exists()


def test_it_hides_every_object_of_another_organization(olivia_client, cast):
    invitation = InvitationFactory(organization=cast.acme)
    acme_sandbox = cast.acme.institution_accesses.get().institution
    targets = [
        ("post", reverse("member_set_role", args=[cast.bob_membership.public_id]), {"role": "admin"}),
        ("post", reverse("member_delete", args=[cast.bob_membership.public_id]), {}),
        ("post", reverse("invitation_resend", args=[invitation.public_id]), {}),
        ("post", reverse("invitation_cancel", args=[invitation.public_id]), {}),
        ("get", reverse("institutions:detail", args=[acme_sandbox.subdomain]), {}),
    ]

    for method, url, data in targets:
        assert getattr(olivia_client, method)(url, data).status_code == 404, url
    assert Membership.objects.get(user=cast.bob).role == Role.DEVELOPER
    assert Invitation.objects.get().is_pending


def test_the_audit_log_shows_only_this_organization(alice_client, cast):
    alice_client.post(reverse("invite"), {"email": "someone@example.com", "role": "developer"})

    page = alice_client.get(reverse("audit_log")).content.decode()

    assert "alice@acme.example invited someone@example.com as developer" in page
    assert "Other Co" not in page


def test_the_log_filter_redacts_invitation_links():
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "%s: %s",
                               ("Gone", "/invitations/abc123.def456/"), None)

    RedactSecretsFilter().filter(record)

    assert record.getMessage() == "Gone: /invitations/[redacted]/"
