from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from institutions.models import Institution, Location
from portal.permissions import membership_required
from syncs.models import Sync


@membership_required
def institution_list(request):
    membership = request.membership
    institutions = (
        Institution.objects.reachable_by(membership.organization)
        .in_mode(sandbox=membership.in_test_mode)
        .order_by("name")
    )
    query = request.GET.get("q", "").strip()
    if query:
        institutions = institutions.filter(name__icontains=query)
    return render(request, "institutions/list.html", {"institutions": institutions, "query": query})


@membership_required
def institution_detail(request, subdomain: str):
    institution = get_object_or_404(
        Institution.objects.reachable_by(request.membership.organization).prefetch_related(
            Prefetch("locations", queryset=Location.objects.select_related("sync").order_by("id")),
            Prefetch("syncs", queryset=Sync.objects.order_by("id")),
        ),
        subdomain=subdomain,
    )
    return render(request, "institutions/detail.html", {"institution": institution})
