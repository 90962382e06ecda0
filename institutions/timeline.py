"""The institution's timeline: what happened to a practice and its syncs, as each organization may see it."""

from institutions.models import Institution, TimelineEvent
from institutions.selectors import organizations_reaching
from portal.models import Organization, User
from portal.outbox import outbound_email_queue

SUPPORT = "Chairside support"


def timeline_record(*, institution: Institution, verb: str, message: str, actor: User | None = None,
                    sync=None, organization: Organization | None = None,
                    notify: bool = False) -> TimelineEvent:
    # Events without an organization are seen by every organization with access: name support, not staff.
    # No actor means the Synchronizer itself reported it (activation, locations found).
    if actor is None:
        shown_as = "Synchronizer"
    else:
        shown_as = SUPPORT if organization is None and actor.is_staff else actor.email
    event = TimelineEvent.objects.create(institution=institution, sync=sync, organization=organization, actor=actor,
                                         actor_label=shown_as, verb=verb, message=message)
    if notify:
        for org_id in organizations_reaching(institution).values_list("pk", flat=True):
            outbound_email_queue(kind="sync_update", object_id=str(event.pk), version=str(org_id))
    return event
