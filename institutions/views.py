from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django.utils import timezone

from institutions import services
from institutions.forms import InstitutionForm
from institutions.matching import find_matches
from institutions.models import Institution, Location, TimelineEvent
from institutions.selectors import NO_SYNC, SECTIONS, institution_board
from portal.audit import client_ip
from portal.forms import add_service_errors
from portal.permissions import membership_required
from syncs.services import locations_deactivate
from syncs.models import NextStep, StepKind, Sync, SyncStatus, institution_next_step

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
        (NextStep("Waiting for the practice's consent", StepKind.WAITING), None) if institution.consent_pending
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
    matches = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("create_anyway") != "1":
            matches = find_matches(organization=request.membership.organization, name=data["name"],
                                   street_address=data["street_address"], zip_code=data["zip_code"],
                                   phone_number=data["phone_number"], email=data["email"], website=data["website"])
        if matches:
            return render(request, "institutions/create.html", {"form": form, "matches": matches})
        try:
            institution = services.institution_create(organization=request.membership.organization, actor=request.user,
                                                      data=form.cleaned_data, ip=client_ip(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{institution.name} was created with the subdomain {institution.subdomain}. Next: create its sync.")
            return redirect("institutions:detail", institution.subdomain)
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
    sync_steps = [(sync, sync.next_step, sync.health_at(now) if sync.status == SyncStatus.ACTIVE else None)
                  for sync in institution.syncs.all()]
    billed = [loc for loc in institution.locations.all() if loc.active and loc.deactivated_at is None]
    return render(request, "institutions/detail.html", {
        "institution": institution, "timeline": timeline, "sync_steps": sync_steps, "billed_locations": billed,
        "next_step": institution_next_step(list(institution.syncs.all()))[0],
    })


@membership_required
@require_POST
def institution_deactivate(request, subdomain: str):
    institution = get_object_or_404(Institution.objects.reachable_by(request.membership.organization).filter(is_sandbox=False),
                                    subdomain=subdomain)
    whole = request.POST.get("scope") == "institution"
    try:
        ids = None if whole else [int(pk) for pk in request.POST.getlist("locations") if pk.isdigit()]
        count = locations_deactivate(institution=institution, location_ids=ids, actor=request.user,
                                                organization=request.membership.organization, ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Deactivated {'the institution' if whole else f'{count} location(s)'}: API access, "
                                  "syncing and billing stopped. Contact support to reactivate.")
    return redirect("institutions:detail", institution.subdomain)
