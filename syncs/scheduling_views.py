"""Book, reschedule and cancel an engineer installation (routed as syncs:schedule and syncs:schedule_cancel)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_http_methods

from portal.api.base import MAX_ID  # ids are 64-bit: a larger number is a 404, not a database error
from portal.audit import client_ip
from portal.permissions import permission_required
from syncs import scheduling
from syncs.models import EngineerSlot, Sync, SyncStatus
from syncs.selectors import sync_for_operator

def _slot_id(raw: str | None) -> int:
    if not (raw or "").isdigit() or not 0 < int(raw) <= MAX_ID:
        raise Http404("No such installation slot.")
    return int(raw)


def _picker(request, sync: Sync, *, error: str = "", status: int = 200) -> HttpResponse:
    tz = sync.institution.zone
    held = EngineerSlot.objects.filter(sync=sync).first() if sync.status == SyncStatus.INSTALL_SCHEDULED else None
    slots = list(scheduling.open_slots()[:scheduling.MAX_LISTED])
    return render(request, "syncs/schedule.html", {
        "sync": sync, "institution": sync.institution, "tz": tz, "days": scheduling.slots_by_day(slots, tz),
        "held": held, "held_when": scheduling.slot_when_practice(held, sync.institution) if held else "",
        "preparation": scheduling.PREPARATION, "error": error,
    }, status=status)


@permission_required("sync.book_install")
@require_http_methods(["GET", "POST"])
def schedule(request, code: str):
    """GET: the open slots in the practice's time zone. POST slot_id: book it (or move the booking there)."""
    sync = sync_for_operator(request, code)
    refusal = scheduling.schedule_refusal(sync)
    if refusal:
        messages.error(request, refusal)
        return redirect("syncs:detail", sync.code)
    if request.method != "POST":
        return _picker(request, sync)

    # 404 for a slot that does not exist or is not offered (past, too soon); a slot someone else booked since
    # the page loaded is the common race and gets a clear message instead.
    slot_id = _slot_id(request.POST.get("slot_id"))
    get_object_or_404(EngineerSlot, pk=slot_id, starts_at__gt=scheduling.bookable_after())
    was_scheduled = sync.status == SyncStatus.INSTALL_SCHEDULED
    try:
        slot = scheduling.slot_book(sync=sync, slot_id=slot_id, actor=request.user,
                                    organization=request.membership.organization, ip=client_ip(request))
    except scheduling.SlotTaken as error:
        return _picker(request, sync, error=" ".join(error.messages), status=409)
    except ValidationError as error:  # the sync moved on meanwhile (support marked it failed, a teammate cancelled)
        messages.error(request, " ".join(error.messages))
        return redirect("syncs:detail", sync.code)
    when = scheduling.slot_when_practice(slot, sync.institution)
    verb = "moved to" if was_scheduled else "booked for"
    messages.success(request, f"Installation {verb} {when}. We emailed you a calendar invitation.")
    return redirect("syncs:detail", sync.code)


@permission_required("sync.book_install")
@require_POST
def cancel(request, code: str):
    sync = sync_for_operator(request, code)
    try:
        scheduling.slot_cancel(sync=sync, actor=request.user, organization=request.membership.organization,
                               ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The installation was cancelled and the engineer's hour released. "
                                  "Schedule a new time when the practice is ready.")
    return redirect("syncs:detail", sync.code)
