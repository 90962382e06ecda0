"""Writes for organizations, memberships and invitations. Each validates, saves, audits and enqueues."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts import email_mark_verified, email_verified
from portal.audit import audit_record
from portal.models import Invitation, Membership, Organization, ProductionAccessRequest, Role, User, new_nonce
from portal.outbox import outbound_email_queue
from portal.permissions import require
from portal.signals import organization_created
from portal.signed_links import link_public_id

ROLE_CHOICE_ERROR = "Choose Admin, Developer or Viewer."


class InvitationInvalid(Exception):
    """The link cannot be used; `reason` is shown to the person who clicked it."""

    def __init__(self, reason: str, title: str = "This invitation can't be used") -> None:
        super().__init__(reason)
        self.reason = reason
        self.title = title


@transaction.atomic
def organization_create(*, name: str, admin: User, ip: str | None = None) -> Organization:
    """The first user of a company creates its organization, becomes its admin and gets a sandbox."""
    name = name.strip()
    if not name:
        raise ValidationError({"organization_name": "Enter your company's name."})
    if Membership.objects.filter(user=admin).exists():
        raise ValidationError("This account already belongs to an organization.")
    organization = Organization.objects.create(name=name)
    Membership.objects.create(user=admin, organization=organization, role=Role.ADMIN)
    audit_record(verb="organization.created", actor=admin, organization=organization, target=organization, ip=ip)
    organization_created.send(sender=Organization, organization=organization, actor=admin, ip=ip)
    return organization


@transaction.atomic
def organization_enable_production(*, organization: Organization, actor: User, ip: str | None = None) -> None:
    now = timezone.now()
    updated = Organization.objects.filter(pk=organization.pk, production_enabled_at__isnull=True).update(
        production_enabled_at=now
    )
    if updated:
        organization.refresh_from_db(fields=["production_enabled_at"])
        audit_record(verb="organization.production_enabled", actor=actor, organization=organization, target=organization, ip=ip)
        ProductionAccessRequest.objects.filter(organization=organization, status=ProductionAccessRequest.Status.PENDING).update(
            status=ProductionAccessRequest.Status.APPROVED, decided_at=now, decided_by=actor)
        for admin in Membership.objects.filter(organization=organization, role=Role.ADMIN).select_related("user"):
            outbound_email_queue(kind="production_enabled", object_id=str(organization.pk), version=str(admin.user_id),
                                 recipient=admin.user.email)


@transaction.atomic
def production_access_request(*, membership: Membership, company_name: str, company_website: str = "",
                              company_address: str = "", expected_practices: int, use_case: str,
                              ip: str | None = None) -> ProductionAccessRequest:
    """Ask support to enable production; support and the requester get an email."""
    organization = membership.organization
    require(membership, "production.request")
    if organization.production_enabled:
        raise ValidationError("Production is already enabled for your organization.")
    if ProductionAccessRequest.objects.filter(organization=organization, status=ProductionAccessRequest.Status.PENDING).exists():
        raise ValidationError("Your organization already asked for production access: support will email you.")
    access_request = ProductionAccessRequest(
        organization=organization, requested_by=membership.user, requester_email=membership.user.email,
        company_name=company_name.strip(), company_website=company_website, company_address=company_address.strip(),
        expected_practices=expected_practices, use_case=use_case.strip())
    access_request.full_clean()
    try:
        with transaction.atomic():
            access_request.save()
    except IntegrityError:  # a teammate asked at the same moment
        raise ValidationError("Your organization already asked for production access: support will email you.")
    audit_record(verb="production_access.requested", actor=membership.user, organization=organization, target=organization,
                 ip=ip, details={"expected_practices": expected_practices})
    outbound_email_queue(kind="production_request_support", object_id=str(access_request.pk), recipient=settings.SUPPORT_EMAIL)
    outbound_email_queue(kind="production_request_received", object_id=str(access_request.pk), recipient=access_request.requester_email)
    return access_request


def membership_set_test_mode(*, membership: Membership, test_mode: bool) -> None:
    if not test_mode and not membership.organization.production_enabled:
        raise PermissionDenied("Production is not enabled for this organization yet: request production access from the Home page.")
    if not test_mode and not email_verified(membership.user):
        raise PermissionDenied("Confirm your email address first: open the link we emailed you, or ask for a new one "
                               "under Account > Email.")
    membership.test_mode = test_mode
    membership.save(update_fields=["test_mode"])


def _normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address, like name@example.com."})
    return email


@transaction.atomic
def organization_set_require_mfa(*, actor_membership: Membership, required: bool, ip: str | None = None) -> None:
    """An admin requires (or stops requiring) two-factor authentication for every member of the organization."""
    require(actor_membership, "organization.require_mfa")
    organization = actor_membership.organization
    if not Organization.objects.filter(pk=organization.pk).exclude(require_mfa=required).update(require_mfa=required):
        return
    organization.require_mfa = required
    audit_record(verb="organization.mfa_required" if required else "organization.mfa_not_required",
                 actor=actor_membership.user, organization=organization, target=organization, ip=ip)


@transaction.atomic
def invitation_send(*, actor_membership: Membership, email: str, role: str, ip: str | None = None) -> Invitation:
    require(actor_membership, "members.invite")
    organization = actor_membership.organization
    email = _normalize_email(email)
    if role not in Role.values:
        raise ValidationError({"role": ROLE_CHOICE_ERROR})
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {organization.name}."})
    if organization.invitations.pending().filter(email=email).exists():
        raise ValidationError({"email": f"{email} already has a pending invitation. Resend it from the list below."})
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                organization=organization, email=email, role=role, invited_by=actor_membership.user
            )
    except IntegrityError:  # a concurrent request invited the same address a moment ago
        raise ValidationError({"email": f"{email} already has a pending invitation. Resend it from the list below."})
    outbound_email_queue(kind="invitation", object_id=str(invitation.public_id), version=invitation.nonce)
    audit_record(
        verb="invitation.sent", actor=actor_membership.user, organization=organization, target=invitation,
        target_label=email, ip=ip, details={"role": role},
    )
    return invitation


def _pending_invitation_for_update(*, actor_membership: Membership, invitation: Invitation) -> Invitation:
    require(actor_membership, "members.invite")
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk, organization=actor_membership.organization)
    if not locked.is_pending:
        raise ValidationError("This invitation was already accepted or cancelled.")
    return locked


@transaction.atomic
def invitation_resend(*, actor_membership: Membership, invitation: Invitation, ip: str | None = None) -> Invitation:
    """A fresh link (the old one stops working) and a fresh week."""
    invitation = _pending_invitation_for_update(actor_membership=actor_membership, invitation=invitation)
    invitation.nonce = new_nonce()
    invitation.sent_at = timezone.now()
    invitation.send_count += 1
    invitation.save(update_fields=["nonce", "sent_at", "send_count"])
    outbound_email_queue(kind="invitation", object_id=str(invitation.public_id), version=invitation.nonce)
    audit_record(verb="invitation.resent", actor=actor_membership.user, organization=invitation.organization,
                 target=invitation, target_label=invitation.email, ip=ip)
    return invitation


@transaction.atomic
def invitation_cancel(*, actor_membership: Membership, invitation: Invitation, ip: str | None = None) -> None:
    invitation = _pending_invitation_for_update(actor_membership=actor_membership, invitation=invitation)
    invitation.cancelled_at = timezone.now()
    invitation.save(update_fields=["cancelled_at"])
    audit_record(verb="invitation.cancelled", actor=actor_membership.user, organization=invitation.organization,
                 target=invitation, target_label=invitation.email, ip=ip)


def invitation_for_token(token: str) -> Invitation:
    """The pending, unexpired invitation this link belongs to, or InvitationInvalid saying why not."""
    public_id = link_public_id(token)
    invitation = (
        Invitation.objects.select_related("organization", "invited_by").filter(public_id=public_id).first()
        if public_id else None
    )
    if invitation is None:
        raise InvitationInvalid("We couldn't find this invitation. Check that you copied the whole link.")
    if invitation.accepted_at:
        raise InvitationInvalid("This invitation was already used. Sign in to reach your organization.",
                                title="This invitation was already used")
    if invitation.cancelled_at:
        raise InvitationInvalid(f"This invitation was cancelled. Ask an admin of {invitation.organization.name} for a new one.",
                                title="This invitation was cancelled")
    if not invitation.token_matches(token):
        raise InvitationInvalid(
            f"A newer invitation was sent to {invitation.email}; only the link in the latest email works.",
            title="This link was replaced")
    if invitation.is_expired():
        raise InvitationInvalid(f"This invitation expired. Ask an admin of {invitation.organization.name} to resend it.",
                                title="This invitation expired")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User, ip: str | None = None) -> Membership:
    invitation = invitation_for_token(token)
    if user.email.lower() != invitation.email:
        raise InvitationInvalid(
            f"This invitation is for {invitation.email}, but you are signed in as {user.email}. "
            "Sign out and open the link again.", title="This invitation is for someone else")
    if Membership.objects.filter(user=user, organization=invitation.organization).exists():
        raise InvitationInvalid(f"You are already a member of {invitation.organization.name}.",
                                title="You already belong to this organization")
    # Single use even under concurrency: only one request flips accepted_at.
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, cancelled_at__isnull=True).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    if not claimed:
        raise InvitationInvalid("This invitation was already used.", title="This invitation was already used")
    # Another organization of the same user (a consultant, an agency) is one more membership.
    membership = Membership.objects.create(user=user, organization=invitation.organization, role=invitation.role)
    email_mark_verified(user=user)  # the link reached this address
    audit_record(verb="invitation.accepted", actor=user, organization=invitation.organization, target=invitation,
                 target_label=invitation.email, ip=ip, details={"role": invitation.role})
    return membership


@transaction.atomic
def user_create_from_invitation(*, token: str, password: str, first_name: str = "", last_name: str = "", ip: str | None = None) -> User:
    """Sign-up through an invitation: the email is the invitation's, and proven by the link."""
    invitation = invitation_for_token(token)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationInvalid(f"An account for {invitation.email} already exists. Sign in to accept the invitation.",
                                title="Sign in to accept")
    user = User.objects.create_user(email=invitation.email, password=password, first_name=first_name, last_name=last_name)
    invitation_accept(token=token, user=user, ip=ip)
    return user


def _admins_locked(organization: Organization) -> list[int]:
    """Lock the organization's admin rows so two concurrent demotions can't remove the last admin."""
    return list(
        Membership.objects.select_for_update().filter(organization=organization, role=Role.ADMIN).values_list("pk", flat=True)
    )


@transaction.atomic
def membership_set_role(*, actor_membership: Membership, membership: Membership, role: str, ip: str | None = None) -> None:
    require(actor_membership, "members.change_role")
    if role not in Role.values:
        raise ValidationError(ROLE_CHOICE_ERROR)
    if membership.organization_id != actor_membership.organization_id:
        raise PermissionDenied
    admins = _admins_locked(membership.organization)
    if role != Role.ADMIN and admins == [membership.pk]:
        raise ValidationError("An organization needs at least one admin. Make someone else an admin first.")
    if membership.role == role:
        return
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(verb="membership.role_changed", actor=actor_membership.user, organization=membership.organization,
                 target=membership, target_label=membership.user.email, ip=ip, details={"from": previous, "to": role})


@transaction.atomic
def membership_delete(*, actor_membership: Membership, membership: Membership, ip: str | None = None) -> None:
    """Remove a user from the organization. Their account goes too unless it has another use (another
    organization, a practice's Apps page, support work)."""
    require(actor_membership, "members.delete")
    if membership.organization_id != actor_membership.organization_id:
        raise PermissionDenied
    admins = _admins_locked(membership.organization)
    if admins == [membership.pk]:
        raise ValidationError("An organization needs at least one admin. Make someone else an admin first.")
    email = membership.user.email
    audit_record(verb="membership.deleted", actor=actor_membership.user, organization=membership.organization,
                 target=membership, target_label=email, ip=ip, details={"role": membership.role})
    user = membership.user
    membership.delete()
    if not (user.memberships.exists() or user.is_staff or hasattr(user, "practice_member")):
        user.delete()
