"""Emails about syncs, built at delivery time from ids."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from institutions.models import TimelineEvent
from portal.emails import absolute_url, render_email
from portal.models import Membership, OutboundEmail, Role
from portal.outbox import email_builder
from syncs.installer import installer, run_command
from syncs.models import Sync, SyncHealthChange
from syncs.services import product_key_of


@email_builder("sync_update")
def sync_update_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    """What support did (installed, rejected credentials, failed, activated), to the organization's admins."""
    event = TimelineEvent.objects.select_related("institution", "sync").filter(pk=outbound.object_id).first()
    admins = list(Membership.objects.filter(organization_id=outbound.version, role=Role.ADMIN)
                  .values_list("user__email", flat=True))
    if event is None or not admins:
        return None
    message = render_email(template="sync_update", to=admins[0], context={
        "event": event, "institution": event.institution, "sync": event.sync,
        "url": absolute_url(reverse("syncs:detail", args=[event.sync.code]) if event.sync
                            else reverse("institutions:detail", args=[event.institution.subdomain])),
    })
    message.to = admins
    return message


@email_builder("install_instructions")
def install_instructions_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    """The self-installer's steps and product key, for the practice's IT contact."""
    sync = Sync.objects.select_related("institution").filter(code=outbound.object_id).first()
    if sync is None or sync.status != Sync.Status.AWAITING_INSTALL or not outbound.recipient:
        return None
    package = installer()
    product_key = product_key_of(sync)
    return render_email(template="install_instructions", to=outbound.recipient, context={
        "sync": sync, "institution": sync.institution, "product_key": product_key, "installer": package,
        "download_url": absolute_url(reverse("synchronizer_download")),
        "run_command": run_command(filename=package.filename, server=settings.PORTAL_BASE_URL,
                                   product_key=product_key, ehr=sync.ehr),
    })


@email_builder("sync_health")
def sync_health_email(outbound: OutboundEmail) -> EmailMultiAlternatives | None:
    """A sync went down, is still down (reminder), or recovered; to the organization's admins."""
    change = SyncHealthChange.objects.select_related("sync__institution").filter(pk=outbound.object_id).first()
    organization_id = outbound.version.split(":")[0]
    admins = list(Membership.objects.filter(organization_id=organization_id, role=Role.ADMIN).values_list("user__email", flat=True))
    if change is None or not admins:
        return None
    sync = change.sync
    still_down = ":" in outbound.version
    message = render_email(template="sync_health", to=admins[0], context={
        "change": change, "sync": sync, "institution": sync.institution, "still_down": still_down,
        "health": sync.health_at(timezone.now()),
        "url": absolute_url(reverse("syncs:detail", args=[sync.code])),
    })
    message.to = admins
    return message
