"""Asking a practice that is already live with the Synchronizer to let another organization use it.

The practice's contact gets an email with a signed, single-use link that expires after 14 days; the
consent page names the organization and the locations it would reach. Approving gives the organization
access to the institution's active locations, with no new installation.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.urls import reverse

from institutions.models import ConsentRequest, Institution, InstitutionAccess
from institutions.practice import practice_invite
from portal.audit import audit_record
from portal.emails import absolute_url, render_email
from portal.models import AuditEvent, Organization, User
from syncs.models import SyncStatus
from portal.outbox import email_builder, outbound_email_queue
from portal.signed_links import link_matches, link_public_id, link_token
from institutions.timeline import timeline_record

CONSENT_TTL = timedelta(days=14)
REMINDER_AFTER = timedelta(days=3)


class ConsentInvalid(Exception):
    def __init__(self, reason: str, title: str = "This link can't be used") -> None:
        super().__init__(reason)
        self.reason, self.title = reason, title


def consent_token(request: ConsentRequest) -> str:
    return link_token("consent", request.public_id, request.nonce)


def consent_for_token(token: str) -> ConsentRequest:
    public_id = link_public_id(token)
    if public_id is None:
        raise ConsentInvalid("We couldn't find this request. Check that you copied the whole link.")
    request = ConsentRequest.objects.select_related("organization", "institution").filter(public_id=public_id).first()
    if request is None or not link_matches("consent", token, public_id=request.public_id, nonce=request.nonce):
        raise ConsentInvalid("We couldn't find this request. Check that you copied the whole link.")
    if request.status != ConsentRequest.Status.PENDING:
        raise ConsentInvalid(f"You already {request.get_status_display().lower()} this request.", title="Already answered")
    if timezone.now() >= request.expires_at:
        raise ConsentInvalid(f"This request expired. {request.organization.name} can send a new one.", title="This request expired")
    return request


ACCESS_REQUESTED = "access.requested"  # one audit event per attempt, known practice or not: also the daily count


def access_request_refusal(*, organization: Organization, actor: User) -> str:
    """Why this organization may not ask practices for access now ("" when it may). The one place for the rule."""
    from portal.accounts import email_verified

    if not organization.production_enabled:
        return ("Requesting access opens once support enables production for your organization: practices are only "
                "asked on behalf of organizations we have approved.")
    if not email_verified(actor):
        return "Confirm your email address first: open the link we emailed you when you signed up."
    return ""


MATCH_DISCLOSURE_SALT = "institutions.match-disclosure"
MATCH_DISCLOSURE_MAX_AGE = timedelta(days=14)  # a CSV preview may be confirmed days later


def match_disclosure_token(*, organization: Organization, subdomain: str) -> str:
    """Signed proof that matching showed this practice to this organization (after it typed a matching identity)."""
    return signing.dumps({"o": organization.pk, "s": subdomain}, salt=MATCH_DISCLOSURE_SALT, compress=True)


def match_was_disclosed(*, organization: Organization, subdomain: str, token: str) -> bool:
    try:
        shown = signing.loads(token or "", salt=MATCH_DISCLOSURE_SALT, max_age=MATCH_DISCLOSURE_MAX_AGE)
    except signing.BadSignature:
        return False
    return shown == {"o": organization.pk, "s": subdomain}


@transaction.atomic
def access_request(*, subdomain: str, organization: Organization, actor: User, disclosure: str = "",
                   ip: str | None = None) -> None:
    """Ask the live practice at `subdomain` to let this organization use its Synchronizer.

    Raises PermissionDenied only for reasons about the requester (not approved, unverified email, daily limit), so
    the answer never tells whether a practice exists: an unknown subdomain, a practice that is not live, one already
    reached or already asked, all look like a request that was sent. Only a practice that matching showed to this
    organization (`disclosure`, signed when the match was shown) is asked: a typed or guessed subdomain asks nobody
    and adds nothing to the board, so neither the answer nor IN PROGRESS reveals another organization's practice.
    """
    refusal = access_request_refusal(organization=organization, actor=actor)
    if refusal:
        raise PermissionDenied(refusal)
    # Serialize one organization's requests so the daily limit holds under concurrency.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    limit = settings.ACCESS_REQUESTS_PER_DAY
    if AuditEvent.objects.filter(organization=organization, verb=ACCESS_REQUESTED,
                                 created_at__gt=timezone.now() - timedelta(days=1)).count() >= limit:
        raise PermissionDenied(f"Your organization can ask at most {limit} practices for access a day. "
                               "Try again tomorrow, or contact support.")
    audit_record(verb=ACCESS_REQUESTED, actor=actor, organization=organization, target_label=subdomain[:254], ip=ip)
    if not match_was_disclosed(organization=organization, subdomain=subdomain, token=disclosure):
        return
    institution = (Institution.objects.filter(subdomain=subdomain, is_sandbox=False,
                                              syncs__status=SyncStatus.ACTIVE).distinct().first())
    if institution is None:
        return
    consent_request_create(institution=institution, organization=organization, actor=actor, ip=ip)


def consent_request_create(*, institution: Institution, organization: Organization, actor: User,
                           ip: str | None = None) -> ConsentRequest | None:
    """The email to the practice, at most once while a request or the access stands (None: nothing sent)."""

    recipient = institution.contact_email or institution.email
    if not recipient:  # support reaches the practice by other means; the requester is told nothing different
        return None
    access, _ = InstitutionAccess.objects.get_or_create(
        organization=organization, institution=institution,
        defaults={"via": InstitutionAccess.Via.CONSENT, "status": InstitutionAccess.Status.PENDING})
    if access.status == InstitutionAccess.Status.ACTIVE:
        return None
    if ConsentRequest.objects.filter(institution=institution, organization=organization, status=ConsentRequest.Status.PENDING,
                                     expires_at__gt=timezone.now()).exists():
        return None  # a repeated request is not sent twice
    InstitutionAccess.objects.filter(pk=access.pk).update(status=InstitutionAccess.Status.PENDING, via=InstitutionAccess.Via.CONSENT)
    request = ConsentRequest.objects.create(institution=institution, organization=organization, requested_by=actor,
                                            recipient=recipient, expires_at=timezone.now() + CONSENT_TTL)
    outbound_email_queue(kind="consent_request", object_id=str(request.public_id), version=request.nonce, recipient=recipient)
    # The contact can also answer (and later revoke) from the practice's Apps page.
    practice_invite(institution=institution, email=recipient)
    timeline_record(institution=institution, actor=actor, organization=organization, verb="consent.requested",
                    message=f"Asked {institution.name} for access to its existing Synchronizer")
    audit_record(verb="consent.requested", actor=actor, organization=organization, target=institution, ip=ip)
    return request


@transaction.atomic
def consent_decide(*, token: str, approve: bool, ip: str | None = None) -> ConsentRequest:

    request = consent_for_token(token)
    status = ConsentRequest.Status.APPROVED if approve else ConsentRequest.Status.DECLINED
    if not ConsentRequest.objects.filter(pk=request.pk, status=ConsentRequest.Status.PENDING).update(status=status, decided_at=timezone.now()):
        raise ConsentInvalid("This request was already answered.", title="Already answered")
    InstitutionAccess.objects.filter(organization=request.organization, institution=request.institution).update(
        status=InstitutionAccess.Status.ACTIVE if approve else InstitutionAccess.Status.REVOKED)
    verb = "approved" if approve else "declined"
    event = timeline_record(institution=request.institution, organization=request.organization, verb=f"consent.{verb}",
                            message=f"The practice {verb} access for {request.organization.name}")
    outbound_email_queue(kind="sync_update", object_id=str(event.pk), version=str(request.organization_id))
    audit_record(verb=f"consent.{verb}", actor=None, organization=request.organization, target=request.institution, ip=ip,
                 details={"recipient": request.recipient})
    request.status = status
    return request


def consent_reminders_send(now=None) -> int:
    """One reminder per request, three days after it was sent, while it is still open."""
    now = now or timezone.now()
    due = ConsentRequest.objects.filter(status=ConsentRequest.Status.PENDING, reminded_at__isnull=True, expires_at__gt=now,
                                        created_at__lte=now - REMINDER_AFTER)
    sent = 0
    for request in due:
        if ConsentRequest.objects.filter(pk=request.pk, reminded_at__isnull=True).update(reminded_at=now):
            outbound_email_queue(kind="consent_request", object_id=str(request.public_id), version=f"{request.nonce}:reminder",
                                 recipient=request.recipient)
            sent += 1
    return sent


def pending_consent_expire(now=None) -> int:
    """Requests past 14 days: the organization's pending access goes away."""
    now = now or timezone.now()
    expired = list(ConsentRequest.objects.filter(status=ConsentRequest.Status.PENDING, expires_at__lte=now))
    for request in expired:
        if ConsentRequest.objects.filter(pk=request.pk, status=ConsentRequest.Status.PENDING).update(
                status=ConsentRequest.Status.EXPIRED, decided_at=now):
            InstitutionAccess.objects.filter(organization=request.organization, institution=request.institution,
                                             status=InstitutionAccess.Status.PENDING).delete()
    return len(expired)


@email_builder("consent_request")
def consent_request_email(outbound):
    request = ConsentRequest.objects.select_related("organization", "institution").filter(public_id=outbound.object_id).first()
    if request is None or request.status != ConsentRequest.Status.PENDING or not outbound.version.startswith(request.nonce):
        return None
    locations = list(request.institution.locations.live().order_by("name"))
    return render_email(template="consent_request", to=outbound.recipient, context={
        "request": request, "organization": request.organization, "institution": request.institution,
        "locations": locations, "reminder": outbound.version.endswith(":reminder"),
        "url": absolute_url(reverse("consent", args=[consent_token(request)])),
        "apps_url": absolute_url(reverse("practice_apps")),
    })

