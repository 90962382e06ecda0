"""The support console's home: the queues support works from, with counts and a link to each list."""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone


@dataclass(frozen=True)
class Queue:
    label: str
    count: int
    url: str


def support_queues(now: datetime | None = None) -> list[Queue]:
    from institutions.models import ConsentRequest
    from portal.models import ProductionAccessRequest
    from syncs.models import LocationActivationRequest, Sync, SyncStatus

    now = now or timezone.now()
    syncs = reverse("admin:syncs_sync_changelist")
    return [
        Queue("Installs due today", Sync.objects.filter(status=SyncStatus.INSTALL_SCHEDULED,
                                                        install_slot__starts_at__date=now.date()).count(),
              f"{syncs}?status__exact={SyncStatus.INSTALL_SCHEDULED}"),
        Queue("Credentials to verify", Sync.objects.filter(status=SyncStatus.CREDENTIALS_SUBMITTED).count(),
              f"{syncs}?status__exact={SyncStatus.CREDENTIALS_SUBMITTED}"),
        Queue("Reinstall requests", Sync.objects.filter(reinstall_requested_at__isnull=False,
                                                        reinstall_key_issued_at__isnull=True).count(),
              f"{syncs}?reinstall_requested_at__isempty=0"),
        Queue("Activation requests", LocationActivationRequest.objects.filter(status="pending").count(),
              reverse("admin:syncs_locationactivationrequest_changelist") + "?status__exact=pending"),
        Queue("Production requests", ProductionAccessRequest.objects.filter(status="pending").count(),
              reverse("admin:portal_productionaccessrequest_changelist") + "?status__exact=pending"),
        Queue("Consent requests waiting for the practice", ConsentRequest.objects.filter(status="pending").count(),
              reverse("admin:institutions_consentrequest_changelist") + "?status__exact=pending"),
        Queue("Red syncs", Sync.objects.filter(status=SyncStatus.ACTIVE, read_health="red").count(),
              f"{syncs}?status__exact={SyncStatus.ACTIVE}&read_health=red"),
    ]


def with_queues(index_view):
    """Wrap AdminSite.index so its page lists the queues above the models."""

    def index(request, extra_context=None):
        return index_view(request, extra_context={**(extra_context or {}), "queues": support_queues()})

    return index
