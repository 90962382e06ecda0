from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_POST

from institutions.models import Institution
from portal.audit import client_ip
from portal.forms import add_service_errors
from portal.permissions import membership_required
from syncs import onboarding
from syncs.catalog import SYNC_OPTIONS
from syncs.agent_api import extension_coverage
from syncs.forms import ActivateLocationsForm, CreateSyncForm, DowntimeForm, InstructionsEmailForm, SelectLocationsForm, credentials_form_class
from syncs.health import diagnose, sync_health
from syncs.models import InstallPath, Sync, SyncStatus
from syncs.selectors import sync_for_member


@membership_required
def sync_create(request, subdomain: str):
    institution = get_object_or_404(Institution.objects.reachable_by(request.membership.organization), subdomain=subdomain)
    form = CreateSyncForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sync = onboarding.sync_create(institution=institution, option_key=form.cleaned_data["system"],
                                          actor=request.user, organization=request.membership.organization,
                                          ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("syncs:detail", sync.code)
    groups = [("On the practice's server", [o for o in SYNC_OPTIONS.values() if o.ehr.hosting == "server"]),
              ("In the cloud", [o for o in SYNC_OPTIONS.values() if o.ehr.hosting == "cloud"])]
    return render(request, "syncs/create.html", {"institution": institution, "form": form, "groups": groups},
                  status=400 if form.errors else 200)


def _detail_context(request, sync: Sync, **forms) -> dict:
    context = {"sync": sync, "institution": sync.institution, "step": sync.next_step, "ehr": sync.catalog_entry}
    if sync.install_path == InstallPath.SELF_INSTALLER and sync.status == SyncStatus.AWAITING_INSTALL:
        context["product_key"] = onboarding.product_key_of(sync)
        context["instructions_form"] = forms.get("instructions_form") or InstructionsEmailForm(
            initial={"email": sync.institution.contact_email})
    if sync.install_path == InstallPath.CLOUD:
        context["extension_token"] = onboarding.extension_token_of(sync)
        if sync.status in (SyncStatus.AWAITING_CREDENTIALS, SyncStatus.CREDENTIAL_ERROR, SyncStatus.FAILED):
            context["credentials_form"] = forms.get("credentials_form") or credentials_form_class(sync.catalog_entry)()
    if sync.status == SyncStatus.SELECT_LOCATIONS:
        context["locations_form"] = forms.get("locations_form") or SelectLocationsForm(sync=sync)
    if sync.status == SyncStatus.ACTIVE:
        now = timezone.now()
        coverage = extension_coverage(sync, now) if sync.install_path == InstallPath.CLOUD else None
        context.update(health=sync_health(sync, now), coverage=coverage, diagnosis=diagnose(sync, now, coverage=coverage),
                       downtime_form=DowntimeForm(initial={"downtime_schedule": sync.downtime_schedule}))
        if sync.reinstall_key_issued_at:
            context["product_key"] = onboarding.product_key_of(sync)
        additional = list(onboarding.inactive_locations(sync).order_by("name"))
        pending = sync.activation_requests.filter(status="pending").first()
        if additional and pending is None:
            context["activate_form"] = forms.get("activate_form") or ActivateLocationsForm(locations=additional)
        context["pending_activation"] = pending
    return context


@membership_required
def sync_detail(request, code: str):
    sync = sync_for_member(request, code)
    return render(request, "syncs/detail.html", _detail_context(request, sync))


@membership_required
@require_POST
def sync_email_instructions(request, code: str):
    sync = sync_for_member(request, code)
    form = InstructionsEmailForm(request.POST)
    if form.is_valid():
        try:
            onboarding.sync_email_instructions(sync=sync, to=form.cleaned_data["email"], actor=request.user,
                                               organization=request.membership.organization)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"The instructions were emailed to {form.cleaned_data['email']}.")
            return redirect("syncs:detail", sync.code)
    return render(request, "syncs/detail.html", _detail_context(request, sync, instructions_form=form), status=400)


@membership_required
@require_POST
def sync_submit_credentials(request, code: str):
    sync = sync_for_member(request, code)
    if sync.install_path != InstallPath.CLOUD:
        messages.error(request, "This sync is not a cloud sync: it needs no credentials.")
        return redirect("syncs:detail", sync.code)
    form = credentials_form_class(sync.catalog_entry)(request.POST)
    if form.is_valid():
        try:
            onboarding.sync_submit_credentials(sync=sync, credentials=form.cleaned_data, actor=request.user,
                                               organization=request.membership.organization, ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Credentials submitted. A Chairside engineer installs the sync and lets you know.")
            return redirect("syncs:detail", sync.code)
    return render(request, "syncs/detail.html", _detail_context(request, sync, credentials_form=form), status=400)


@membership_required
@require_POST
def sync_select_locations(request, code: str):
    sync = sync_for_member(request, code)
    form = SelectLocationsForm(request.POST, sync=sync)
    if form.is_valid():
        try:
            chosen = onboarding.sync_select_locations(
                sync=sync, location_ids=[int(pk) for pk in form.cleaned_data["locations"]], actor=request.user,
                organization=request.membership.organization, ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{len(chosen)} location{pluralize(len(chosen))} selected. The sync is active.")
            return redirect("syncs:detail", sync.code)
    return render(request, "syncs/detail.html", _detail_context(request, sync, locations_form=form), status=400)


@membership_required
@require_POST
def sync_retry(request, code: str):
    sync = sync_for_member(request, code)
    try:
        onboarding.sync_retry(sync=sync, actor=request.user, organization=request.membership.organization)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("syncs:detail", sync.code)


@membership_required
@require_POST
def sync_set_downtime(request, code: str):
    sync = sync_for_member(request, code)
    form = DowntimeForm(request.POST)
    if form.is_valid():
        Sync.objects.filter(pk=sync.pk).update(downtime_schedule=form.cleaned_data["downtime_schedule"])
        onboarding.timeline_record(institution=sync.institution, sync=sync, actor=request.user,
                                   organization=request.membership.organization, verb="sync.downtime_changed",
                                   message=f"Expected downtime: {form.get_downtime_schedule_display()}")
        messages.success(request, "Expected downtime saved: gaps inside it no longer alert.")
    else:
        messages.error(request, "Choose one of the expected downtime options.")
    return redirect("syncs:detail", sync.code)


@membership_required
@require_POST
def sync_request_reinstall(request, code: str):
    sync = sync_for_member(request, code)
    try:
        onboarding.sync_request_reinstall(sync=sync, actor=request.user, organization=request.membership.organization)
        messages.success(request, "Reinstall requested. Support will issue a new product key here, usually within a business day.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("syncs:detail", sync.code)


@membership_required
@require_POST
def sync_activate_locations(request, code: str):
    sync = sync_for_member(request, code)
    form = ActivateLocationsForm(request.POST, locations=onboarding.inactive_locations(sync))
    if form.is_valid():
        try:
            onboarding.locations_request_activation(
                sync=sync, location_ids=[int(pk) for pk in form.cleaned_data["locations"]], actor=request.user,
                organization=request.membership.organization, ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Activation requested. Chairside support activates the locations shortly and lets you know.")
            return redirect("syncs:detail", sync.code)
    return render(request, "syncs/detail.html", _detail_context(request, sync, activate_form=form), status=400)
