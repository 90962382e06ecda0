"""The audit log as people read it: each event in words ("Dana invited sam@acme.example as Developer"), the
filters (who, what, when) and the CSV export. Events store a verb and a few facts; the words are made here."""

import csv
from collections.abc import Iterator
from datetime import date

from django import forms
from django.db.models import QuerySet

from portal.audit import SUPPORT_LABEL
from portal.csv_safety import csv_safe
from portal.models import AuditEvent, Organization

KINDS = ["Team", "Organization", "API keys", "Institutions", "Practice consent", "Syncs", "Webhooks and API",
         "Chairside support"]

# verb: (kind, what it is in a few words, the sentence). {actor}, {target}, {organization} and any detail name.
WORDS: dict[str, tuple[str, str, str]] = {
    "organization.created": ("Organization", "Organization created", "{actor} created the organization {target}"),
    "organization.production_enabled": ("Organization", "Production enabled", "{actor} enabled production for {target}"),
    "organization.mfa_required": ("Organization", "Two-factor required", "{actor} required two-factor authentication for everyone"),
    "organization.mfa_not_required": ("Organization", "Two-factor no longer required",
                                      "{actor} stopped requiring two-factor authentication"),
    "production_access.requested": ("Organization", "Production access requested", "{actor} requested production access"),
    "invitation.sent": ("Team", "Invitation sent", "{actor} invited {target} as {role}"),
    "invitation.resent": ("Team", "Invitation resent", "{actor} resent the invitation to {target}"),
    "invitation.cancelled": ("Team", "Invitation cancelled", "{actor} cancelled the invitation to {target}"),
    "invitation.accepted": ("Team", "Invitation accepted", "{actor} accepted the invitation and joined as {role}"),
    "membership.role_changed": ("Team", "Role changed", "{actor} changed {target}'s role from {from} to {to}"),
    "membership.deleted": ("Team", "Member removed", "{actor} removed {target} from the organization"),
    "api_key.created": ("API keys", "API key created", "{actor} created the {mode} API key {target}"),
    "api_key.rotated": ("API keys", "API key rotated",
                        "{actor} rotated the {mode} API key: {target} replaces {old_key}, which stops {old_key_stops}"),
    "institution.created": ("Institutions", "Institution created", "{actor} created the institution {target}"),
    "institution.sandbox_created": ("Institutions", "Sandbox institution created",
                                    "{actor} created the sandbox institution {target}"),
    "institution.deleted": ("Institutions", "Institution deleted", "{actor} deleted the institution {target}"),
    "bulk_upload.checked": ("Institutions", "CSV checked", "{actor} checked the CSV file {target} ({rows} rows)"),
    "bulk_upload.confirmed": ("Institutions", "CSV import started", "{actor} started importing {target}"),
    "institutions.bulk_imported": ("Institutions", "CSV imported",
                                   "{actor} imported {institutions} institutions and {syncs} syncs from {target}"),
    "locations.deactivated": ("Institutions", "Locations deactivated", "{actor} deactivated locations of {target}"),
    "locations.reactivated": ("Institutions", "Locations reactivated", "{actor} reactivated locations of {target}"),
    "locations.activation_requested": ("Syncs", "More locations requested",
                                       "{actor} asked to activate more locations of {target}"),
    "access.requested": ("Practice consent", "Access requested", "{actor} asked the practice at {target} for access"),
    "consent.requested": ("Practice consent", "Consent requested", "{actor} asked {target} for consent"),
    "consent.approved": ("Practice consent", "Practice approved", "{target} approved access for {organization}"),
    "consent.declined": ("Practice consent", "Practice declined", "{target} declined access for {organization}"),
    "consent.granted": ("Practice consent", "Practice granted access", "{actor} at {target} granted access to {organization}"),
    "consent.revoked": ("Practice consent", "Practice revoked access", "{actor} at {target} revoked access for {organization}"),
    "sync.created": ("Syncs", "Sync created", "{actor} created the {target}"),
    "sync.locations_selected": ("Syncs", "Locations selected", "{actor} selected the locations of {target}'s sync"),
    "sync.credentials_submitted": ("Syncs", "Credentials submitted", "{actor} submitted {target}'s credentials"),
    "sync.credentials_viewed": ("Chairside support", "Credentials viewed", "{actor} viewed {target}'s credentials"),
    "sync.instructions_sent": ("Syncs", "Instructions emailed",
                               "{actor} emailed {target}'s installation instructions to {recipient}"),
    "sync.reinstall_requested": ("Syncs", "Reinstall requested", "{actor} requested a reinstall of {target}'s Synchronizer"),
    "sync.downtime_changed": ("Syncs", "Expected downtime changed",
                              "{actor} changed {target}'s expected downtime from {from} to {to}"),
    "sync.install_scheduled": ("Syncs", "Installation booked", "{actor} booked {target}'s installation"),
    "sync.install_rescheduled": ("Syncs", "Installation moved", "{actor} moved {target}'s installation"),
    "sync.install_cancelled": ("Syncs", "Installation cancelled", "{actor} cancelled {target}'s installation"),
    "appointment_type.deleted": ("Webhooks and API", "Appointment type deleted",
                                 "{actor} deleted the appointment type {target}"),
    "webhook_subscription.created": ("Webhooks and API", "Webhook subscribed", "{actor} subscribed to {target}"),
    "webhook_subscription.deleted": ("Webhooks and API", "Webhook unsubscribed", "{actor} unsubscribed from {target}"),
    "webhook_endpoint.deactivated": ("Webhooks and API", "Webhook endpoint stopped",
                                     "{actor} stopped sending webhooks to {target}: {reason}"),
    "admin.added": ("Chairside support", "Support added", "{actor} added {target}"),
    "admin.changed": ("Chairside support", "Support changed", "{actor} changed {target}"),
    "admin.deleted": ("Chairside support", "Support deleted", "{actor} deleted {target}"),
}


class _Facts(dict):
    """Sentence values: a missing fact reads as nothing rather than failing the whole page."""

    def __missing__(self, key: str) -> str:
        return "…"


def actor_name(event: AuditEvent) -> str:
    if event.actor_label or event.actor_email:
        return event.actor_label or event.actor_email
    if isinstance(event.details, dict) and event.details.get("api_key"):
        return f"The API key {event.details['api_key']}"
    return "Chairside"


def _fact(value) -> str:
    return str(value).replace("_", " ") if value is not None else "…"


def event_words(event: AuditEvent, organization_name: str = "") -> str:
    """The event as a sentence: who did what to what."""
    details = event.details if isinstance(event.details, dict) else {}
    facts = _Facts({key: _fact(value) for key, value in details.items()})
    facts.update(actor=actor_name(event), target=event.target_label or "…", organization=organization_name or "your organization")
    if event.verb.startswith("admin.action."):
        return "{actor} ran “{action}” on {target}".format_map(
            _Facts(facts, action=event.verb.removeprefix("admin.action.").replace("_", " ")))
    if event.verb == "locations.deactivated" and details.get("whole_institution"):
        return "{actor} deactivated {target} for the organization".format_map(facts)
    words = WORDS.get(event.verb)
    if words is None:  # a verb nobody described yet still reads as something
        return f"{facts['actor']} {event.verb.replace('.', ' ').replace('_', ' ')} {facts['target']}".strip()
    return words[2].format_map(facts)


def action_label(verb: str) -> str:
    return WORDS[verb][1] if verb in WORDS else verb.replace(".", ": ").replace("_", " ").capitalize()


def action_choices() -> list:
    groups = {kind: [] for kind in KINDS}
    for verb, (kind, label, _) in WORDS.items():
        groups[kind].append((verb, label))
    return [("", "Any action")] + [(kind, sorted(items, key=lambda item: item[1])) for kind, items in groups.items() if items]


SUPPORT, SYSTEM = "support", "system"


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(required=False, label="Who")
    action = forms.ChoiceField(required=False, label="Action", choices=action_choices)
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        emails = (AuditEvent.objects.filter(organization=organization, actor_label="").exclude(actor_email="")
                  .order_by("actor_email").values_list("actor_email", flat=True).distinct())
        self.fields["actor"].choices = ([("", "Anyone")] + [(email, email) for email in emails]
                                        + [(SUPPORT, SUPPORT_LABEL), (SYSTEM, "Chairside and API keys")])

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "Pick a day on or after the first day.")
        return data


def audit_events(*, organization: Organization, filters: dict) -> QuerySet[AuditEvent]:
    """The organization's events, newest first, narrowed by the cleaned filters."""
    events = AuditEvent.objects.filter(organization=organization).order_by("-created_at", "-id")
    actor = filters.get("actor")
    if actor == SUPPORT:
        events = events.filter(actor_label=SUPPORT_LABEL)
    elif actor == SYSTEM:
        events = events.filter(actor_label="", actor_email="")
    elif actor:
        events = events.filter(actor_email=actor, actor_label="")
    if filters.get("action"):
        events = events.filter(verb=filters["action"])
    start: date | None = filters.get("start")
    end: date | None = filters.get("end")
    if start:
        events = events.filter(created_at__date__gte=start)
    if end:
        events = events.filter(created_at__date__lte=end)
    return events


def audit_csv_rows(events: QuerySet[AuditEvent], organization_name: str) -> Iterator[list[str]]:
    yield ["time_utc", "who", "action", "event", "target", "ip_address"]
    for event in events.iterator(chunk_size=1000):
        yield [csv_safe(value) for value in (event.created_at.isoformat(), actor_name(event), event.verb,
                                             event_words(event, organization_name), event.target_label,
                                             event.ip_address or "")]


class Echo:
    """csv.writer target for a streamed response: each row is written straight out."""

    def write(self, value: str) -> str:
        return value


def audit_csv_lines(events: QuerySet[AuditEvent], organization_name: str) -> Iterator[str]:
    writer = csv.writer(Echo())
    return (writer.writerow(row) for row in audit_csv_rows(events, organization_name))

