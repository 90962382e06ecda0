from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone

from institutions import services
from institutions.forms import InstitutionForm
from institutions.matching import find_matches
from institutions.models import Institution, Location, TimelineEvent
from institutions.selectors import NO_SYNC, SECTIONS, institution_board
from portal.audit import client_ip
from portal.forms import add_service_errors
from portal.permissions import membership_required
from syncs import onboarding
from syncs.health import sync_health
from syncs.models import NextStep, Sync, SyncStatus, institution_next_step

BOARD_PAGE_SIZE = 25
STATUS_FILTERS = [(NO_SYNC, "No sync yet")] + [(s.value, s.label) for s in SyncStatus if s != SyncStatus.DEACTIVATED]


@membership_required
def institution_list(request):
    membership = request.membership
    # The sandbox's sync is always active: in test mode there is nothing "to do", so show ALL first.
    default_section = "all" if membership.in_test_mode else "todo"
    board = institution_board(
        organization=membership.organization, sandbox=membership.in_test_mode,
        section=request.GET.get("section", default_section), query=request.GET.get("q", "").strip(),
        status=request.GET.get("status", "") if request.GET.get("status", "") in dict(STATUS_FILTERS) else "",
    )
    page = Paginator(board.institutions, BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(institution, *(
        (NextStep("Waiting for the practice's consent", "waiting"), None) if institution.consent_pending
        else institution_next_step(list(institution.syncs.all())))) for institution in page.object_list]
    billed = Location.objects.filter(
        institution__in=Institution.objects.reachable_by(membership.organization).in_mode(sandbox=False),
        active=True, deactivated_at__isnull=True).count()
    return render(request, "institutions/list.html", {
        "board": board, "billed_locations": billed, "page": page, "rows": rows, "sections": SECTIONS, "status_filters": STATUS_FILTERS,
        "query": request.GET.get("q", "").strip(), "status": request.GET.get("status", ""),
    })


@membership_required
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


@membership_required
def subdomain_preview(request):
    """The subdomain the name would get (htmx, while typing on Create Institution)."""
    name = request.GET.get("name", "").strip()[:200]
    return render(request, "institutions/_subdomain_preview.html", {"subdomain": services.subdomain_for(name) if name else ""})


@membership_required
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
    sync_steps = [(sync, sync.next_step, sync_health(sync, now) if sync.status == SyncStatus.ACTIVE else None)
                  for sync in institution.syncs.all()]
    return render(request, "institutions/detail.html", {
        **_deactivate_context(institution), "timeline": timeline, "sync_steps": sync_steps,
        "next_step": institution_next_step(list(institution.syncs.all()))[0],
        "can_delete": services.institution_can_be_deleted(institution=institution, membership=request.membership),
    })


def _deactivate_context(institution: Institution) -> dict:
    # .all() and sorting here: the detail page has prefetched both.
    billed = sorted((loc for loc in institution.locations.all() if loc.active and loc.deactivated_at is None),
                    key=lambda loc: loc.name)
    live_syncs = sorted((sync for sync in institution.syncs.all() if sync.status != SyncStatus.DEACTIVATED),
                        key=lambda sync: sync.pk)
    count = len(billed)
    sync_names = " and ".join(sync.get_ehr_display() for sync in live_syncs)
    whole_summary = (f"Everything for {institution.name} stops: API access to {count} location{pluralize(count)} "
                     f"({', '.join(loc.name for loc in billed)}), "
                     + (f"the {sync_names} sync{pluralize(len(live_syncs))}, " if live_syncs else "")
                     + "and billing. Support can reactivate it.")
    return {"institution": institution, "billed_locations": billed, "live_syncs": live_syncs, "whole_summary": whole_summary}


def _reachable_production(request, subdomain: str) -> Institution:
    return get_object_or_404(Institution.objects.reachable_by(request.membership.organization).filter(is_sandbox=False),
                             subdomain=subdomain)


@membership_required
def institution_deactivate(request, subdomain: str):
    """GET: the confirmation as a page of its own (the dialog's no-JavaScript fallback). POST: deactivate."""
    institution = _reachable_production(request, subdomain)
    context = _deactivate_context(institution)
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
            chosen = onboarding.locations_deactivate(
                institution=institution, location_ids=None if scope == "institution" else ticked, actor=request.user,
                organization=request.membership.organization, ip=client_ip(request))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            what = "the institution" if scope == "institution" else f"{chosen} location{pluralize(chosen)}"
            messages.success(request, f"Deactivated {what}: API access, syncing and billing stopped. "
                                      "Contact support to reactivate.")
            return redirect("institutions:detail", institution.subdomain)
    return render(request, "institutions/deactivate.html",
                  {**context, "error": error, "scope": scope, "ticked": ticked}, status=400)


@membership_required
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
