import uuid

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST, require_http_methods

from institutions.models import Institution
from institutions.selectors import institution_board
from portal import api_keys as api_key_service
from portal import services
from portal.audit import client_ip
from portal.audit_log import AuditFilterForm, action_label, audit_csv_lines, audit_events, event_words
from portal.forms import InvitationForm, InvitationSignupForm, ProductionAccessForm, add_service_errors
from portal.models import ApiKey, Invitation, Membership, ProductionAccessRequest, Role, User
from portal.middleware import CURRENT_ORGANIZATION
from portal.permissions import can, permission_required, require


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@permission_required("portal.view")
@require_GET
def home(request):
    membership = request.membership
    organization = membership.organization
    institutions = Institution.objects.reachable_by(organization)
    steps = [
        {"title": "Explore your sandbox institution", "done": True,
         "text": f"{organization.name} Demo Practice holds sample data to try the API against.",
         "url": reverse("institutions:list")},
        {"title": "Create a sandbox API key", "done": organization.api_keys.filter(mode=ApiKey.Mode.SANDBOX).exists(),
         "text": "Admins create keys in the API Keys tab; your software trades a key for a bearer token.",
         "url": reverse("api_keys") if can(membership, "api_keys.manage") else reverse("users")},
        {"title": "Make your first API call",
         "done": organization.api_keys.filter(last_used_at__isnull=False).exists(),
         "text": "POST /api/authenticates with your key, then GET /api/patients with the bearer token.",
         "url": reverse("api-docs")},
        {"title": "Invite your team", "done": organization.memberships.count() > 1 or organization.invitations.exists(),
         "text": "Admins invite teammates from the Users tab.", "url": reverse("users")},
        {"title": "Request production access", "done": organization.production_enabled,
         "text": "Production is enabled: you can onboard real practices." if organization.production_enabled else
                 "Tell support about your company and use case; they enable production, usually within a business day.",
         "url": reverse("production_access")},
        {"title": "Create an institution", "done": institutions.in_mode(sandbox=False).exists(),
         "text": "Switch Test mode off, then create your first institution or upload a CSV." if organization.production_enabled
                 else "Once production is enabled, onboard your first practice.", "url": reverse("institutions:list")},
    ]
    board = institution_board(organization=organization, sandbox=membership.in_test_mode, section="todo")
    return render(request, "portal/home.html", {"steps": steps, "steps_done": sum(s["done"] for s in steps),
                                                "todo_count": board.counts["todo"], "in_progress_count": board.counts["in_progress"],
                                                "production_request": _pending_production_request(organization)})


def _pending_production_request(organization) -> ProductionAccessRequest | None:
    return organization.production_requests.filter(status=ProductionAccessRequest.Status.PENDING).first()


@permission_required("portal.view")
@require_http_methods(["GET", "POST"])
def production_access(request):
    """Request production access: a short form for admins; everyone sees where the request stands."""
    membership = request.membership
    organization = membership.organization
    pending = _pending_production_request(organization)
    form = ProductionAccessForm(request.POST or None, initial={"company_name": organization.name})
    if request.method == "POST":
        require(membership, "production.request")
        if form.is_valid():
            try:
                services.production_access_request(membership=membership, **form.cleaned_data, ip=client_ip(request))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Request sent. Support reviews it within one business day and emails you; "
                                          "we sent you a copy.")
                return redirect("home")
    return render(request, "portal/production_access.html", {"form": form, "pending": pending},
                  status=400 if form.errors else 200)


@permission_required("portal.switch_mode")
@require_POST
def mode_switch(request):
    wants_test_mode = request.POST.get("test_mode") == "on"
    try:
        services.membership_set_test_mode(membership=request.membership, test_mode=wants_test_mode)
    except PermissionDenied as error:
        messages.error(request, str(error))
    next_url = request.POST.get("next") or reverse("home")
    if not next_url.startswith("/") or next_url.startswith("//"):
        next_url = reverse("home")
    return HttpResponseRedirect(next_url)


@login_required
@require_POST
def organization_switch(request):
    """The frame's organization switcher: the chosen organization must be one of the user's memberships."""
    try:
        public_id = uuid.UUID(request.POST.get("organization", ""))
    except ValueError:
        public_id = None
    membership = get_object_or_404(Membership.objects.select_related("organization"), user=request.user,
                                   organization__public_id=public_id)
    request.session[CURRENT_ORGANIZATION] = str(membership.organization.public_id)
    messages.success(request, f"You are now working in {membership.organization.name}.")
    return redirect("home")


@permission_required("organization.require_mfa")
@require_POST
def organization_security(request):
    required = request.POST.get("require_mfa") == "on"
    services.organization_set_require_mfa(actor_membership=request.membership, required=required, ip=client_ip(request))
    messages.success(request, "Every member now needs two-factor authentication." if required else
                              "Two-factor authentication is no longer required (members who set it up keep it).")
    return redirect("users")


@permission_required("portal.view")
@require_GET
def users(request):
    organization = request.membership.organization
    members = Membership.objects.filter(organization=organization).select_related("user").order_by("user__email")
    invitations = organization.invitations.pending().select_related("invited_by").order_by("-sent_at")
    form = InvitationForm()
    admin_count = sum(1 for m in members if m.role == Role.ADMIN)
    return render(request, "portal/users.html", {
        "members": members, "invitations": invitations, "form": form, "admin_count": admin_count, "roles": Role.choices,
    })


@permission_required("members.invite")
@require_http_methods(["GET", "POST"])
def invite(request):
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_send(
                actor_membership=request.membership, email=form.cleaned_data["email"],
                role=form.cleaned_data["role"], ip=client_ip(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("users")
    return render(request, "portal/invite.html", {"form": form}, status=400 if form.errors else 200)


def _invitation_of(request, public_id) -> Invitation:
    return get_object_or_404(Invitation, public_id=public_id, organization=request.membership.organization)


def _membership_of(request, public_id) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), public_id=public_id,
                             organization=request.membership.organization)


@permission_required("members.invite")
@require_POST
def invitation_resend(request, public_id):
    invitation = _invitation_of(request, public_id)
    try:
        services.invitation_resend(actor_membership=request.membership, invitation=invitation, ip=client_ip(request))
        messages.success(request, f"A new invitation link was sent to {invitation.email}. The old link no longer works.")
    except ValidationError as error:
        messages.error(request, _error_text(error))
    return redirect("users")


@permission_required("members.invite")
@require_POST
def invitation_cancel(request, public_id):
    invitation = _invitation_of(request, public_id)
    try:
        services.invitation_cancel(actor_membership=request.membership, invitation=invitation, ip=client_ip(request))
        messages.success(request, f"The invitation for {invitation.email} was cancelled.")
    except ValidationError as error:
        messages.error(request, _error_text(error))
    return redirect("users")


@permission_required("members.change_role")
@require_POST
def member_set_role(request, public_id):
    membership = _membership_of(request, public_id)
    role = request.POST.get("role", "")
    try:
        services.membership_set_role(actor_membership=request.membership, membership=membership, role=role, ip=client_ip(request))
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
    except ValidationError as error:
        messages.error(request, _error_text(error))
    return redirect("users")


@permission_required("members.delete")
@require_POST
def member_delete(request, public_id):
    membership = _membership_of(request, public_id)
    deleting_self = membership.pk == request.membership.pk
    try:
        services.membership_delete(actor_membership=request.membership, membership=membership, ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("users")
    if not User.objects.filter(pk=request.user.pk).exists():  # their only organization: the account went too
        return redirect("account_login")
    if deleting_self:
        request.session.pop(CURRENT_ORGANIZATION, None)
        messages.success(request, f"You left {request.membership.organization.name}.")
        return redirect("home")
    messages.success(request, f"{membership.user.email} was removed from {request.membership.organization.name}.")
    return redirect("users")


@permission_required("audit.view")
@require_GET
def audit_log(request):
    organization = request.membership.organization
    form = AuditFilterForm(request.GET or None, organization=organization)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    events = audit_events(organization=organization, filters=filters)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(audit_csv_lines(events, organization.name), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for event in page.object_list:
        event.words, event.action = event_words(event, organization.name), action_label(event.verb)
    return render(request, "portal/audit_log.html", {"page": page, "form": form, "filtered": bool(filters and any(filters.values()))})


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    """The link in the invitation email: sign up, sign in, or join straight away."""
    try:
        invitation = services.invitation_for_token(token)
    except services.InvitationInvalid as error:
        return render(request, "portal/invitation_invalid.html", {"error": error}, status=410)

    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(token=token, user=request.user, ip=client_ip(request))
            except services.InvitationInvalid as error:
                return render(request, "portal/invitation_invalid.html", {"error": error}, status=409)
            request.session[CURRENT_ORGANIZATION] = str(membership.organization.public_id)
            messages.success(request, f"Welcome to {invitation.organization.name}.")
            return redirect("home")
        return render(request, "portal/invitation_join.html", {"invitation": invitation})

    if User.objects.filter(email__iexact=invitation.email).exists():
        return render(request, "portal/invitation_signin.html", {"invitation": invitation})

    form = InvitationSignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create_from_invitation(
                token=token, password=form.cleaned_data["password1"], first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"], ip=client_ip(request),
            )
        except services.InvitationInvalid as error:
            return render(request, "portal/invitation_invalid.html", {"error": error}, status=409)
        login(request, user, backend="allauth.account.auth_backends.AuthenticationBackend")
        messages.success(request, f"Welcome to {invitation.organization.name}.")
        return redirect("home")
    return render(request, "portal/invitation_signup.html", {"invitation": invitation, "form": form},
                  status=400 if form.errors else 200)


@permission_required("api_keys.manage")
@require_http_methods(["GET", "POST"])
def api_keys(request):
    """One card per mode. A new key appears in the response to the POST that made it, and only there."""
    organization = request.membership.organization
    issued, error, confirm_now = None, None, None
    if request.method == "POST":
        mode = request.POST.get("mode", "")
        try:
            if (request.POST.get("action") == "rotate" and request.POST.get("grace") == "now"
                    and request.POST.get("confirm") != "now" and mode in ApiKey.Mode.values):
                # Without JavaScript the dialog never opened: ask on a page instead of breaking integrations.
                confirm_now = ApiKey.Mode(mode)
            elif request.POST.get("action") == "rotate":
                issued = api_key_service.api_key_rotate(actor_membership=request.membership, mode=mode,
                                                        grace=request.POST.get("grace", ""), ip=client_ip(request))
            else:
                issued = api_key_service.api_key_create(actor_membership=request.membership, mode=mode, ip=client_ip(request))
        except (ValidationError, PermissionDenied) as exc:
            error = _error_text(exc) if isinstance(exc, ValidationError) else str(exc)
    modes = [ApiKey.Mode.SANDBOX] + ([ApiKey.Mode.PRODUCTION] if organization.production_enabled else [])
    keys = list(ApiKey.objects.usable().filter(organization=organization).select_related("created_by").order_by("-created_at"))
    cards = [
        {
            "mode": mode,
            "label": ApiKey.Mode(mode).label,
            "current": next((k for k in keys if k.mode == mode and k.expires_at is None), None),
            "retiring": [k for k in keys if k.mode == mode and k.expires_at is not None],
        }
        for mode in modes
    ]
    response = render(request, "portal/api_keys.html", {
        "cards": cards, "issued": issued, "error": error, "confirm_now": confirm_now,
        "grace_choices": api_key_service.ROTATION_GRACE_LABELS.items(),
    }, status=400 if error else 200)
    response["Cache-Control"] = "no-store"
    return response
