from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from institutions import services
from institutions.board import billed_location_count
from institutions.forms import InstitutionForm
from institutions.matching import find_matches
from institutions.models import Institution, Location, TimelineEvent
from institutions.selectors import NO_SYNC, SECTIONS, institution_board, organizations_reaching
from portal.audit import client_ip
from portal.forms import add_service_errors
from portal.paging import CountedPaginator
from portal.permissions import permission_required
from syncs.models import NextStep, StepKind, Sync, SyncStatus, institution_next_step
from syncs.services import locations_deactivate

BOARD_PAGE_SIZE = 25
STATUS_FILTERS = [(NO_SYNC, "No sync yet")] + [(s.value, s.label) for s in SyncStatus if s != SyncStatus.DEACTIVATED]

# This organization ended its use of the institution (others may still use it).
DEACTIVATED_HERE = NextStep("Deactivated", StepKind.DEACTIVATED)


@permission_required("portal.view")
@require_GET
def institution_list(request):
    membership = request.membership
    # The sandbox's sync is always active: in test mode there is nothing "to do", so show ALL first.
    default_section = "all" if membership.in_test_mode else "todo"
    board = institution_board(
        organization=membership.organization, sandbox=membership.in_test_mode,
        section=request.GET.get("section", default_section), query=request.GET.get("q", "").strip(),
        status=request.GET.get("status", "") if request.GET.get("status", "") in dict(STATUS_FILTERS) else "",
    )
    page = CountedPaginator(board.institutions, BOARD_PAGE_SIZE, count=board.counts[board.section]).get_page(
        request.GET.get("page"))
    rows = [(institution, *(
        (DEACTIVATED_HERE, None) if institution.deactivated_here
        else (NextStep("Waiting for the practice's consent", StepKind.WAITING), None) if institution.consent_pending
        else institution_next_step(list(institution.syncs.all())))) for institution in page.object_list]
    # Production billing, shown outside test mode only.
    billed = None if membership.in_test_mode else billed_location_count(membership.organization)
    return render(request, "institutions/list.html", {
        "board": board, "billed_locations": billed, "page": page, "rows": rows, "sections": SECTIONS, "status_filters": STATUS_FILTERS,
        "query": request.GET.get("q", "").strip(), "status": request.GET.get("status", ""),
    })


@permission_required("institution.create")
@require_http_methods(["GET", "POST"])
def institution_create(request):
    form = InstitutionForm(request.POST or None)
    checking = request.headers.get("X-Match-Check") == "1"  # portal.js asks before submitting, to show a modal
    if request.method == "POST" and request.POST.get("edit") == "1":
        return render(request, "institutions/create.html", {"form": form})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        matches = [] if request.POST.get("create_anyway") == "1" else find_matches(
            organization=request.membership.organization, name=data["name"], street_address=data["street_address"],
            zip_code=data["zip_code"], phone_number=data["phone_number"], email=data["email"], website=data["website"])
        if matches:
            template = "institutions/_match_dialog.html" if checking else "institutions/create_matches.html"
            return render(request, template, {"form": form, "matches": matches})
        if checking:
            return HttpResponse(status=204)
        try:
            institution = services.institution_create(organization=request.membership.organization, actor=request.user,
                                                      data=form.cleaned_data, ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{institution.name} was created with the subdomain {institution.subdomain}. Next: create its sync.")
            return redirect("institutions:detail", institution.subdomain)
    if checking:
        return HttpResponse(status=204)  # nothing to ask: the real submit shows the errors
    return render(request, "institutions/create.html", {"form": form}, status=400 if form.errors else 200)


@permission_required("institution.create")
@require_GET
def subdomain_preview(request):
    """The subdomain the name would get (htmx, while typing on Create Institution).

    Made from the name alone, never checked against the database: whether another organization's practice
    already uses it is nobody's business here (a taken one gets a short suffix when the institution is created)."""
    name = request.GET.get("name", "").strip()[:200]
    return render(request, "institutions/_subdomain_preview.html", {"subdomain": services.subdomain_base(name) if name else ""})


@permission_required("portal.view")
@require_GET
def institution_detail(request, subdomain: str):
    organization = request.membership.organization
    syncs = Sync.objects.select_related("install_slot", "credentials_submitted_by").order_by("id")
    institution = get_object_or_404(
        Institution.objects.reachable_by(organization).prefetch_related(
            Prefetch("locations", queryset=Location.objects.select_related("sync").order_by("id")),
            Prefetch("syncs", queryset=syncs),
        ),
        subdomain=subdomain,
    )
    timeline = (TimelineEvent.objects.filter(institution=institution)
                .filter(Q(organization__isnull=True) | Q(organization=organization))
                .select_related("sync")[:100])
    now = timezone.now()
    sync_steps = [(sync, sync.next_step, sync.health_at(now) if sync.status == SyncStatus.ACTIVE else None)
                  for sync in institution.syncs.all()]
    serving = set(institution.locations.serving(organization).values_list("pk", flat=True))
    deactivated_here = institution.accesses.filter(organization=organization, deactivated_at__isnull=False).exists()
    return render(request, "institutions/detail.html", {
        **_deactivate_context(institution, organization, serving), "timeline": timeline, "sync_steps": sync_steps,
        "serving_ids": serving, "deactivated_here": deactivated_here,
        "next_step": DEACTIVATED_HERE if deactivated_here else institution_next_step(list(institution.syncs.all()))[0],
        "can_delete": services.institution_can_be_deleted(institution=institution, membership=request.membership),
    })


def _deactivate_context(institution: Institution, organization, serving: set[int] | None = None) -> dict:
    """What deactivating would stop, for this organization only: its API access and billing. Others keep theirs."""
    if serving is None:
        serving = set(institution.locations.serving(organization).values_list("pk", flat=True))
    # .all() and sorting here: the detail page has prefetched both.
    billed = sorted((loc for loc in institution.locations.all() if loc.pk in serving), key=lambda loc: loc.name)
    live_syncs = sorted((sync for sync in institution.syncs.all() if sync.status != SyncStatus.DEACTIVATED),
                        key=lambda sync: sync.pk)
    others = organizations_reaching(institution).exclude(pk=organization.pk).exists()
    count = len(billed)
    sync_names = " and ".join(sync.get_ehr_display() for sync in live_syncs)
    stops = (f"Your organization's use of {institution.name} stops: API access to {count} location{pluralize(count)} "
             f"({', '.join(loc.name for loc in billed)}) and billing. ")
    if others:
        keeps = (f"Other organizations the practice works with keep their access, so the {sync_names} "
                 f"sync{pluralize(len(live_syncs))} keep{'' if len(live_syncs) != 1 else 's'} running for them; "
                 "questions about who operates it go to Chairside support. " if live_syncs else
                 "Other organizations the practice works with keep their access. ")
    else:
        keeps = (f"No other organization uses this practice, so the {sync_names} sync{pluralize(len(live_syncs))} "
                 f"stop{'' if len(live_syncs) != 1 else 's'} too. " if live_syncs else "")
    whole_summary = stops + keeps + "Support can reactivate it."
    return {"institution": institution, "billed_locations": billed, "live_syncs": live_syncs,
            "whole_summary": whole_summary, "shared": others}


def _reachable_production(request, subdomain: str) -> Institution:
    return get_object_or_404(Institution.objects.reachable_by(request.membership.organization).filter(is_sandbox=False),
                             subdomain=subdomain)


@permission_required("locations.deactivate")
@require_http_methods(["GET", "POST"])
def institution_deactivate(request, subdomain: str):
    """GET: the confirmation as a page of its own (the dialog's no-JavaScript fallback). POST: deactivate."""
    institution = _reachable_production(request, subdomain)
    context = _deactivate_context(institution, request.membership.organization)
    if request.method != "POST":
        return render(request, "institutions/deactivate.html", context)
    scope = request.POST.get("scope", "")
    ticked = [int(pk) for pk in request.POST.getlist("locations") if pk.isdigit()]
    error = None
    if scope == "institution" and ticked:
        error = "You chose the whole institution and ticked some locations: choose one or the other."
    elif scope == "institution" and request.POST.get("confirm_name", "").strip().casefold() != institution.name.casefold():
        error = f"Type the institution's name, {institution.name}, to deactivate all of it."
    elif scope != "institution" and not ticked:
        error = "Tick the locations to deactivate, or choose the whole institution."
    if error is None:
        try:
            chosen = locations_deactivate(
                institution=institution, location_ids=None if scope == "institution" else ticked, actor=request.user,
                organization=request.membership.organization, ip=client_ip(request))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            what = "the institution" if scope == "institution" else f"{chosen} location{pluralize(chosen)}"
            messages.success(request, f"Deactivated {what} for your organization: your API access and billing "
                                      "stopped. Contact support to reactivate.")
            return redirect("institutions:detail", institution.subdomain)
    return render(request, "institutions/deactivate.html",
                  {**context, "error": error, "scope": scope, "ticked": ticked}, status=400)


@permission_required("institution.delete")
@require_http_methods(["GET", "POST"])
def institution_delete(request, subdomain: str):
    """GET: the confirmation as a page of its own. POST: delete, when `institution_can_be_deleted` allows it."""
    institution = _reachable_production(request, subdomain)
    if not services.institution_can_be_deleted(institution=institution, membership=request.membership):
        raise PermissionDenied("This institution can't be deleted: deactivate it instead.")
    if request.method != "POST":
        return render(request, "institutions/delete.html", {"institution": institution})
    services.institution_delete(institution=institution, actor_membership=request.membership, ip=client_ip(request))
    messages.success(request, f"{institution.name} was deleted.")
    return redirect("institutions:list")
