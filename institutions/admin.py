from django.contrib import admin

from institutions.models import Institution, InstitutionAccess


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
