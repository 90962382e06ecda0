"""Emails the portal sends, built at delivery time from ids (tasks never carry secrets)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from portal.models import Invitation, Organization, OutboundEmail, ProductionAccessRequest
from portal.outbox import email_builder


def render_email(*, template: str, to: str, context: dict) -> EmailMultiAlternatives:
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    return message


def absolute_url(path: str) -> str:
    return f"{settings.PORTAL_BASE_URL}{path}"


@email_builder("invitation")
def invitation_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    invitation = Invitation.objects.select_related("organization", "invited_by").filter(public_id=outbound.object_id).first()
    # A resend rotates the nonce: the email queued for the old nonce must not go out with a dead link.
    if invitation is None or not invitation.is_pending or invitation.nonce != outbound.version:
        return None
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "inviter": invitation.invited_by,
        "accept_url": absolute_url(reverse("invitation_accept", args=[invitation.token])),
        "expires_at": invitation.expires_at,
    }
    return render_email(template="invitation", to=invitation.email, context=context)


def _production_request(outbound: OutboundEmail) -> ProductionAccessRequest | None:
    return ProductionAccessRequest.objects.select_related("organization").filter(pk=outbound.object_id).first()


@email_builder("production_request_support")
def production_request_support_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    access_request = _production_request(outbound)
    if access_request is None:
        return None
    return render_email(template="production_request_support", to=outbound.recipient, context={
        "request": access_request, "organization": access_request.organization,
        "queue_url": absolute_url(reverse("admin:portal_productionaccessrequest_changelist") + "?status__exact=pending"),
    })


@email_builder("production_request_received")
def production_request_received_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    access_request = _production_request(outbound)
    if access_request is None:
        return None
    return render_email(template="production_request_received", to=outbound.recipient, context={
        "request": access_request, "organization": access_request.organization, "home_url": absolute_url(reverse("home")),
    })


@email_builder("production_enabled")
def production_enabled_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    organization = Organization.objects.filter(pk=outbound.object_id, production_enabled_at__isnull=False).first()
    if organization is None:
        return None
    return render_email(template="production_enabled", to=outbound.recipient, context={
        "organization": organization, "home_url": absolute_url(reverse("home")),
        "keys_url": absolute_url(reverse("api_keys")),
    })
