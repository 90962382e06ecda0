from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count

from portal.audit import client_ip
from portal.models import AuditEvent, Invitation, Membership, Organization, OutboundEmail, ProductionAccessRequest, User
from portal.services import organization_enable_production


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    # Staff who are not superusers (support) may look up and (de)activate accounts, never give themselves or
    # anyone more power or take over an account: no password, address, flags, groups or permissions.
    SUPERUSER_ONLY_FIELDS = ["email", "password", "is_staff", "is_superuser", "groups", "user_permissions",
                             "last_login", "date_joined"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        return [(name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
                for name, options in fieldsets]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += [f for f in self.SUPERUSER_ONLY_FIELDS if f != "password"]
        return readonly

    def has_add_permission(self, request):
        return request.user.is_superuser  # a new account comes with a password

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied("Only superusers set passwords; users reset their own from the sign-in page.")
        return super().user_change_password(request, id, form_url)


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "created_at"]
    extra = 0
    can_delete = False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "production_enabled", "member_count", "created_at"]
    list_filter = [("production_enabled_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "memberships__user__email"]
    readonly_fields = ["public_id", "production_enabled_at", "created_at"]
    inlines = [MembershipInline]
    actions = ["enable_production"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(boolean=True, description="Production")
    def production_enabled(self, obj):
        return obj.production_enabled

    @admin.display(ordering="member_count", description="Members")
    def member_count(self, obj):
        return obj.member_count

    def has_enable_production_permission(self, request) -> bool:
        return request.user.has_perm("portal.enable_production")

    @admin.action(description="Enable production for the selected organizations", permissions=["enable_production"])
    def enable_production(self, request, queryset):
        for organization in queryset:
            organization_enable_production(organization=organization, actor=request.user, ip=client_ip(request))
        count = queryset.count()
        messages.success(request, f"Production enabled for {count} organization{'s' if count != 1 else ''}.")


@admin.register(ProductionAccessRequest)
class ProductionAccessRequestAdmin(admin.ModelAdmin):
    """Support's queue of organizations asking to go live; enabling production answers the request."""

    list_display = ["organization", "company_name", "expected_practices", "requester_email", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["organization__name", "company_name", "requester_email"]
    list_select_related = ["organization"]
    readonly_fields = ["organization", "requested_by", "requester_email", "company_name", "company_website", "company_address",
                       "expected_practices", "use_case", "status", "created_at", "decided_at", "decided_by"]
    actions = ["enable_production"]

    def has_add_permission(self, request):
        return False

    def has_enable_production_permission(self, request) -> bool:
        return request.user.has_perm("portal.enable_production")

    @admin.action(description="Enable production for these organizations", permissions=["enable_production"])
    def enable_production(self, request, queryset):
        organizations = {access_request.organization for access_request in queryset.select_related("organization")}
        for organization in organizations:
            organization_enable_production(organization=organization, actor=request.user, ip=client_ip(request))
        messages.success(request, f"Production enabled for {len(organizations)} organization{'s' if len(organizations) != 1 else ''}; "
                                  "their admins were emailed.")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name"]
    list_select_related = ["user", "organization"]
    readonly_fields = ["public_id", "created_at"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "status", "sent_at", "send_count"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter), ("cancelled_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "organization__name"]
    list_select_related = ["organization"]
    exclude = ["nonce"]
    readonly_fields = ["public_id", "organization", "email", "invited_by", "created_at", "sent_at", "send_count",
                       "accepted_at", "accepted_by", "cancelled_at"]

    @admin.display(description="Status")
    def status(self, obj):
        if obj.accepted_at:
            return "Accepted"
        if obj.cancelled_at:
            return "Cancelled"
        return "Expired" if obj.is_expired() else "Pending"


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor_email", "actor_label", "verb", "target_label", "ip_address"]
    list_filter = ["verb"]
    search_fields = ["actor_email", "target_label", "organization__name", "verb"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["kind", "object_id", "created_at", "sent_at", "skipped_at", "attempts"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["kind", "object_id", "version", "created_at", "sent_at", "skipped_at", "attempts", "last_error"]
