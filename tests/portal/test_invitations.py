import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent, Invitation, Membership, OutboundEmail, Role, User
from portal.outbox import outbound_email_deliver
from portal.services import invitation_send
from portal.tasks import relay_outbound_emails
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def invite(client: Client, email: str, role: str = "developer"):
    return client.post(reverse("invite"), {"email": email, "role": role})


def link_in(message) -> str:
    return re.search(r"http://[^\s]+/invitations/[^\s]+/", message.body).group(0).split("testserver")[-1].replace("http://127.0.0.1:8000", "")


def test_it_sends_an_invitation_email_with_a_link(alice_client, cast):
    response = invite(alice_client, "New.Person@Example.com", "admin")

    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "new.person@example.com"
    assert invitation.role == Role.ADMIN
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    assert "Acme Dental Apps" in mail.outbox[0].subject
    assert f"/invitations/{invitation.token}/" in mail.outbox[0].body
    assert OutboundEmail.objects.get().sent_at is not None
    event = AuditEvent.objects.get(verb="invitation.sent")
    assert (event.actor, event.target_label, event.ip_address) == (cast.alice, "new.person@example.com", "127.0.0.1")


@pytest.mark.parametrize(
    "email, message",
    [
        ("not-an-email", "Enter a valid email address"),
        ("bob@acme.example", "is already a member"),
    ],
)
def test_it_rejects_bad_invitations_with_a_form_error(alice_client, cast, email, message):
    response = invite(alice_client, email)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_rejects_a_second_pending_invitation_for_the_same_email(alice_client, cast):
    invite(alice_client, "dup@example.com")

    response = invite(alice_client, "DUP@example.com")

    assert response.status_code == 400
    assert "already has a pending invitation" in response.content.decode()
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_rolled_back_invitation_sends_nothing(cast):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            invitation_send(actor_membership=cast.alice_membership, email="ghost@example.com", role="developer")
            raise RuntimeError("something later in the request failed")

    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_a_redelivered_task_does_not_send_a_second_email(alice_client, cast):
    invite(alice_client, "once@example.com")
    outbound = OutboundEmail.objects.get()

    assert outbound_email_deliver(outbound.pk) is False
    assert len(mail.outbox) == 1


def test_the_relay_delivers_emails_whose_task_was_never_published(cast, monkeypatch):
    from portal import tasks

    monkeypatch.setattr(tasks.deliver_outbound_email, "apply_async", _broker_down)
    invitation_send(actor_membership=cast.alice_membership, email="later@example.com", role="developer")
    assert Invitation.objects.filter(email="later@example.com").exists()
    assert mail.outbox == []
    monkeypatch.undo()

    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert relay_outbound_emails() == 1

    assert [m.to for m in mail.outbox] == [["later@example.com"]]
    assert relay_outbound_emails() == 0


def _broker_down(*args, **kwargs):
    from kombu.exceptions import OperationalError

    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_resend_makes_a_new_link_and_kills_the_old_one(alice_client, cast):
    invite(alice_client, "resend@example.com")
    invitation = Invitation.objects.get()
    old_link = link_in(mail.outbox[0])

    response = alice_client.post(reverse("invitation_resend", args=[invitation.public_id]))

    assert response.status_code == 302
    assert len(mail.outbox) == 2
    new_link = link_in(mail.outbox[1])
    assert new_link != old_link
    stale = Client().get(old_link)
    assert stale.status_code == 410
    assert "This link was replaced" in stale.content.decode()
    assert Client().get(new_link).status_code == 200
    assert AuditEvent.objects.filter(verb="invitation.resent").count() == 1


def test_cancel_kills_the_link(alice_client, cast):
    invite(alice_client, "cancel@example.com")
    invitation = Invitation.objects.get()

    alice_client.post(reverse("invitation_cancel", args=[invitation.public_id]))

    response = Client().get(link_in(mail.outbox[0]))
    assert response.status_code == 410
    assert "cancelled" in response.content.decode()
    assert AuditEvent.objects.filter(verb="invitation.cancelled").count() == 1


def test_a_new_user_signs_up_through_the_link_with_the_email_fixed(alice_client, cast):
    invite(alice_client, "newbie@example.com")
    link = link_in(mail.outbox[0])
    visitor = Client()

    page = visitor.get(link)
    assert page.status_code == 200
    assert 'value="newbie@example.com" readonly' in page.content.decode()
    response = visitor.post(link, {"password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase",
                                   "email": "attacker@example.com"})

    assert response.status_code == 302
    user = User.objects.get(email="newbie@example.com")
    assert user.memberships.get().organization == cast.acme
    assert user.memberships.get().role == Role.DEVELOPER
    assert not User.objects.filter(email="attacker@example.com").exists()
    assert Invitation.objects.get().accepted_by == user
    assert visitor.get(reverse("users")).status_code == 200


def test_sign_up_through_the_link_validates_the_password(alice_client, cast):
    invite(alice_client, "weak@example.com")

    response = Client().post(link_in(mail.outbox[0]), {"password1": "123", "password2": "123"})

    assert response.status_code == 400
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="weak@example.com").exists()


def test_an_existing_signed_in_user_joins_straight_away(alice_client, cast):
    carol = UserFactory(email="carol@example.com")
    invite(alice_client, "carol@example.com", "admin")
    carol_client = Client()
    carol_client.force_login(carol)

    page = carol_client.get(link_in(mail.outbox[0]))
    assert "Join Acme Dental Apps" in page.content.decode()
    response = carol_client.post(link_in(mail.outbox[0]))

    assert response.status_code == 302
    assert Membership.objects.get(user=carol).role == Role.ADMIN


def test_an_existing_user_who_is_signed_out_is_asked_to_sign_in(alice_client, cast):
    UserFactory(email="dave@example.com")
    invite(alice_client, "dave@example.com")

    response = Client().get(link_in(mail.outbox[0]))

    assert response.status_code == 200
    assert "Sign in as dave@example.com" in response.content.decode()


def test_a_link_cannot_be_used_twice(alice_client, cast):
    invite(alice_client, "twice@example.com")
    link = link_in(mail.outbox[0])
    Client().post(link, {"password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase"})

    response = Client().get(link)

    assert response.status_code == 410
    assert "already used" in response.content.decode()
    assert Membership.objects.filter(user__email="twice@example.com").count() == 1


def test_an_expired_link_is_refused(alice_client, cast):
    invite(alice_client, "late@example.com")
    link = link_in(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        response = Client().post(link, {"password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase"})

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not User.objects.filter(email="late@example.com").exists()


def test_the_wrong_signed_in_user_cannot_accept(alice_client, olivia_client, cast):
    invite(alice_client, "someone@example.com")

    response = olivia_client.post(link_in(mail.outbox[0]))

    assert response.status_code == 409
    assert "This invitation is for someone else" in response.content.decode()
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.parametrize("token", ["garbage", "0" * 32 + ".abc", "not-a-uuid.x"])
def test_a_mangled_link_gives_a_clear_page(client, token):
    response = client.get(f"/invitations/{token}/")

    assert response.status_code == 410
    assert "find this invitation" in response.content.decode()


def test_members_cannot_invite_resend_or_cancel(bob_client, alice_client, cast):
    invite(alice_client, "pending@example.com")
    invitation = Invitation.objects.get()

    assert invite(bob_client, "sneaky@example.com").status_code == 403
    assert bob_client.post(reverse("invitation_resend", args=[invitation.public_id])).status_code == 403
    assert bob_client.post(reverse("invitation_cancel", args=[invitation.public_id])).status_code == 403
    assert Invitation.objects.count() == 1
    assert Invitation.objects.get().is_pending
