"""The sync lifecycle: every transition is one function here, each a conditional update plus a timeline event.

    self_installer: awaiting_install -> historical_read -> select_locations -> active
    scheduled:      awaiting_schedule -> install_scheduled -> active   (cancel: back to awaiting_schedule)
    cloud:          awaiting_credentials -> credentials_submitted -> active
                                            credentials_submitted -> credential_error -> credentials_submitted
    any install:    -> failed (support, with a reason); failed -> the path's first step again (retry)
"""

import json
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from institutions.models import Institution, InstitutionAccess, Location, LocationDeactivation
from institutions.selectors import organizations_reaching
from institutions.timeline import timeline_record
from portal.audit import audit_record
from portal.models import Organization, User
from portal.outbox import outbound_email_queue
from portal import crypto
from syncs.catalog import SYNC_OPTIONS, SyncOption
from syncs.models import DowntimeSchedule, InstallPath, LocationActivationRequest, Sync, SyncStatus

FIRST_STATUS = {
    InstallPath.SELF_INSTALLER: SyncStatus.AWAITING_INSTALL,
    InstallPath.SCHEDULED: SyncStatus.AWAITING_SCHEDULE,
    InstallPath.CLOUD: SyncStatus.AWAITING_CREDENTIALS,
}
PRODUCT_KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


class TransitionRefused(ValidationError):
    """The sync is no longer in the state this action expects (someone else acted first)."""


def new_product_key() -> str:
    # 32 letters: each random byte's low five bits pick one uniformly (get_random_string's per-letter choice was a
    # good part of building a CSV import's syncs).
    letters = "".join(PRODUCT_KEY_ALPHABET[byte & 31] for byte in secrets.token_bytes(25))
    return "CHS-" + "-".join(letters[start:start + 5] for start in range(0, 25, 5))


def new_extension_token() -> str:
    return "chs_ext_" + get_random_string(32)


def sync_move(sync: Sync, *, from_statuses: list[str], to: str, message: str = "") -> None:
    """Conditional UPDATE: exactly one caller wins a transition."""
    now = timezone.now()
    updated = Sync.objects.filter(pk=sync.pk, status__in=from_statuses).update(
        # Any state change: the health sweep looks at the sync at its next run (it starts or stops monitoring it).
        status=to, status_message=message, status_changed_at=now, health_deadline_at=now)
    if not updated:
        expected = " or ".join(_state_words(s) for s in from_statuses)
        if sync.status in from_statuses:  # it was, when this page or action loaded it: someone else acted first
            raise TransitionRefused(f"This sync is no longer {expected}.")
        raise TransitionRefused(f"This sync is {_state_words(sync.status)}, not {expected}.")
    sync.status, sync.status_message, sync.status_changed_at, sync.health_deadline_at = to, message, now, now


def _state_words(status: str) -> str:
    """The state itself ("awaiting credentials"), not the developer's next step that labels it."""
    return status.replace("_", " ")


def syncs_move(syncs, *, from_statuses: list[str], to: str, actor: User, organization: Organization | None = None,
               verb: str, message: str) -> list[Sync]:
    """sync_move for several syncs, each with its own timeline event. `message` may name the sync: {sync}.

    A sync someone else moved in between is left as it is: one sync never fails a change of many.
    """
    moved = []
    for sync in syncs.filter(status__in=from_statuses).select_related("institution").distinct():
        try:
            sync_move(sync, from_statuses=from_statuses, to=to)
        except TransitionRefused:
            continue
        timeline_record(institution=sync.institution, sync=sync, actor=actor, organization=organization, verb=verb,
                        message=message.format(sync=sync.get_ehr_display()))
        moved.append(sync)
    return moved


@transaction.atomic
def sync_create(*, institution: Institution, option_key: str, actor: User, organization: Organization,
                ip: str | None = None) -> Sync:
    option = SYNC_OPTIONS.get(option_key)
    if option is None:
        raise ValidationError({"system": "Choose the practice's health record system."})
    sync = sync_build(institution=institution, option=option, actor=actor, operator=organization)
    sync.save()
    timeline_record(institution=institution, sync=sync, actor=actor, organization=organization, verb="sync.created",
                    message=sync_created_message(option))
    audit_record(verb="sync.created", actor=actor, organization=organization, target=sync,
                 target_label=f"{option.label} sync of {institution.name}", ip=ip)
    return sync


def sync_build(*, institution: Institution, option: SyncOption, actor: User | None, operator: Organization,
               now=None) -> Sync:
    """An unsaved sync at its install path's first step, with its product key or extension token.

    sync_create saves one; the CSV import (institutions.bulk) inserts a batch of them at once.
    """
    now = now or timezone.now()
    sync = Sync(institution=institution, ehr=option.ehr.name, install_path=option.install_path,
                status=FIRST_STATUS[option.install_path], created_by=actor, operator=operator, created_at=now,
                status_changed_at=now)
    if option.install_path == InstallPath.SELF_INSTALLER:
        _set_product_key(sync, new_product_key())
    if option.install_path == InstallPath.CLOUD:
        token = new_extension_token()
        sync.extension_token_encrypted, sync.extension_token_hash = crypto.encrypt(token), crypto.fingerprint(token)
    return sync


def sync_created_message(option: SyncOption) -> str:
    """The timeline's words for a new sync, wherever it was created."""
    article = "an" if option.label[:1].lower() in "aeiou" else "a"
    return f"Created {article} {option.label} sync ({option.ehr.versions})"


def _set_product_key(sync: Sync, key: str) -> None:
    sync.product_key_encrypted, sync.product_key_hash = crypto.encrypt(key), crypto.fingerprint(key)


def product_key_of(sync: Sync) -> str:
    return crypto.decrypt(sync.product_key_encrypted) if sync.product_key_encrypted else ""


def extension_token_of(sync: Sync) -> str:
    return crypto.decrypt(sync.extension_token_encrypted) if sync.extension_token_encrypted else ""


@transaction.atomic
def sync_mark_installed(*, sync: Sync, actor: User | None) -> None:
    """The Synchronizer is on the server and reading history (support, until the agent reports it itself)."""
    sync_move(sync, from_statuses=[SyncStatus.AWAITING_INSTALL], to=SyncStatus.HISTORICAL_READ)
    timeline_record(institution=sync.institution, sync=sync, actor=actor, verb="sync.installed", notify=True,
                    message="The Synchronizer was installed and is reading the practice's history")


@transaction.atomic
def sync_locations_reported(*, sync: Sync, actor: User | None) -> None:
    sync_move(sync, from_statuses=[SyncStatus.HISTORICAL_READ], to=SyncStatus.SELECT_LOCATIONS)
    if not sync.locations.exists():  # raising rolls the move back
        raise ValidationError("No locations were reported for this sync yet.")
    timeline_record(institution=sync.institution, sync=sync, actor=actor, verb="sync.locations_reported", notify=True,
                    message=f"The historical read finished: {sync.locations.count()} locations found; select the ones to sync")


@transaction.atomic
def sync_select_locations(*, sync: Sync, location_ids: list[int], actor: User, organization: Organization,
                          ip: str | None = None) -> list[Location]:
    chosen = list(sync.locations.filter(pk__in=location_ids))
    if not chosen:
        raise ValidationError({"locations": "Select at least one location."})
    sync_move(sync, from_statuses=[SyncStatus.SELECT_LOCATIONS], to=SyncStatus.ACTIVE)
    Location.objects.filter(pk__in=[loc.pk for loc in chosen]).update(active=True, updated_at=timezone.now())
    names = ", ".join(loc.name for loc in chosen)
    timeline_record(institution=sync.institution, sync=sync, actor=actor, organization=organization,
                    verb="sync.locations_selected", message=f"Selected {len(chosen)} locations: {names}. The sync is active")
    audit_record(verb="sync.locations_selected", actor=actor, organization=organization, target=sync,
                 target_label=sync.institution.name, ip=ip, details={"location_ids": [loc.pk for loc in chosen]})
    return chosen


@transaction.atomic
def sync_submit_credentials(*, sync: Sync, credentials: dict, actor: User, organization: Organization,
                            ip: str | None = None) -> None:
    """Encrypted at once; never shown back. A rejected submission can be replaced."""
    sync_move(sync, from_statuses=[SyncStatus.AWAITING_CREDENTIALS, SyncStatus.CREDENTIAL_ERROR, SyncStatus.FAILED],
          to=SyncStatus.CREDENTIALS_SUBMITTED)
    sync.credentials_encrypted = crypto.encrypt(json.dumps(credentials))
    sync.credentials_submitted_by, sync.credentials_submitted_at = actor, timezone.now()
    sync.save(update_fields=["credentials_encrypted", "credentials_submitted_by", "credentials_submitted_at"])
    timeline_record(institution=sync.institution, sync=sync, actor=actor, organization=organization,
                    verb="sync.credentials_submitted", message="Submitted the practice's credentials")
    audit_record(verb="sync.credentials_submitted", actor=actor, organization=organization, target=sync,
                 target_label=sync.institution.name, ip=ip)


def sync_read_credentials(*, sync: Sync, actor: User, ip: str | None = None) -> dict:
    """Support reads the credentials to install the sync; every read is an audit event."""
    if not sync.credentials_encrypted:
        return {}
    audit_record(verb="sync.credentials_viewed", actor=actor, organization=None, target=sync,
                 target_label=sync.institution.name, ip=ip)
    return json.loads(crypto.decrypt(sync.credentials_encrypted))


@transaction.atomic
def sync_flag_credential_error(*, sync: Sync, message: str, actor: User) -> None:
    if not message.strip():
        raise ValidationError("Say what is wrong with the credentials, so the developer can fix them.")
    sync_move(sync, from_statuses=[SyncStatus.CREDENTIALS_SUBMITTED], to=SyncStatus.CREDENTIAL_ERROR, message=message.strip())
    timeline_record(institution=sync.institution, sync=sync, actor=actor, verb="sync.credential_error", notify=True,
                    message=f"Credentials rejected: {message.strip()}")


@transaction.atomic
def sync_mark_failed(*, sync: Sync, reason: str, actor: User) -> None:
    if not reason.strip():
        raise ValidationError("Give the reason the installation failed.")
    sync_move(sync, from_statuses=[SyncStatus.AWAITING_INSTALL, SyncStatus.HISTORICAL_READ, SyncStatus.INSTALL_SCHEDULED,
                               SyncStatus.CREDENTIALS_SUBMITTED], to=SyncStatus.FAILED, message=reason.strip())
    timeline_record(institution=sync.institution, sync=sync, actor=actor, verb="sync.failed", notify=True,
                    message=f"Installation failed: {reason.strip()}")


COMPLETABLE = [SyncStatus.INSTALL_SCHEDULED, SyncStatus.CREDENTIALS_SUBMITTED]


def install_completion_refusal(sync: Sync, now=None) -> str:
    """Why support cannot mark this installation complete yet, in words; empty when it may."""
    now = now or timezone.now()
    slot = getattr(sync, "install_slot", None) if sync.status == SyncStatus.INSTALL_SCHEDULED else None
    if slot is not None and slot.starts_at > now:
        when = slot.starts_at.astimezone(sync.institution.zone).strftime("%a %-d %b %Y, %H:%M")
        return (f"The installation is booked for {when} ({sync.institution.zone.key}): it cannot be complete "
                "before it starts.")
    if not sync.locations.filter(deactivated_at__isnull=True).exists():
        return ("No locations are recorded for this sync: add the practice's locations below (or let the Synchronizer "
                "report them) before it goes live.")
    return ""


@transaction.atomic
def sync_complete_install(*, sync: Sync, actor: User) -> None:
    """Support finished a scheduled or cloud installation: the sync and its locations go live."""
    refusal = install_completion_refusal(sync)
    if refusal and sync.status in COMPLETABLE:  # from any other state sync_move says what the sync is instead
        raise ValidationError(refusal)
    sync_move(sync, from_statuses=COMPLETABLE, to=SyncStatus.ACTIVE)
    # Monitoring starts now: until the first report the sync is waiting, not down.
    sync.activated_at = sync.status_changed_at
    sync.save(update_fields=["activated_at"])
    sync.locations.filter(deactivated_at__isnull=True).update(active=True, updated_at=timezone.now())
    timeline_record(institution=sync.institution, sync=sync, actor=actor, verb="sync.activated", notify=True,
                    message="Installation complete: the sync is active")


@transaction.atomic
def sync_retry(*, sync: Sync, actor: User, organization: Organization) -> None:
    """After a failure, start the path again (a fresh product key for the self-installer)."""
    first = FIRST_STATUS[sync.install_path]
    sync_move(sync, from_statuses=[SyncStatus.FAILED], to=first)
    if sync.install_path == InstallPath.SELF_INSTALLER:
        _set_product_key(sync, new_product_key())
        sync.save(update_fields=["product_key_encrypted", "product_key_hash"])
    timeline_record(institution=sync.institution, sync=sync, actor=actor, organization=organization,
                    verb="sync.retried", message=f"Started again: {SyncStatus(first).label.lower()}")


def sync_email_instructions(*, sync: Sync, to: str, actor: User, organization: Organization,
                            ip: str | None = None) -> None:
    """The product key goes to any address the developer types: audited with that address."""
    to = (to or "").strip().lower()
    try:
        validate_email(to)
    except ValidationError:
        raise ValidationError({"email": "Enter the IT contact's email address, like it@practice.com."})
    with transaction.atomic():
        outbound_email_queue(kind="install_instructions", object_id=sync.code, version=uuid.uuid4().hex, recipient=to)
        timeline_record(institution=sync.institution, sync=sync, actor=actor, organization=organization,
                        verb="sync.instructions_sent", message=f"Emailed the installation instructions to {to}")
        audit_record(verb="sync.instructions_sent", actor=actor, organization=organization, target=sync,
                     target_label=sync.institution.name, ip=ip, details={"recipient": to})


@transaction.atomic
def sync_request_reinstall(*, sync: Sync, actor: User, organization: Organization, ip: str | None = None) -> None:
    """An on-prem sync is down for good (server replaced, antivirus): ask support for a new product key."""
    if sync.install_path == InstallPath.CLOUD:
        raise ValidationError("Cloud syncs are not reinstalled: install the browser extension on more workstations.")
    if sync.status != SyncStatus.ACTIVE:
        raise ValidationError("Only an active sync can be reinstalled.")
    if not Sync.objects.filter(pk=sync.pk, reinstall_requested_at__isnull=True).update(reinstall_requested_at=timezone.now()):
        raise ValidationError("A reinstall was already requested; support will send the new product key.")
    # Consumers of the practice feel a reinstall too: a shared event, naming the operator, not its people.
    timeline_record(institution=sync.institution, sync=sync, actor=actor, shared_by=organization,
                    verb="sync.reinstall_requested", message="Requested a new product key to reinstall the Synchronizer")
    audit_record(verb="sync.reinstall_requested", actor=actor, organization=organization, target=sync,
                 target_label=sync.institution.name, ip=ip)


@transaction.atomic
def sync_set_downtime(*, sync: Sync, schedule: str, actor: User, organization: Organization,
                      ip: str | None = None) -> None:
    """When the practice's server is expected to be off: gaps inside it show as expected and don't alert. Consumers
    of the practice feel it (their alerts follow it too): a shared event, naming the operator, not its people."""
    label = DowntimeSchedule(schedule).label
    previous = sync.downtime_schedule
    Sync.objects.filter(pk=sync.pk).update(downtime_schedule=schedule)
    sync.downtime_schedule = schedule
    timeline_record(institution=sync.institution, sync=sync, actor=actor, shared_by=organization,
                    verb="sync.downtime_changed", message=f"Expected downtime: {label}")
    audit_record(verb="sync.downtime_changed", actor=actor, organization=organization, target=sync,
                 target_label=sync.institution.name, ip=ip, details={"from": previous, "to": schedule})


@transaction.atomic
def sync_issue_reinstall_key(*, sync: Sync, actor: User) -> str:
    """Support: a new product key; the old key and the old agent's token stop working; ids stay the same."""
    if sync.install_path == InstallPath.CLOUD:
        raise ValidationError("It is a cloud sync: there is no Synchronizer to reinstall (the browser extension runs it).")
    if sync.status != SyncStatus.ACTIVE:
        raise ValidationError(f"It is {_state_words(sync.status)}: only an active sync is reinstalled.")
    key = new_product_key()
    _set_product_key(sync, key)
    sync.agent_token_hash = None
    sync.reinstall_requested_at = None
    sync.reinstall_key_issued_at = timezone.now()
    sync.save(update_fields=["product_key_encrypted", "product_key_hash", "agent_token_hash", "reinstall_requested_at",
                             "reinstall_key_issued_at"])
    timeline_record(institution=sync.institution, sync=sync, actor=actor, verb="sync.reinstall_key_issued", notify=True,
                    message="Support issued a new product key: reinstall the Synchronizer with it")
    return key


def inactive_locations(sync: Sync):
    """Locations the Synchronizer reported that are not active (never activated); deactivated ones stay out."""
    return sync.locations.filter(active=False, deactivated_at__isnull=True)


@transaction.atomic
def locations_request_activation(*, sync: Sync, location_ids: list[int], actor: User, organization: Organization,
                                 ip: str | None = None):
    chosen = list(inactive_locations(sync).filter(pk__in=location_ids))
    if not chosen:
        raise ValidationError({"locations": "Select at least one location to activate."})
    if sync.status != SyncStatus.ACTIVE:
        raise ValidationError("Locations can be added once the sync is active.")
    request = LocationActivationRequest.objects.create(sync=sync, organization=organization, requested_by=actor)
    request.locations.set(chosen)
    names = ", ".join(loc.name for loc in chosen)
    timeline_record(institution=sync.institution, sync=sync, actor=actor, organization=organization,
                    verb="locations.activation_requested", message=f"Asked to activate {len(chosen)} more locations: {names}")
    audit_record(verb="locations.activation_requested", actor=actor, organization=organization, target=sync,
                 target_label=sync.institution.name, ip=ip, details={"location_ids": [loc.pk for loc in chosen]})
    return request


@transaction.atomic
def locations_fulfil_activation(*, request, actor: User) -> int:
    """Support: the requested locations become reachable through the API (and count toward billing)."""
    if not LocationActivationRequest.objects.filter(pk=request.pk, status=LocationActivationRequest.Status.PENDING).update(
            status=LocationActivationRequest.Status.FULFILLED, decided_at=timezone.now()):
        raise TransitionRefused("This request was already decided.")
    activated = Location.objects.filter(pk__in=request.locations.values("pk"), deactivated_at__isnull=True).update(
        active=True, updated_at=timezone.now())
    timeline_record(institution=request.sync.institution, sync=request.sync, actor=actor, verb="locations.activated",
                    notify=True, message=f"Support activated {activated} more locations")
    return activated


@transaction.atomic
def locations_deactivate(*, institution: Institution, location_ids: list[int] | None, actor: User,
                         organization: Organization, ip: str | None = None) -> int:
    """End this organization's use (API access and billing) of some locations, or (None) of the whole institution.

    Other organizations keep theirs, untouched. Only what nobody uses any more stops: a location no organization
    serves stops syncing, and a sync stops when no organization uses the practice at all."""
    access = InstitutionAccess.objects.select_for_update().filter(
        organization=organization, institution=institution, status=InstitutionAccess.Status.ACTIVE,
        deactivated_at__isnull=True).first()
    if access is None:
        raise ValidationError("Your organization no longer uses this institution.")
    serving = list(institution.locations.serving(organization).order_by("name"))
    chosen = serving if location_ids is None else [loc for loc in serving if loc.pk in set(location_ids)]
    if location_ids is not None and not chosen:
        raise ValidationError({"locations": "Select at least one location to deactivate."})
    now = timezone.now()
    whole = location_ids is None  # ticked locations never widen to the whole institution
    if whole:
        InstitutionAccess.objects.filter(pk=access.pk).update(deactivated_at=now)
    LocationDeactivation.objects.bulk_create(
        [LocationDeactivation(organization=organization, location=loc, deactivated_at=now, deactivated_by=actor)
         for loc in chosen], ignore_conflicts=True)
    # Worded for every reader of the timeline: the organization itself, the others and the practice's staff.
    message = ("Stopped using the institution: API access and billing ended for this organization" if whole else
               f"Stopped using {len(chosen)} location{'s' if len(chosen) != 1 else ''}: "
               f"{', '.join(loc.name for loc in chosen)}")
    timeline_record(institution=institution, actor=actor, organization=organization, verb="locations.deactivated",
                    message=message)
    audit_record(verb="locations.deactivated", actor=actor, organization=organization, target=institution, ip=ip,
                 details={"location_ids": [loc.pk for loc in chosen], "whole_institution": whole})
    _stop_what_nobody_uses(institution, now, actor=actor, organization=organization)
    return len(chosen)


def _stop_what_nobody_uses(institution: Institution, now, *, actor: User, organization: Organization) -> None:
    users = list(organizations_reaching(institution))
    if not users:
        # The last organization left: every sync of the practice stops, whatever its stage (each with its event).
        institution.locations.live().update(deactivated_at=now, updated_at=now)
        syncs_move(institution.syncs.all(), from_statuses=[s for s in SyncStatus if s != SyncStatus.DEACTIVATED],
                   to=SyncStatus.DEACTIVATED, actor=actor, organization=organization, verb="sync.deactivated",
                   message="The {sync} sync was deactivated with the institution")
        return
    still_served = set()
    for organization in users:
        still_served.update(institution.locations.serving(organization).values_list("pk", flat=True))
    # A location nobody uses any more stops syncing; the sync itself runs while any organization uses the practice.
    institution.locations.live().exclude(pk__in=still_served).update(deactivated_at=now, updated_at=now)
    operators = {org.pk for org in users}
    for sync in institution.syncs.filter(status=SyncStatus.ACTIVE).exclude(operator__in=operators):
        # Consumers remain but the operator left: the sync keeps running, its settings frozen until support
        # transfers operation to one of them (Sync admin, "Transfer operation").
        if not sync.timeline.filter(verb="sync.operator_left", created_at__gte=sync.status_changed_at).exists():
            timeline_record(institution=institution, sync=sync, system=True, verb="sync.operator_left",
                            message="The organization that operates this sync stopped using the practice. The sync "
                                    "keeps running; Chairside support can transfer its operation to your organization.")


@transaction.atomic
def locations_reactivate(*, locations, actor: User) -> int:
    """Support: deactivated locations come back for every organization that had deactivated them (their syncs too)."""
    chosen = list(locations.select_related("institution"))
    now = timezone.now()
    LocationDeactivation.objects.filter(location__in=chosen).delete()
    InstitutionAccess.objects.filter(institution__in={loc.institution_id for loc in chosen},
                                     deactivated_at__isnull=False).update(deactivated_at=None)
    Location.objects.filter(pk__in=[loc.pk for loc in chosen], deactivated_at__isnull=False).update(
        deactivated_at=None, updated_at=now)
    syncs_move(Sync.objects.filter(locations__in=chosen).distinct(), from_statuses=[SyncStatus.DEACTIVATED],
               to=SyncStatus.ACTIVE, actor=actor, verb="sync.reactivated", message="Support reactivated the {sync} sync")
    for institution in {loc.institution for loc in chosen}:
        timeline_record(institution=institution, actor=actor, verb="locations.reactivated", notify=True,
                        message="Support reactivated deactivated locations")
    return len(chosen)


def transfer_candidates(sync: Sync):
    """Organizations support may hand a sync's operation to: active, not deactivated access to its practice, not the
    operator itself (organizations_reaching is the one rule for "uses this practice")."""
    return organizations_reaching(sync.institution).exclude(pk=sync.operator_id).order_by("name")


@transaction.atomic
def sync_transfer_operation(*, sync: Sync, to: Organization, actor: User, ip: str | None = None) -> None:
    """Support: `to`, a consumer of the practice, now operates the sync (settings, secrets, reinstall). The old
    operator (often gone already) keeps its access as a consumer, if it still has any. Audited on both sides."""
    if not transfer_candidates(sync).filter(pk=to.pk).exists():
        raise ValidationError(f"{to.name} does not use {sync.institution.name} (active, not deactivated access), "
                              "or already operates this sync.")
    previous = Organization.objects.filter(pk=sync.operator_id).first()
    # Conditional: two support agents transferring at once cannot both win from the same operator.
    if not Sync.objects.filter(pk=sync.pk, operator_id=sync.operator_id).update(operator=to):
        raise TransitionRefused("Someone else changed this sync's operator meanwhile: reload and try again.")
    sync.operator = to
    label = f"{sync.get_ehr_display()} sync of {sync.institution.name}"
    for organization in {org.pk: org for org in (previous, to) if org is not None}.values():
        audit_record(verb="sync.operation_transferred", actor=actor, organization=organization, target=sync,
                     target_label=label, ip=ip,
                     details={"from": previous.name if previous else "", "to": to.name})
    timeline_record(institution=sync.institution, sync=sync, actor=actor, system=True, verb="sync.operation_transferred",
                    notify=True, message=f"Chairside support transferred the operation of the {sync.get_ehr_display()} "
                                         f"sync to {to.name}")
