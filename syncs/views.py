from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_http_methods, require_safe

from institutions.models import Institution
from portal.audit import client_ip
from portal.forms import add_service_errors
from portal.permissions import can, permission_required
from syncs import services
from syncs.catalog import SYNC_OPTIONS
from syncs.forms import ActivateLocationsForm, CreateSyncForm, DowntimeForm, InstructionsEmailForm, SelectLocationsForm, credentials_form_class
from syncs.health import diagnose
from syncs.installer import installer, run_command
from syncs.models import InstallPath, LocationActivationRequest, Sync, SyncStatus
from syncs.selectors import extension_coverage, institution_operated_by, sync_for_member, sync_for_operator


@permission_required("sync.create")
@require_http_methods(["GET", "POST"])
def sync_create(request, subdomain: str):
    institution = get_object_or_404(Institution.objects.reachable_by(request.membership.organization), subdomain=subdomain)
    if not institution_operated_by(institution, request.membership.organization):
        raise PermissionDenied("Only the organization that onboarded this practice can create its syncs.")
    form = CreateSyncForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sync = services.sync_create(institution=institution, option_key=form.cleaned_data["system"],
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
    """What the page shows depends on the member's role: secrets and forms only for those who may use them."""
    membership = request.membership
    secrets = can(membership, "sync.see_secrets")
    context = {"sync": sync, "institution": sync.institution, "step": sync.next_step, "ehr": sync.catalog_entry,
               "operated_here": sync.operated_here, "extension_store_url": settings.EXTENSION_STORE_URL}
    if not sync.operated_here:
        # A consumer of a shared practice sees the sync's health, never its keys, credentials or settings.
        if sync.status == SyncStatus.ACTIVE:
            context["health"] = sync.health_at(timezone.now())
        return context
    if sync.install_path == InstallPath.SELF_INSTALLER and sync.status == SyncStatus.AWAITING_INSTALL and secrets:
        context["product_key"] = services.product_key_of(sync)
        context.update(_download_context(sync, context["product_key"]))
        if can(membership, "sync.email_instructions"):
            context["instructions_form"] = forms.get("instructions_form") or InstructionsEmailForm(
                initial={"email": sync.institution.contact_email})
    if sync.install_path == InstallPath.CLOUD:
        if secrets:
            context["extension_token"] = services.extension_token_of(sync)
        if (sync.status in (SyncStatus.AWAITING_CREDENTIALS, SyncStatus.CREDENTIAL_ERROR, SyncStatus.FAILED)
                and can(membership, "sync.submit_credentials")):
            context["credentials_form"] = forms.get("credentials_form") or credentials_form_class(sync.catalog_entry)()
    if sync.status == SyncStatus.SELECT_LOCATIONS and can(membership, "sync.select_locations"):
        context["locations_form"] = forms.get("locations_form") or SelectLocationsForm(sync=sync)
    if sync.status == SyncStatus.ACTIVE:
        now = timezone.now()
        coverage = extension_coverage(sync, now) if sync.install_path == InstallPath.CLOUD else None
        context.update(health=sync.health_at(now), coverage=coverage, diagnosis=diagnose(sync, now, coverage=coverage))
        if can(membership, "sync.change_downtime"):
            context["downtime_form"] = DowntimeForm(initial={"downtime_schedule": sync.downtime_schedule})
        if sync.reinstall_key_issued_at and secrets:
            context["product_key"] = services.product_key_of(sync)
            context.update(_download_context(sync, context["product_key"]))
        additional = list(services.inactive_locations(sync).order_by("name"))
        pending = sync.activation_requests.filter(status=LocationActivationRequest.Status.PENDING).first()
        if additional and pending is None and can(membership, "sync.request_locations"):
            context["activate_form"] = forms.get("activate_form") or ActivateLocationsForm(locations=additional)
        context["pending_activation"] = pending
    return context


def _download_context(sync: Sync, product_key: str) -> dict:
    package = installer()
    return {"installer": package, "run_command": run_command(filename=package.filename, server=settings.PORTAL_BASE_URL,
                                                             product_key=product_key, ehr=sync.ehr)}


@never_cache  # the page shows the product key and the extension token
@permission_required("portal.view")
@require_GET
def sync_detail(request, code: str):
    sync = sync_for_member(request, code)
    return render(request, "syncs/detail.html", _detail_context(request, sync))


@never_cache  # the page shows the product key and the extension token
@permission_required("sync.email_instructions")
@require_POST
def sync_email_instructions(request, code: str):
    sync = sync_for_operator(request, code)
    form = InstructionsEmailForm(request.POST)
    if form.is_valid():
        try:
            services.sync_email_instructions(sync=sync, to=form.cleaned_data["email"], actor=request.user,
                                               organization=request.membership.organization, ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"The instructions were emailed to {form.cleaned_data['email']}.")
            return redirect("syncs:detail", sync.code)
    return render(request, "syncs/detail.html", _detail_context(request, sync, instructions_form=form), status=400)


@never_cache  # the page shows the product key and the extension token
@permission_required("sync.submit_credentials")
@require_POST
def sync_submit_credentials(request, code: str):
    sync = sync_for_operator(request, code)
    if sync.install_path != InstallPath.CLOUD:
        messages.error(request, "This sync is not a cloud sync: it needs no credentials.")
        return redirect("syncs:detail", sync.code)
    form = credentials_form_class(sync.catalog_entry)(request.POST)
    if form.is_valid():
        try:
            services.sync_submit_credentials(sync=sync, credentials=form.cleaned_data, actor=request.user,
                                               organization=request.membership.organization, ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Credentials submitted. A Chairside engineer installs the sync and lets you know.")
            return redirect("syncs:detail", sync.code)
    return render(request, "syncs/detail.html", _detail_context(request, sync, credentials_form=form), status=400)


@never_cache  # the page shows the product key and the extension token
@permission_required("sync.select_locations")
@require_POST
def sync_select_locations(request, code: str):
    sync = sync_for_operator(request, code)
    form = SelectLocationsForm(request.POST, sync=sync)
    if form.is_valid():
        try:
            chosen = services.sync_select_locations(
                sync=sync, location_ids=[int(pk) for pk in form.cleaned_data["locations"]], actor=request.user,
                organization=request.membership.organization, ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{len(chosen)} location{pluralize(len(chosen))} selected. The sync is active.")
            return redirect("syncs:detail", sync.code)
    return render(request, "syncs/detail.html", _detail_context(request, sync, locations_form=form), status=400)


@permission_required("sync.retry")
@require_POST
def sync_retry(request, code: str):
    sync = sync_for_operator(request, code)
    try:
        services.sync_retry(sync=sync, actor=request.user, organization=request.membership.organization)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("syncs:detail", sync.code)


@permission_required("sync.change_downtime")
@require_POST
def sync_set_downtime(request, code: str):
    sync = sync_for_operator(request, code)
    form = DowntimeForm(request.POST)
    if form.is_valid():
        services.sync_set_downtime(sync=sync, schedule=form.cleaned_data["downtime_schedule"], actor=request.user,
                                   organization=request.membership.organization, ip=client_ip(request))
        messages.success(request, "Expected downtime saved: gaps inside it no longer alert.")
    else:
        messages.error(request, "Choose one of the expected downtime options.")
    return redirect("syncs:detail", sync.code)


@permission_required("sync.request_reinstall")
@require_POST
def sync_request_reinstall(request, code: str):
    sync = sync_for_operator(request, code)
    try:
        services.sync_request_reinstall(sync=sync, actor=request.user, organization=request.membership.organization,
                                          ip=client_ip(request))
        messages.success(request, "Reinstall requested. Support will issue a new product key here, usually within a business day.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("syncs:detail", sync.code)


@never_cache  # the page shows the product key and the extension token
@permission_required("sync.request_locations")
@require_POST
def sync_activate_locations(request, code: str):
    sync = sync_for_operator(request, code)
    form = ActivateLocationsForm(request.POST, locations=services.inactive_locations(sync))
    if form.is_valid():
        try:
            services.locations_request_activation(
                sync=sync, location_ids=[int(pk) for pk in form.cleaned_data["locations"]], actor=request.user,
                organization=request.membership.organization, ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Activation requested. Chairside support activates the locations shortly and lets you know.")
            return redirect("syncs:detail", sync.code)
    return render(request, "syncs/detail.html", _detail_context(request, sync, activate_form=form), status=400)


@require_safe
def synchronizer_download(request):
    """Public: the practice's IT downloads it from the emailed link without an account; it holds no secret
    (the product key is typed in when it runs)."""
    package = installer()
    response = HttpResponse(package.content, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{package.filename}"'
    response["ETag"] = f'"{package.sha256}"'
    return response
