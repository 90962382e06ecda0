from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_http_methods

from institutions import practice
from institutions.models import InstitutionAccess, PracticeMember
from portal.audit import client_ip
from portal.forms import InvitationSignupForm
from portal.models import User


def _member(request) -> PracticeMember | None:
    return PracticeMember.objects.select_related("institution").filter(user=request.user).first()


@require_http_methods(["GET", "POST"])
def practice_join(request, token: str):
    """The link in the practice invitation: create an account (email fixed) or sign in, then join."""
    try:
        invitation = practice.practice_invitation_for_token(token)
    except ValidationError as error:
        return render(request, "institutions/practice_invalid.html", {"reason": " ".join(error.messages)}, status=410)
    if request.user.is_authenticated:
        try:
            if request.method == "GET":  # opening a link changes nothing: the signed-in visitor confirms with a POST
                practice.practice_join_check(invitation, request.user)
                return render(request, "institutions/practice_join.html", {"invitation": invitation, "confirm": True})
            practice.practice_join(token=token, user=request.user)
        except ValidationError as error:
            return render(request, "institutions/practice_invalid.html", {"reason": " ".join(error.messages)}, status=409)
        return redirect("practice_apps")
    if User.objects.filter(email__iexact=invitation.email).exists():
        return redirect(f"/accounts/login/?next={request.path}")
    form = InvitationSignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        user = User.objects.create_user(email=invitation.email, password=form.cleaned_data["password1"],
                                        first_name=form.cleaned_data["first_name"], last_name=form.cleaned_data["last_name"])
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        practice.practice_join(token=token, user=user)
        login(request, user, backend="allauth.account.auth_backends.AuthenticationBackend")
        return redirect("practice_apps")
    return render(request, "institutions/practice_join.html", {"invitation": invitation, "form": form},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def practice_apps(request):
    member = _member(request)
    if member is None:
        return render(request, "institutions/practice_invalid.html",
                      {"reason": "Your account does not manage a practice's apps."}, status=403)
    if request.method == "POST":
        try:
            practice.practice_invite(institution=member.institution, email=request.POST.get("email", ""), invited_by=request.user)
            messages.success(request, "Invitation sent.")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("practice_apps")
    return render(request, "institutions/practice_apps.html", {
        "member": member, "apps": practice.practice_apps(member.institution),
        "timeline": practice.practice_timeline(member.institution)})


@login_required
@require_POST
def practice_decide(request, organization_id: int):
    member = _member(request)
    if member is None:
        return render(request, "institutions/practice_invalid.html",
                      {"reason": "Your account does not manage a practice's apps."}, status=403)
    try:
        access = practice.practice_decide(member=member, organization_id=organization_id,
                                          grant=request.POST.get("decision") == "grant", ip=client_ip(request))
        messages.success(request, f"{access.organization.name}: access {access.get_status_display().lower()}.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except InstitutionAccess.DoesNotExist:
        messages.error(request, "That app has no access to your practice.")
    return redirect("practice_apps")
