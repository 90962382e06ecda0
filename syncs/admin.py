"""The support console for syncs: queues per waiting state and an action for every transition."""

from django import forms
from django.contrib import admin, messages
from django.template.defaultfilters import pluralize
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import render

from institutions.models import Location, TimelineEvent
from portal.audit import client_ip
from syncs import services, scheduling_admin  # noqa: F401  (registers EngineerSlot)
from syncs.models import (LocationActivationRequest, Sync, WebhookDelivery, WebhookEndpoint,
                          WebhookSubscription)

SUPPORT_QUEUES = {
    "reinstall": "Reinstall requested",
    "awaiting_install": "Waiting for the Synchronizer to be installed",
    "historical_read": "Installed, reading history",
    "install_scheduled": "Scheduled installs",
    "credentials_submitted": "Credentials to install",
    "credential_error": "Credentials rejected",
    "failed": "Failed installs",
}


class LocationInline(admin.TabularInline):
    model = Location
    fields = ["name", "foreign_id", "street_address", "city", "state", "zip_code", "tz", "active", "deactivated_at"]
    extra = 0
    show_change_link = True


class TimelineInline(admin.TabularInline):
    model = TimelineEvent
    fields = ["created_at", "actor_label", "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=500,
                             help_text="The developer sees this and gets it by email.")


class TransferForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, help_text="Organizations with active access to the practice.")

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = candidates


def _each(request, queryset, action, done: str):
    changed = 0
    for obj in queryset:
        try:
            action(obj)
            changed += 1
        except ValidationError as error:
            messages.error(request, f"{obj}: {' '.join(error.messages)}")
    if changed:
        noun = "sync" if queryset.model is Sync else "request"
        messages.success(request, f"{changed} {noun}{pluralize(changed)} {done}.")


def _with_reason(modeladmin, request, queryset, *, title: str, action, done: str):
    """An action that first asks support for a message (credential error, failure reason)."""
    if "apply" in request.POST:
        form = ReasonForm(request.POST)
        if form.is_valid():
            _each(request, queryset.select_related("institution"), lambda sync: action(sync, form.cleaned_data["reason"]), done)
            return None
    else:
        form = ReasonForm()
    response = render(request, "admin/syncs/reason.html", {
        **modeladmin.admin_site.each_context(request), "title": title, "form": form, "syncs": queryset,
        "action": request.POST.get("action"), "opts": modeladmin.model._meta,
    })
    response.asks_for_input = True  # nothing done yet: the audit log records the action once applied
    return response


@admin.register(Sync)
class SyncAdmin(admin.ModelAdmin):
    list_display = ["institution", "organizations", "ehr", "install_path", "status", "status_changed_at", "next_step_text",
                    "created_at"]
    list_filter = ["status", "install_path", "ehr", ("reinstall_requested_at", admin.EmptyFieldListFilter)]
    search_fields = ["institution__name", "institution__subdomain", "code", "institution__accesses__organization__name"]
    list_select_related = ["institution", "install_slot"]
    ordering = ["status_changed_at"]
    readonly_fields = ["code", "institution", "ehr", "install_path", "status", "status_message", "status_changed_at",
                       "created_by", "credentials_submitted_by", "credentials_submitted_at", "last_read_at",
                       "last_write_at", "created_at"]
    fields = readonly_fields
    inlines = [LocationInline, TimelineInline]
    actions = ["mark_installed", "locations_reported", "complete_install", "flag_credential_error", "mark_failed",
               "reveal_credentials", "issue_reinstall_key", "transfer_operation"]

    def has_add_permission(self, request):
        return False  # syncs are created by developers

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("institution__accesses__organization")

    @admin.display(description="Organization")
    def organizations(self, obj: Sync) -> str:
        return ", ".join(sorted(access.organization.name for access in obj.institution.accesses.all()
                                if access.status == "active")) or "—"

    @admin.display(description="Next step")
    def next_step_text(self, obj: Sync) -> str:
        return obj.next_step.text

    @admin.action(description="Mark installed (the Synchronizer is reading history)", permissions=["change"])
    def mark_installed(self, request, queryset):
        _each(request, queryset.select_related("institution"), lambda sync: services.sync_mark_installed(sync=sync, actor=request.user), "marked installed")

    @admin.action(description="History read: ask the developer to select locations", permissions=["change"])
    def locations_reported(self, request, queryset):
        _each(request, queryset.select_related("institution"), lambda sync: services.sync_locations_reported(sync=sync, actor=request.user),
              "now wait for the developer to select locations")

    @admin.action(description="Installation complete: activate", permissions=["change"])
    def complete_install(self, request, queryset):
        _each(request, queryset.select_related("institution", "install_slot"),
              lambda sync: services.sync_complete_install(sync=sync, actor=request.user), "activated")

    @admin.action(description="Flag a credential error…", permissions=["change"])
    def flag_credential_error(self, request, queryset):
        return _with_reason(self, request, queryset, title="Flag a credential error", done="flagged",
                            action=lambda sync, reason: services.sync_flag_credential_error(
                                sync=sync, message=reason, actor=request.user))

    @admin.action(description="Mark the installation failed…", permissions=["change"])
    def mark_failed(self, request, queryset):
        return _with_reason(self, request, queryset, title="Mark the installation failed", done="marked failed",
                            action=lambda sync, reason: services.sync_mark_failed(sync=sync, reason=reason, actor=request.user))

    @admin.action(description="Reveal credentials (audited)", permissions=["change"])
    def reveal_credentials(self, request, queryset):
        revealed = [(sync, services.sync_read_credentials(sync=sync, actor=request.user, ip=client_ip(request)))
                    for sync in queryset.select_related("institution") if sync.credentials_encrypted]
        if not revealed:
            messages.warning(request, "None of the selected syncs has credentials.")
            return None
        return render(request, "admin/syncs/credentials.html", {
            **self.admin_site.each_context(request), "title": "Credentials (this view was recorded)",
            "revealed": revealed, "opts": self.model._meta,
        })

    @admin.action(description="Issue a reinstall product key… (the old agent stops working)", permissions=["change"])
    def issue_reinstall_key(self, request, queryset):
        if "apply" not in request.POST:  # destructive: ask first, naming what stops
            response = render(request, "admin/syncs/confirm.html", {
                **self.admin_site.each_context(request), "title": "Issue reinstall product keys?", "syncs": queryset,
                "action": request.POST.get("action"), "opts": self.model._meta, "button": "Issue new product keys",
                "consequence": "The Synchronizer now running on each practice's server stops syncing at once: its "
                               "token and the old product key stop working until IT reinstalls with the new key.",
            })
            response.asks_for_input = True  # nothing done yet: the audit log records the action once applied
            return response
        _each(request, queryset.select_related("institution"),
              lambda sync: services.sync_issue_reinstall_key(sync=sync, actor=request.user), "got a reinstall key")

    @admin.action(description="Transfer operation to a consumer organization…", permissions=["change"])
    def transfer_operation(self, request, queryset):
        """One sync at a time: support picks one of the organizations that use its practice."""
        if queryset.count() != 1:
            messages.error(request, "Select exactly one sync to transfer.")
            return None
        sync = queryset.select_related("institution", "operator").get()
        form = TransferForm(request.POST if "apply" in request.POST else None,
                            candidates=services.transfer_candidates(sync))
        if form.is_valid():
            try:
                services.sync_transfer_operation(sync=sync, to=form.cleaned_data["organization"], actor=request.user,
                                                 ip=client_ip(request))
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, f"{form.cleaned_data['organization'].name} now operates {sync}.")
            return None
        response = render(request, "admin/syncs/reason.html", {
            **self.admin_site.each_context(request), "title": f"Transfer operation (today: {sync.operator or 'nobody'})",
            "form": form, "syncs": [sync], "action": request.POST.get("action"), "opts": self.model._meta,
        })
        response.asks_for_input = True  # nothing done yet: the audit log records the action once applied
        return response

    def changelist_view(self, request, extra_context=None):
        counts = dict.fromkeys(SUPPORT_QUEUES, 0) | dict(
            Sync.objects.filter(status__in=SUPPORT_QUEUES).values_list("status").annotate(n=Count("pk")))
        counts["reinstall"] = Sync.objects.filter(reinstall_requested_at__isnull=False).count()
        extra_context = {**(extra_context or {}), "queues": [(s, label, counts[s]) for s, label in SUPPORT_QUEUES.items()]}
        return super().changelist_view(request, extra_context=extra_context)



@admin.register(LocationActivationRequest)
class LocationActivationRequestAdmin(admin.ModelAdmin):
    list_display = ["sync", "organization", "status", "created_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["sync__institution__name", "organization__name"]
    list_select_related = ["sync__institution", "organization"]
    filter_horizontal = ["locations"]
    actions = ["fulfil"]

    @admin.action(description="Fulfil: activate the requested locations", permissions=["change"])
    def fulfil(self, request, queryset):
        _each(request, queryset.select_related("sync__institution"),
              lambda activation: services.locations_fulfil_activation(request=activation, actor=request.user), "fulfilled")


class WebhookSubscriptionInline(admin.TabularInline):
    model = WebhookSubscription
    fields = ["resource_type", "event", "institution", "active", "created_at"]
    readonly_fields = ["resource_type", "event", "institution", "created_at"]
    extra = 0
    can_delete = False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Support sees why an endpoint stopped and can switch it back on; the signing secret is never shown."""

    list_display = ["target_url", "organization", "mode", "active", "failing_since", "created_at"]
    list_filter = ["mode", "active"]
    search_fields = ["target_url", "organization__name"]
    list_select_related = ["organization"]
    exclude = ["secret_key_encrypted"]
    readonly_fields = ["organization", "mode", "target_url", "failing_since", "deactivated_reason", "created_at", "updated_at"]
    inlines = [WebhookSubscriptionInline]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["resource_type", "event", "endpoint", "institution", "active", "created_at"]
    list_filter = ["resource_type", "event", "active"]
    search_fields = ["endpoint__target_url", "endpoint__organization__name", "institution__subdomain"]
    list_select_related = ["endpoint", "institution"]
    readonly_fields = ["endpoint", "institution", "resource_type", "event", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "attempts", "created_at", "next_attempt_at", "delivered_at", "last_status_code"]
    list_filter = ["event", ("delivered_at", admin.EmptyFieldListFilter)]
    search_fields = ["endpoint__target_url", "endpoint__organization__name"]
    list_select_related = ["endpoint"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
