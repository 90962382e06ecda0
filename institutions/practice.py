"""The practice's side: staff accounts and the "Apps" page where they grant, decline and revoke access."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from institutions.models import (ConsentRequest, Institution, InstitutionAccess, PracticeInvitation, PracticeMember,
                                 TimelineEvent)
from portal.audit import audit_record
from portal.emails import absolute_url, render_email
from portal.models import User
from portal.outbox import email_builder, outbound_email_queue
from portal.signed_links import link_matches, link_public_id, link_token
from institutions.timeline import timeline_record

INVITATION_TTL = timedelta(days=14)


def practice_invitation_token(invitation: PracticeInvitation) -> str:
    return link_token("practice_invitation", invitation.public_id, invitation.nonce)


def practice_invitation_for_token(token: str) -> PracticeInvitation:
    public_id = link_public_id(token)
    if public_id is None:
        raise ValidationError("We couldn't find this invitation. Check that you copied the whole link.")
    invitation = PracticeInvitation.objects.select_related("institution").filter(public_id=public_id).first()
    if invitation is None or not link_matches("practice_invitation", token, public_id=invitation.public_id,
                                              nonce=invitation.nonce):
        raise ValidationError("We couldn't find this invitation. Check that you copied the whole link.")
    if invitation.accepted_at:
        raise ValidationError("This invitation was already used. Sign in to manage your practice's apps.")
    if timezone.now() >= invitation.created_at + INVITATION_TTL:
        raise ValidationError("This invitation expired. Ask a colleague to invite you again.")
    return invitation


def practice_invite(*, institution: Institution, email: str, invited_by: User | None = None) -> PracticeInvitation | None:
    """Invite practice staff; nothing to do for someone who already manages the practice's apps."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address, like frontdesk@practice.com."})
    if PracticeMember.objects.filter(institution=institution, user__email__iexact=email).exists():
        return None
    invitation = PracticeInvitation.objects.create(institution=institution, email=email, invited_by=invited_by)
    outbound_email_queue(kind="practice_invitation", object_id=str(invitation.public_id), version=invitation.nonce,
                         recipient=email)
    return invitation


def practice_join_check(invitation: PracticeInvitation, user: User) -> None:
    """Whether this account may join with this invitation (ValidationError if not), before anything is written."""
    if user.email.lower() != invitation.email:
        raise ValidationError(f"This invitation is for {invitation.email}; you are signed in as {user.email}.")
    if hasattr(user, "membership") or PracticeMember.objects.filter(user=user).exists():
        raise ValidationError("This account already belongs to an organization or a practice.")


@transaction.atomic
def practice_join(*, token: str, user: User) -> PracticeMember:
    invitation = practice_invitation_for_token(token)
    practice_join_check(invitation, user)
    if not PracticeInvitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(accepted_at=timezone.now()):
        raise ValidationError("This invitation was already used.")
    return PracticeMember.objects.create(user=user, institution=invitation.institution)


def practice_apps(institution: Institution) -> list[dict]:
    """Every organization that reaches, asked for, or lost access to the practice; with open requests, and whether
    it operates the practice's Synchronizer (the operator first)."""
    accesses = InstitutionAccess.objects.filter(institution=institution).select_related("organization").order_by("organization__name")
    open_requests = {r.organization_id: r for r in ConsentRequest.objects.filter(
        institution=institution, status=ConsentRequest.Status.PENDING, expires_at__gt=timezone.now())}
    operators = set(institution.syncs.values_list("operator_id", flat=True))
    apps = [{"access": access, "request": open_requests.get(access.organization_id),
             "operates": access.organization_id in operators} for access in accesses]
    return sorted(apps, key=lambda app: not app["operates"])


def practice_timeline(institution: Institution, limit: int = 200) -> list[dict]:
    """Every change made to the practice, by every organization, each labelled with who made it: an organization's
    name (never one of its people), Chairside support, Chairside or the Synchronizer."""
    events = TimelineEvent.objects.filter(institution=institution).select_related("organization")[:limit]
    return [{"event": event, "by": event.organization.name if event.organization_id else
             (event.actor_label if "@" not in event.actor_label else "A developer organization")} for event in events]


@transaction.atomic
def practice_decide(*, member: PracticeMember, organization_id: int, grant: bool, ip: str | None = None) -> InstitutionAccess:
    """Grant (a pending request, or again after a revocation), decline, or revoke: the API follows at once."""

    access = InstitutionAccess.objects.select_related("organization").select_for_update().get(
        institution=member.institution, organization_id=organization_id)
    if access.via == InstitutionAccess.Via.CREATED and not grant:
        raise ValidationError(f"{access.organization.name} set up your Synchronizer; contact Chairside support to end it.")
    new_status = InstitutionAccess.Status.ACTIVE if grant else InstitutionAccess.Status.REVOKED
    InstitutionAccess.objects.filter(pk=access.pk).update(status=new_status)
    ConsentRequest.objects.filter(institution=member.institution, organization_id=organization_id,
                                  status=ConsentRequest.Status.PENDING).update(
        status=ConsentRequest.Status.APPROVED if grant else ConsentRequest.Status.DECLINED, decided_at=timezone.now())
    verb = "granted" if grant else ("revoked" if access.status == InstitutionAccess.Status.ACTIVE else "declined")
    event = timeline_record(institution=member.institution, organization=access.organization, verb=f"consent.{verb}",
                            message=f"The practice {verb} access for {access.organization.name}")
    outbound_email_queue(kind="sync_update", object_id=str(event.pk), version=str(access.organization_id))
    audit_record(verb=f"consent.{verb}", actor=member.user, organization=access.organization, target=member.institution, ip=ip)
    access.status = new_status
    return access


@email_builder("practice_invitation")
def practice_invitation_email(outbound):
    invitation = PracticeInvitation.objects.select_related("institution").filter(public_id=outbound.object_id).first()
    if invitation is None or invitation.accepted_at or invitation.nonce != outbound.version:
        return None
    return render_email(template="practice_invitation", to=invitation.email, context={
        "invitation": invitation, "institution": invitation.institution,
        "url": absolute_url(reverse("practice_join", args=[practice_invitation_token(invitation)])),
    })
