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
from portal.permissions import permission_required
from syncs.services import locations_deactivate
from syncs.models import NextStep, StepKind, Sync, SyncStatus, institution_next_step

BOARD_PAGE_SIZE = 25
STATUS_FILTERS = [(NO_SYNC, "No sync yet")] + [(s.value, s.label) for s in SyncStatus if s != SyncStatus.DEACTIVATED]

# This organization ended its use of the institution (others may still use it).
DEACTIVATED_HERE = NextStep("Deactivated", StepKind.DEACTIVATED)


@permission_required("portal.view")
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
        (DEACTIVATED_HERE, None) if institution.deactivated_here
        else (NextStep("Waiting for the practice's consent", StepKind.WAITING), None) if institution.consent_pending
        else institution_next_step(list(institution.syncs.all())))) for institution in page.object_list]
    billed = Location.objects.serving(membership.organization).filter(institution__is_sandbox=False).count()
    return render(request, "institutions/list.html", {
        "board": board, "billed_locations": billed, "page": page, "rows": rows, "sections": SECTIONS, "status_filters": STATUS_FILTERS,
        "query": request.GET.get("q", "").strip(), "status": request.GET.get("status", ""),
    })


@permission_required("institution.create")
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


@permission_required("institution.create")
def subdomain_preview(request):
    """The subdomain the name would get (htmx, while typing on Create Institution).

    Made from the name alone, never checked against the database: whether another organization's practice
    already uses it is nobody's business here (a taken one gets a short suffix when the institution is created)."""
    name = request.GET.get("name", "").strip()[:200]
    return render(request, "institutions/_subdomain_preview.html", {"subdomain": services.subdomain_base(name) if name else ""})


@permission_required("portal.view")
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
    billed = [loc for loc in institution.locations.all() if loc.pk in serving]
    deactivated_here = institution.accesses.filter(organization=organization, deactivated_at__isnull=False).exists()
    return render(request, "institutions/detail.html", {
        "institution": institution, "timeline": timeline, "sync_steps": sync_steps, "billed_locations": billed,
        "serving_ids": serving, "deactivated_here": deactivated_here,
        "next_step": DEACTIVATED_HERE if deactivated_here else institution_next_step(list(institution.syncs.all()))[0],
    })


@permission_required("locations.deactivate")
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
        messages.success(request, f"Deactivated {'the institution' if whole else f'{count} location(s)'} for your "
                                  "organization: your API access and billing stopped. Contact support to reactivate.")
    return redirect("institutions:detail", institution.subdomain)
