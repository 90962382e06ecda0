from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from institutions.consent import ConsentInvalid, consent_decide, consent_for_token, consent_request_create
from institutions.models import Institution
from portal.audit import client_ip
from portal.permissions import membership_required


@membership_required
@require_POST
def request_access(request, subdomain: str):
    """From the match modal: ask the live practice instead of installing again."""
    institution = get_object_or_404(Institution.objects.filter(is_sandbox=False), subdomain=subdomain)
    try:
        consent_request_create(institution=institution, organization=request.membership.organization, actor=request.user,
                               ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"We emailed {institution.name} to ask for access. It shows in IN PROGRESS until they answer.")
    return redirect(f"{reverse('institutions:list')}?section=in_progress")


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
