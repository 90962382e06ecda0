from django.shortcuts import render

from portal.permissions import membership_required


@membership_required
def sync_status(request):
    return render(request, "syncs/sync_status.html")
