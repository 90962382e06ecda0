"""The institution's timeline: what happened to a practice and its syncs, as each organization may see it."""

from institutions.models import Institution, TimelineEvent
from institutions.selectors import organizations_reaching
from portal.models import Organization, User
from portal.outbox import outbound_email_queue

SUPPORT = "Chairside support"


def timeline_record(*, institution: Institution, verb: str, message: str, actor: User | None = None,
                    sync=None, organization: Organization | None = None, shared_by: Organization | None = None,
                    system: bool = False, notify: bool = False) -> TimelineEvent:
    """Events with an organization are private to it. Events without one are seen by every organization using the
    practice and by the practice itself, so they never name another organization's people: support shows as
    "Chairside support", an operator's change (`shared_by`) as its organization's name, our own decisions
    (`system`) as "Chairside", and no actor at all as the Synchronizer reporting (activation, locations found)."""
    if shared_by is not None:
        organization, shown_as = None, shared_by.name
    elif system:
        shown_as = "Chairside"
    elif actor is None:
        shown_as = "Synchronizer"
    else:
        shown_as = SUPPORT if organization is None and actor.is_staff else actor.email
    event = TimelineEvent.objects.create(institution=institution, sync=sync, organization=organization, actor=actor,
                                         actor_label=shown_as, verb=verb, message=message)
    if notify:
        for org_id in organizations_reaching(institution).values_list("pk", flat=True):
            outbound_email_queue(kind="sync_update", object_id=str(event.pk), version=str(org_id))
    return event
