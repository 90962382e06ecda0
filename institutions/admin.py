from django.contrib import admin

from institutions.models import Institution, InstitutionAccess, Location


class InstitutionAccessInline(admin.TabularInline):
    model = InstitutionAccess
    extra = 0
    autocomplete_fields = ["organization"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "subdomain", "city", "state", "is_sandbox", "created_at"]
    list_filter = ["is_sandbox", "is_parent_organization", "state"]
    search_fields = ["name", "subdomain", "email", "phone_number", "zip_code"]
    inlines = [InstitutionAccessInline]


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

    @admin.action(description="Reactivate the selected deactivated locations")
    def reactivate(self, request, queryset):
        from syncs.onboarding import locations_reactivate

        count = locations_reactivate(locations=queryset, actor=request.user)
        self.message_user(request, f"{count} location{'s' if count != 1 else ''} reactivated.")
