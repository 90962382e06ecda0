"""Support publishes engineers' installation hours here; developers book them in the portal."""

from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone

from syncs.models import EngineerSlot

WEEK = timedelta(days=7)


class BookedFilter(admin.EmptyFieldListFilter):
    """EmptyFieldListFilter on `sync`, worded for support: an empty sync is an open slot."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "booking"

    def choices(self, changelist):
        labels = {"Empty": "Open", "Not empty": "Booked"}
        for choice in super().choices(changelist):
            yield {**choice, "display": labels.get(str(choice["display"]), choice["display"])}


class WhenFilter(admin.SimpleListFilter):
    title = "when"
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [("upcoming", "Upcoming"), ("next_7_days", "Next 7 days"), ("past", "Past")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "upcoming":
            return queryset.filter(starts_at__gte=now)
        if self.value() == "next_7_days":
            return queryset.filter(starts_at__gte=now, starts_at__lt=now + WEEK)
        if self.value() == "past":
            return queryset.filter(starts_at__lt=now)
        return queryset


@admin.register(EngineerSlot)
class EngineerSlotAdmin(admin.ModelAdmin):
    list_display = ["engineer", "starts_at", "ends_at", "is_open", "institution", "booked_by", "reminder_sent_at"]
    list_filter = ["engineer", ("sync", BookedFilter), WhenFilter]
    list_select_related = ["sync__institution", "booked_by"]
    search_fields = ["engineer", "sync__institution__name", "sync__institution__subdomain", "sync__code",
                     "booked_by__email"]
    date_hierarchy = "starts_at"
    ordering = ["starts_at", "id"]
    # Bookings change only through the portal's services, which also move the sync's status and email people.
    readonly_fields = ["sync", "booked_by", "booked_at", "reminder_sent_at"]
    actions = ["copy_to_next_week"]

    @admin.display(boolean=True, description="Open", ordering="sync")
    def is_open(self, obj: EngineerSlot) -> bool:
        return obj.is_open

    @admin.display(description="Institution", ordering="sync__institution__name")
    def institution(self, obj: EngineerSlot) -> str:
        return obj.sync.institution.name if obj.sync else "—"

    def has_delete_permission(self, request, obj=None):
        # Deleting a booked hour would strand its sync in "installation scheduled": cancel it in the portal first.
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_open)

    @admin.action(description="Copy selected slots to the next week", permissions=["add"])
    def copy_to_next_week(self, request, queryset):
        """Publish next week like this one: select a week's hours (date filter), copy, repeat. Times move in UTC."""
        wanted = {(slot.engineer, slot.starts_at + WEEK): slot.ends_at + WEEK for slot in queryset}
        existing = set(EngineerSlot.objects.filter(engineer__in={e for e, _ in wanted},
                                                   starts_at__in={s for _, s in wanted})
                       .values_list("engineer", "starts_at"))
        new = [EngineerSlot(engineer=engineer, starts_at=starts_at, ends_at=ends_at)
               for (engineer, starts_at), ends_at in wanted.items() if (engineer, starts_at) not in existing]
        EngineerSlot.objects.bulk_create(new, ignore_conflicts=True)  # one added meanwhile is not an error
        skipped = f" ({len(wanted) - len(new)} already existed)" if len(wanted) > len(new) else ""
        messages.success(request, f"Added {len(new)} slot{'s' if len(new) != 1 else ''} a week later{skipped}.")
