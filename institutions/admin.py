from django.contrib import admin

from institutions.models import ConsentRequest, Institution, InstitutionAccess, Location
from syncs.services import locations_reactivate


class InstitutionAccessInline(admin.TabularInline):
    model = InstitutionAccess
    extra = 0
    autocomplete_fields = ["organization"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "subdomain", "organizations", "city", "state", "is_sandbox", "created_at"]
    list_filter = ["is_sandbox", "is_parent_organization", "state"]
    search_fields = ["name", "subdomain", "email", "phone_number", "zip_code", "accesses__organization__name"]
    inlines = [InstitutionAccessInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("accesses__organization")

    @admin.display(description="Organization")
    def organizations(self, obj: Institution) -> str:
        return ", ".join(sorted(access.organization.name for access in obj.accesses.all() if access.status == "active")) or "—"


@admin.register(InstitutionAccess)
class InstitutionAccessAdmin(admin.ModelAdmin):
    list_display = ["organization", "institution", "via", "status", "created_at"]
    list_filter = ["via", "status"]
    search_fields = ["organization__name", "institution__name"]
    list_select_related = ["organization", "institution"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "sync", "foreign_id", "active", "deactivated_at"]
    list_filter = ["active", ("deactivated_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "institution__name", "foreign_id"]
    list_select_related = ["institution", "sync"]
    actions = ["reactivate"]

    @admin.action(description="Reactivate the selected deactivated locations", permissions=["change"])
    def reactivate(self, request, queryset):
        count = locations_reactivate(locations=queryset, actor=request.user)
        self.message_user(request, f"{count} location{'s' if count != 1 else ''} reactivated.")


@admin.register(ConsentRequest)
class ConsentRequestAdmin(admin.ModelAdmin):
    """Who asked which practice for access and what became of it; the practice decides, support follows up when
    one sits too long."""

    list_display = ["institution", "organization", "recipient", "status", "created_at", "expires_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["institution__name", "institution__subdomain", "organization__name", "recipient"]
    list_select_related = ["institution", "organization"]
    exclude = ["nonce"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
