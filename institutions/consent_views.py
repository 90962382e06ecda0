from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_http_methods

from institutions.consent import ConsentInvalid, access_request, consent_decide, consent_for_token
from portal.audit import client_ip
from portal.permissions import permission_required


@permission_required("institution.request_access")
@require_POST
def request_access(request, subdomain: str):
    """From the match modal: ask the live practice instead of installing again.

    The answer is the same whether or not `subdomain` is a live practice (see consent.access_request)."""
    try:
        access_request(subdomain=subdomain, organization=request.membership.organization, actor=request.user,
                       disclosure=request.POST.get("disclosure", ""), ip=client_ip(request))
    except PermissionDenied as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "If this practice is live with the Synchronizer, we emailed it to ask for access. "
                                  "A request shows in IN PROGRESS until the practice answers.")
    return redirect(f"{reverse('institutions:list')}?section=in_progress")


@require_http_methods(["GET", "POST"])
def consent(request, token: str):
    """The practice's page (no sign-in: the signed link is the credential)."""
    try:
        consent_request = consent_for_token(token)
    except ConsentInvalid as error:
        return render(request, "institutions/consent_invalid.html", {"error": error}, status=410)
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        try:
            consent_decide(token=token, approve=approve, ip=client_ip(request))
        except ConsentInvalid as error:
            return render(request, "institutions/consent_invalid.html", {"error": error}, status=409)
        return render(request, "institutions/consent_done.html", {"consent": consent_request, "approved": approve})
    locations = consent_request.institution.locations.live().order_by("name")
    return render(request, "institutions/consent.html", {"consent": consent_request, "locations": locations})
